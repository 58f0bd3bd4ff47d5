"""Build, save and load the search index: FAISS (dense) + BM25 (lexical) + chunk store.

Layout of an index folder::

    index/CURRENT            name of the live version (switched by an atomic rename)
    index/v-<id>/            one immutable version: manifest.json, documents.json (one
                             document a line), chunks.json ([doc_id, section, start, end]
                             a line: a chunk's text is document.text[start:end]),
                             dense.faiss, bm25/
    index/.cache/<settings>/ per-file parsed text, chunks, term counts and vectors, keyed by
                             content hash, and the term table they share (see _DocCache)
    index/.gitignore         written by the build: git sees only CURRENT and the live version

A version's id is a hash of everything it is built from (corpus files, model, pipeline
settings), so rebuilding an unchanged corpus finds the version already there and
changes nothing on disk — no git diff, no work.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import config
from .chunking import Chunk, chunk_document
from .corpus import Document, Heading, SkippedFile, load_corpus

log = logging.getLogger(__name__)

#: Bump when the files change shape, or when reading, chunking or tokenising would derive
#: something else from the same files (3: .docx tables): it marks every index stale
#: (`reindex --check`) and every cache entry unusable.
FORMAT_VERSION = 3
KEEP_VERSIONS = 3
_BUNDLED = "bundled"


class IndexError_(RuntimeError):
    """Base for index problems; the message tells the user what to run."""


class StaleIndexError(IndexError_):
    """The index on disk was built with another format, model or is missing."""


class BuildLockedError(IndexError_):
    """Another reindex holds the lock."""


# --------------------------------------------------------------------------- tokens


def normalise_query_text(text: str) -> str:
    """Traditional → Simplified, full-width → half-width, lower case: one form for matching."""
    import unicodedata

    return _t2s(unicodedata.normalize("NFKC", text)).lower()


_converter = None
#: Characters without which OpenCC's t2s cannot change a text (see ``_t2s_triggers``).
_t2s_trigger: frozenset[str] | None = None


def _t2s(text: str) -> str:
    """OpenCC t2s, skipping the pieces that it provably leaves unchanged.

    The pure-Python converter costs ~0.1 ms per sentence, and answering normalises dozens
    of sentences per question. Simplified text holds no character that any changing
    dictionary entry needs, so such a piece is returned as is; a piece between OpenCC's
    own separators that does hold one is converted by OpenCC exactly as before.
    """
    converter = _converter or _init_t2s()
    trigger = _t2s_trigger
    if trigger is None:
        return converter.convert(text)
    if trigger.isdisjoint(text):
        return text
    # OpenCC converts the pieces between its separators independently and keeps the
    # separators verbatim, so converting only the pieces that may change is identical.
    parts = converter.split_chars_re.split(text)
    for i in range(0, len(parts), 2):
        if not trigger.isdisjoint(parts[i]):
            parts[i] = converter.convert(parts[i])
    return "".join(parts)


def _init_t2s():
    global _converter, _t2s_trigger
    from opencc import OpenCC

    converter = OpenCC("t2s")
    _t2s_trigger = _t2s_triggers(converter)
    _converter = converter
    return converter


def _t2s_triggers(converter) -> frozenset[str] | None:
    """Characters that every changing dictionary entry needs: a text without any of them
    converts to itself.

    A key that maps to itself (its first value) rewrites nothing; it only splits the text
    into pieces that are converted alike. A changing key matches only where all of its
    characters are present, so one of its characters in the set covers it: a changing
    single character it contains (後 of 後來), else a character the dictionaries list on
    its own (覆 of 反覆, which alone stays 覆), else all of its characters (沈默). None (no
    shortcut) if this OpenCC keeps its dictionaries differently.
    """
    try:
        changing: list[str] = []
        singles: set[str] = set()
        for group in converter._dict_chain_data:
            for entry in group if isinstance(group, list) else [group]:
                _max_len, _min_len, mapping = entry
                changing += [k for k, v in mapping.items() if v.split(" ")[0] != k]
                singles.update(k for k in mapping if len(k) == 1)
        trigger = {k for k in changing if len(k) == 1}
        for key in changing:
            if len(key) > 1 and trigger.isdisjoint(key):
                listed = [ch for ch in key if ch in singles]
                trigger.update(listed[:1] or key)
        return frozenset(trigger) if trigger else None
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - other OpenCC layout
        return None


_WORD = re.compile(r"[\u3400-\u9fff]+|[a-z]+|\d+(?:\.\d+)?%?")
_STOP = frozenset(
    "的 了 是 在 和 与 及 等 也 都 而 并 有 为 对 将 把 被 从 到 这 那 其 之 或 就 又 个 吗 呢 吧 啊 么 "
    "什么 哪些 哪个 哪 多少 几 怎么 怎样 如何 是否 能否 能不能 可以 谁 何时 什么时候 哪一年 "
    "the a an of to in on for and or is are was were be by with what which who when how many much "
    "does did do".split()
)


def _import_bm25s():
    """bm25s sets its own logger to DEBUG on import; keep its chatter out of our output."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class _Terms:
    """A number for every term, shared by all documents of a build (and, saved beside the
    cache, by all builds): a document's BM25 counts name their terms by number, so a build
    merges 1,000 documents' statistics as arrays instead of reading back and merging ~1.6
    million term strings, which was a third of an incremental build.

    The file holds a header line with a random token, then one term a line (terms are runs
    of CJK characters, Latin letters or digits: never a line break). It only grows by
    appending, under the build lock; a cache entry records the token of the table its
    numbers refer to, so entries outlive no table but their own. A table cut short is
    replaced, not repaired: new terms would take the lost numbers, which an entry that is
    still on disk might use with their old meaning.
    """

    HEADER = "qa-terms 1 "

    def __init__(self, path: Path | None = None):
        self.path = path
        self.strings: list[str] = []
        self.token = os.urandom(8).hex()
        if path is not None:
            self._load(path)
        self.ids = {t: i for i, t in enumerate(self.strings)}
        self._saved = len(self.strings)

    def _load(self, path: Path) -> None:
        try:
            header, _, body = path.read_text(encoding="utf-8").partition("\n")
        except (OSError, UnicodeDecodeError):
            header = body = ""
        if not header.startswith(self.HEADER):
            self._rewrite()  # missing or not ours: a new, empty table
            return
        strings = body.split("\n")
        if strings.pop():  # the last line was cut short (a killed build): start a new table
            self._rewrite()
            return
        self.token, self.strings = header[len(self.HEADER) :], strings

    def _rewrite(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{t}\n" for t in [self.HEADER + self.token, *self.strings]), encoding="utf-8")
        os.replace(tmp, self.path)

    def ids_of(self, words: list[str]) -> np.ndarray:
        """The numbers of ``words``, numbering new ones."""
        ids, strings = self.ids, self.strings
        out = np.empty(len(words), dtype=np.uint32)
        for i, word in enumerate(words):
            n = ids.get(word)
            if n is None:
                n = ids[word] = len(strings)
                strings.append(word)
            out[i] = n
        return out

    def save(self) -> None:
        """Append the terms numbered since the last save (before any cache entry uses them)."""
        new = self.strings[self._saved :]
        if self.path is None or not new:
            return
        text = "".join(f"{t}\n" for t in new)
        if text.count("\n") != len(new):
            raise ValueError("a term contains a line break")
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(text)
        self._saved = len(self.strings)


@dataclass
class _LexParts:
    """One document's BM25 statistics, all that BM25 needs: its vocabulary (first
    appearance order, as numbers of a ``_Terms`` table) and, per chunk, its token count and
    how often each distinct term occurs (terms as indices into the vocabulary)."""

    vocab: np.ndarray  # uint32, the document's distinct terms (``_Terms`` numbers)
    lengths: np.ndarray  # int64, tokens per chunk
    n_terms: np.ndarray  # int64, distinct terms per chunk
    terms: np.ndarray  # uint32, the distinct terms of each chunk, chunk after chunk
    counts: np.ndarray  # uint32, occurrences of each of those terms in its chunk

    @classmethod
    def of(cls, tokens: list[list[str]], table: _Terms) -> _LexParts:
        vocab = list(dict.fromkeys(itertools.chain.from_iterable(tokens)))
        local = {t: i for i, t in enumerate(vocab)}
        lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
        ids = np.fromiter(
            map(local.__getitem__, itertools.chain.from_iterable(tokens)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
        chunk_of = np.repeat(np.arange(len(tokens), dtype=np.int64), lengths)
        width = max(len(vocab), 1)
        keys, counts = np.unique(chunk_of * width + ids, return_counts=True)
        chunk, terms = np.divmod(keys, width)
        n_terms = np.bincount(chunk, minlength=len(tokens)).astype(np.int64)
        return cls(table.ids_of(vocab), lengths, n_terms, terms.astype(np.uint32), counts.astype(np.uint32))


class _TermCounts:
    """Every (chunk, term) pair of a corpus with its count, plus each chunk's length: handed
    through ``bm25s.BM25.index`` (as its ``ids``) to ``build_index_from_ids`` below, so that
    no per-token Python list is ever built."""

    def __init__(self, n_terms: np.ndarray, pair_term: np.ndarray, counts: np.ndarray, lengths: np.ndarray):
        # pairs come chunk by chunk: chunk i owns the next n_terms[i] of them
        self.n_terms, self.pair_term, self.counts, self.lengths = n_terms, pair_term, counts, lengths

    @classmethod
    def of_lists(cls, corpus_token_ids: list[list[int]]) -> "_TermCounts":
        lengths = np.fromiter(map(len, corpus_token_ids), dtype=np.int64, count=len(corpus_token_ids))
        flat = np.fromiter(
            itertools.chain.from_iterable(corpus_token_ids), dtype=np.int64, count=int(lengths.sum())
        )
        doc_of = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
        width = int(flat.max()) + 1 if len(flat) else 1
        keys, counts = np.unique(doc_of * width + flat, return_counts=True)
        pair_doc, pair_term = np.divmod(keys, width)
        return cls(np.bincount(pair_doc, minlength=len(lengths)), pair_term, counts, lengths)

    def as_lists(self) -> list[list[int]]:
        """Token ids per chunk (terms repeated by count: bm25s only counts them)."""
        out: list[list[int]] = [[] for _ in range(len(self.lengths))]
        pair_doc = np.repeat(np.arange(len(self.lengths)), self.n_terms)
        for d, t, c in zip(pair_doc.tolist(), self.pair_term.tolist(), self.counts.tolist()):
            out[d].extend([t] * c)
        return out


def _bm25_index(tokens: list[list[str]]):
    """A bm25s index of ``tokens`` (one list per chunk); see ``_bm25_index_parts``."""
    table = _Terms()
    return _bm25_index_parts([_LexParts.of(tokens, table)], table)


def _bm25_index_parts(parts: list[_LexParts], table: _Terms):
    """A bm25s index of the chunks of ``parts`` (one per document, in corpus order).

    The same BM25 matrix as ``bm25s.BM25(...).index(tokens)``, value for value (see
    ``_fast_bm25_class``), with one difference by design: the vocabulary is numbered in
    order of first appearance instead of bm25s's ``set()`` order, which changes with
    Python's string hash seed, so that the same corpus always gives the same files.
    Scores do not depend on the numbering. Documents contribute their cached term counts,
    with terms as ``table`` numbers, so an incremental build reads no token strings.
    """
    bm25s = _import_bm25s()
    local = np.concatenate([p.vocab for p in parts]).astype(np.int64)  # each part's vocabulary, in turn
    first = np.full(len(table.strings), len(local), dtype=np.int64)
    np.minimum.at(first, local, np.arange(len(local)))
    used = np.flatnonzero(first < len(local))
    order = used[np.argsort(first[used])]  # table numbers, by first appearance
    number = np.zeros(len(table.strings), dtype=np.int32)  # int32: the CSC matrix's index type
    number[order] = np.arange(len(order))
    vocab = dict(zip(map(table.strings.__getitem__, order.tolist()), range(len(order))))
    pairs = _TermCounts(
        n_terms=np.concatenate([p.n_terms for p in parts]).astype(np.int64),
        pair_term=np.concatenate([number[p.vocab][p.terms] for p in parts]),
        counts=np.concatenate([p.counts for p in parts]),
        lengths=np.concatenate([p.lengths for p in parts]).astype(np.int64),
    )
    bm25 = _fast_bm25_class()(k1=config.PIPELINE.bm25_k1, b=config.PIPELINE.bm25_b)
    bm25.index(bm25s.tokenization.Tokenized(ids=pairs, vocab=vocab), show_progress=False)
    return bm25


_FAST_BM25 = None


def _fast_bm25_class():
    """``bm25s.BM25`` with ``build_index_from_ids`` (bm25s's documented extension point)
    vectorised: bm25s counts terms and scores chunk by chunk in Python, ~2 s at 30,000
    chunks; this does the same arithmetic on whole arrays.

    Each score is computed by the same operations in the same precision: term counts and
    document frequencies are integers, the idf comes from bm25s's own function, and the
    term-frequency part is bm25s's own scorer applied to arrays (float64 against the float32
    counts, as numpy 2 promotes a chunk's float64 length term), then stored as float32.
    The CSC matrix holds each term's chunks in ascending order, as bm25s's builder sorts
    them. Other BM25 variants, and numpy 1, use bm25s's own code.
    """
    global _FAST_BM25
    if _FAST_BM25 is not None:
        return _FAST_BM25
    bm25s = _import_bm25s()
    from bm25s import scoring

    class FastBM25(bm25s.BM25):
        def build_index_from_ids(
            self, unique_token_ids, corpus_token_ids, show_progress=True, leave_progress=False
        ):
            if (
                self.method not in ("robertson", "lucene", "atire")
                or self.csc_backend != "numpy"
                or int(np.__version__.split(".")[0]) < 2
            ):
                if isinstance(corpus_token_ids, _TermCounts):
                    corpus_token_ids = corpus_token_ids.as_lists()
                return super().build_index_from_ids(
                    unique_token_ids, corpus_token_ids, show_progress, leave_progress
                )
            import scipy.sparse

            pairs = corpus_token_ids
            if not isinstance(pairs, _TermCounts):
                pairs = _TermCounts.of_lists(corpus_token_ids)
            lengths = pairs.lengths.astype(np.int64)
            # bm25s: np.array([len(doc_ids) for doc_ids in corpus_token_ids]).mean(), an int64 mean
            avg_doc_len = lengths.mean()
            n_docs = len(lengths)
            n_vocab = len(unique_token_ids)
            df = np.bincount(pairs.pair_term, minlength=n_vocab)
            doc_frequencies = {int(t): int(df[t]) for t in unique_token_ids}
            self.nonoccurrence_array = None
            idf_array = scoring._build_idf_array(
                doc_frequencies=doc_frequencies,
                n_docs=n_docs,
                compute_idf_fn=scoring._select_idf_scorer(self.idf_method),
                dtype=self.dtype,
            )
            # The scorer is elementwise in (count, chunk length), and millions of pairs share a
            # few thousand such combinations (counts are small, lengths few): score each
            # combination once, then look the pairs up (10x faster at 30,000 chunks).
            # (Few and narrow temporaries: at 30,000 chunks each holds ~5 million values, and
            # fresh memory costs page faults.)
            len_values, len_of_chunk = np.unique(lengths, return_inverse=True)
            table = scoring._select_tfc_scorer(self.method)(
                tf_array=np.arange(int(pairs.counts.max(initial=0)) + 1).astype(self.dtype)[:, None],
                l_d=len_values[None, :],
                l_avg=avg_doc_len,
                k1=self.k1,
                b=self.b,
                delta=self.delta,
            )
            at = pairs.counts.astype(np.int32 if table.size < 2**31 else np.int64)
            at *= len(len_values)
            at += np.repeat(len_of_chunk.astype(at.dtype), pairs.n_terms)
            tfc = table.ravel()[at]
            data = np.multiply(idf_array[pairs.pair_term], tfc, out=tfc).astype(self.dtype)
            # Pairs come chunk by chunk, each (chunk, term) once: they are a CSR matrix as they
            # stand, and the (linear-time) CSR -> CSC conversion leaves each term's chunks in
            # ascending order, the order bm25s's own builder sorts them into.
            indptr = np.zeros(n_docs + 1, dtype=np.int64)
            np.cumsum(pairs.n_terms, out=indptr[1:])
            matrix = scipy.sparse.csr_matrix(
                (data, pairs.pair_term, indptr), shape=(n_docs, n_vocab), dtype=self.dtype
            ).tocsc()
            return {
                "data": matrix.data.astype(self.dtype, copy=False),
                "indices": matrix.indices.astype(self.int_dtype, copy=False),
                "indptr": matrix.indptr.astype(np.int64, copy=False),
                "num_docs": n_docs,
            }

    _FAST_BM25 = FastBM25
    return FastBM25


def segment(text: str, search_mode: bool = False) -> list[str]:
    """jieba words; jieba is imported (and silenced) on first use, as it costs ~0.5 s.

    Plain-mode results of short texts are remembered (answering segments the same corpus
    sentences for question after question; jieba's Python DAG costs ~0.1 ms a sentence).
    Search mode, which the index build uses on every chunk, is never cached.
    """
    if search_mode or len(text) > _SEGMENT_CACHE_MAX_CHARS:
        return _cut(text, search_mode)
    return list(_cut_cached(text))


_jieba = None
_SEGMENT_CACHE_MAX_CHARS = 1000


def _cut(text: str, search_mode: bool) -> list[str]:
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    return list(_jieba.cut_for_search(text) if search_mode else _jieba.cut(text))


@functools.lru_cache(maxsize=8192)
def _cut_cached(text: str) -> tuple[str, ...]:
    return tuple(_cut(text, False))


def clear_text_caches() -> None:
    """Forget remembered segmentations (benchmarks use it to measure a cold question)."""
    _cut_cached.cache_clear()


def lexical_tokens(text: str) -> list[str]:
    """jieba words (search mode) plus CJK character bigrams, stop words dropped.

    Bigrams make recall robust to segmentation differences between a question and the
    article; whole words keep precision.
    """
    text = normalise_query_text(text)
    tokens: list[str] = []
    for run in _WORD.findall(text):
        if "\u3400" <= run[0] <= "\u9fff":
            tokens.extend(w for w in segment(run, search_mode=True) if w not in _STOP)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif run not in _STOP:
            tokens.append(run)
    return tokens


# ---------------------------------------------------------------------------- model


def model_spec(model: str | None) -> str:
    """How the manifest names the model: 'bundled' for ours, so a clone anywhere loads it."""
    model = model or config.model_name()
    if Path(model).resolve() == config.BUNDLED_MODEL_DIR.resolve():
        return _BUNDLED
    return model


def model_location(spec: str) -> str:
    return str(config.BUNDLED_MODEL_DIR) if spec == _BUNDLED else spec


# --------------------------------------------------------------------------- loading


@dataclass
class IndexData:
    """A loaded index version: everything retrieval and answering read."""

    path: Path
    manifest: dict
    documents: dict[str, Document]
    chunks: list[Chunk]
    dense: object  # faiss.Index
    bm25: object  # bm25s.BM25


def current_version_dir(index_dir: Path) -> Path:
    index_dir = Path(index_dir)
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise StaleIndexError(f"no index found in {index_dir}: run `assistant reindex --index {index_dir}`")
    return index_dir / pointer.read_text().strip()


def read_manifest(version_dir: Path) -> dict:
    return json.loads((version_dir / "manifest.json").read_text(encoding="utf-8"))


def load_index(index_dir: Path, expected_model: str | None = None) -> IndexData:
    """Load the live version; refuse one built by another format or model, with the fix."""
    import faiss

    bm25s = _import_bm25s()
    version_dir = current_version_dir(index_dir)
    try:
        manifest = read_manifest(version_dir)
    except (OSError, ValueError) as exc:
        raise StaleIndexError(f"index {version_dir} is unreadable ({exc}): run `assistant reindex`") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise StaleIndexError(
            f"index {version_dir} has format version {manifest.get('format_version')}, this "
            f"program reads version {FORMAT_VERSION}: run `assistant reindex`"
        )
    if expected_model is not None and model_spec(expected_model) != manifest["model"]["spec"]:
        raise StaleIndexError(
            f"index {version_dir} was built with model {manifest['model']['spec']!r} but "
            f"{model_spec(expected_model)!r} is configured: run `assistant reindex`"
        )
    docs_raw = json.loads((version_dir / "documents.json").read_text(encoding="utf-8"))
    documents = {
        d["doc_id"]: Document(**{**d, "headings": tuple(Heading(**h) for h in d["headings"])})
        for d in docs_raw
    }
    chunks = [
        Chunk(doc_id, section, start, end, documents[doc_id].text[start:end])
        for doc_id, section, start, end in json.loads(
            (version_dir / "chunks.json").read_text(encoding="utf-8")
        )
    ]
    dense = faiss.read_index(str(version_dir / "dense.faiss"))
    bm25 = bm25s.BM25.load(str(version_dir / "bm25"))
    return IndexData(version_dir, manifest, documents, chunks, dense, bm25)


# -------------------------------------------------------------------------- building


@dataclass
class BuildReport:
    version: str
    documents: int
    chunks: int
    seconds: float
    skipped: list[SkippedFile] = field(default_factory=list)
    reused_documents: int = 0
    embedded_chunks: int = 0
    unchanged: bool = False


def _version_id(documents: list[Document], spec: str, encoder_name: str) -> str:
    h = hashlib.sha256()
    h.update(f"{FORMAT_VERSION}|{spec}|{encoder_name}|{config.PIPELINE.fingerprint()}".encode())
    for d in sorted(documents, key=lambda d: d.doc_id):
        h.update(f"|{d.doc_id}:{d.sha256}".encode())
    return "v-" + h.hexdigest()[:12]


def _faiss_index(vectors: np.ndarray, kind: str):
    import faiss

    dim = vectors.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    elif kind == "ivf":
        nlist = max(1, int(np.sqrt(len(vectors))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = max(1, nlist // 8)
    elif kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        raise ValueError(f"unknown faiss index type {kind!r}: use flat, hnsw or ivf")
    index.add(vectors)
    return index


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1), encoding="utf-8")


def _pause_for_tests(stage: str) -> None:
    """Test-only hook: hold the build at ``stage`` so a test can kill it there."""
    if os.environ.get("ASSISTANT_TEST_PAUSE_AT") == stage:
        marker = os.environ.get("ASSISTANT_TEST_PAUSE_MARKER")
        if marker:
            Path(marker).write_text(stage)
        while True:
            time.sleep(1)


@dataclass
class _Cached:
    """Everything a build derives from one file's bytes."""

    document: Document
    #: Each chunk as ``[section, start, end]``: its text is ``document.text[start:end]``.
    spans: list[list]
    lex: _LexParts
    vectors: np.ndarray


class _DocCache:
    """The parsed document, chunks, BM25 term counts and vectors of one file, keyed by the
    file's bytes and name: an unchanged file is neither parsed, chunked, tokenised nor
    embedded again.

    ``<root>/<settings>/`` holds the entries made with one model, pipeline settings and
    format, plus their ``terms.txt`` (see ``_Terms``); ``prune`` keeps the entries the
    last build used and the last few settings. One file per document: a magic line, the
    length of a compact UTF-8 JSON header (the document's metadata, its chunk spans), the
    text as UTF-8, then raw arrays: float32 vectors, uint32 vocabulary, int64 tokens and
    distinct terms per chunk, uint32 terms and their counts. Reading one is a single read,
    a C-speed ``json.loads`` and a few ``np.frombuffer``s: at 1,000 documents the whole
    cache reads ~3x faster than parsing the articles again.
    """

    MAGIC = b"QACACHE5\n"

    def __init__(self, root: Path, encoder_name: str):
        settings = f"{encoder_name}|{config.PIPELINE.fingerprint()}|{FORMAT_VERSION}"
        self.root = root
        self.dir = root / hashlib.sha256(settings.encode()).hexdigest()[:16]
        self.terms = _Terms(self.dir / "terms.txt")
        self.used: set[str] = set()

    def _path(self, name: str, doc_id: str, sha256: str) -> str:
        key = hashlib.sha256(f"{doc_id}|{name}|{sha256}".encode()).hexdigest()
        return os.path.join(self.dir, key[:2], f"{key}.bin")  # not pathlib: 1,000 calls a build

    def get(self, path: Path, doc_id: str, sha256: str) -> _Cached | None:
        """What was derived from the file at ``path`` when its bytes had this hash."""
        where = self._path(path.name, doc_id, sha256)
        try:
            with open(where, "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        try:
            if not data.startswith(self.MAGIC):
                return None
            at = len(self.MAGIC)
            size = int.from_bytes(data[at : at + 8], "little")
            at += 8
            meta = json.loads(data[at : at + size].decode("utf-8"))
            at += size
            if meta["terms"] != self.terms.token:
                return None
            text = data[at : at + meta["text_bytes"]].decode("utf-8")
            at += meta["text_bytes"]
            d = meta["document"]
            doc = Document(
                doc_id=doc_id,
                title=d["title"],
                source=d["source"],
                date=d["date"],
                text=text,
                headings=tuple(Heading(*h) for h in d["headings"]),
                path=str(path),
                sha256=sha256,
                questions=tuple(d["questions"]),
            )
            spans = meta["spans"]
            rows, dim = meta["shape"]
            n, pairs = len(spans), meta["pairs"]
            arrays = []
            for dtype, count in (
                (np.float32, rows * dim),
                (np.uint32, meta["vocab"]),
                (np.int64, n),
                (np.int64, n),
                (np.uint32, pairs),
                (np.uint32, pairs),
            ):
                arrays.append(np.frombuffer(data, dtype=dtype, count=count, offset=at))
                at += np.dtype(dtype).itemsize * count
            vectors, vocab, lengths, n_terms, terms, counts = arrays
            if rows != n or at != len(data) or int(n_terms.sum()) != pairs:
                return None
            if (pairs and int(terms.max()) >= len(vocab)) or int(vocab.max(initial=0)) >= len(
                self.terms.strings
            ):
                return None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
        self.used.add(where)
        return _Cached(
            doc, spans, _LexParts(vocab, lengths, n_terms, terms, counts), vectors.reshape(rows, dim)
        )

    def put(self, entry: _Cached) -> None:
        self.terms.save()  # the entry names terms by number: the table must have them first
        doc, spans, lex = entry.document, entry.spans, entry.lex
        where = self._path(Path(doc.path).name, doc.doc_id, doc.sha256)
        path = Path(where)
        path.parent.mkdir(parents=True, exist_ok=True)
        vectors = np.ascontiguousarray(entry.vectors, dtype=np.float32).reshape(len(spans), -1)
        text = doc.text.encode("utf-8")
        meta = {
            "document": {
                "title": doc.title,
                "source": doc.source,
                "date": doc.date,
                "headings": [[h.start, h.level, h.title] for h in doc.headings],
                "questions": list(doc.questions),
            },
            "text_bytes": len(text),
            "spans": spans,
            "terms": self.terms.token,
            "vocab": len(lex.vocab),
            "shape": [int(vectors.shape[0]), int(vectors.shape[1])],
            "pairs": len(lex.terms),
        }
        header = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            fh.write(self.MAGIC + len(header).to_bytes(8, "little") + header + text)
            fh.write(vectors.tobytes())
            for array, dtype in (
                (lex.vocab, np.uint32),
                (lex.lengths, np.int64),
                (lex.n_terms, np.int64),
                (lex.terms, np.uint32),
                (lex.counts, np.uint32),
            ):
                fh.write(np.ascontiguousarray(array, dtype=dtype).tobytes())
        os.replace(tmp, path)
        self.used.add(where)

    def prune(self) -> None:
        """Drop entries this build did not use (edited and deleted files) and the caches of
        all but the last few settings, so the cache does not grow with every edit."""
        for sub in self.dir.iterdir():
            if sub.is_dir():
                for entry in os.scandir(sub):
                    if entry.path not in self.used:
                        os.unlink(entry.path)
        os.utime(self.dir)
        others = sorted(
            (p for p in self.root.iterdir() if p.is_dir() and p != self.dir),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in others[KEEP_VERSIONS - 1 :]:
            shutil.rmtree(old, ignore_errors=True)


def _write_records(path: Path, records: Iterable[dict]) -> None:
    """A JSON array with one record per line: written by the C encoder (``json.dumps`` with
    ``indent`` runs the pure-Python one, ~5x slower at 30,000 chunks), and an edited
    article is a changed line in git's diff of ``index/``."""
    encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
    path.write_text("[\n" + ",\n".join(map(encode, records)) + "\n]\n", encoding="utf-8")


def _document_record(doc: Document, name: str) -> dict:
    """``asdict(doc)`` with the path inside the corpus, without asdict's deep copy (~10x faster)."""
    return vars(doc) | {"headings": [vars(h) for h in doc.headings], "path": name}


def build_index(
    corpus_dir: Path | None = None,
    index_dir: Path | None = None,
    model: str | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
    strict: bool = False,
) -> BuildReport:
    """Build a new version beside the live one and switch to it atomically.

    Killing the process at any point leaves the previous version live: the new one only
    becomes visible through the final rename of CURRENT.
    """
    from filelock import FileLock, Timeout

    from .embedding import load_encoder

    t0 = time.perf_counter()
    corpus_dir = Path(corpus_dir or config.corpus_dir())
    index_dir = Path(index_dir or config.index_dir())
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise BuildLockedError(
            f"another reindex is already running on {index_dir} (lock file {index_dir / '.lock'});"
            " wait for it to finish"
        ) from None
    try:
        return _build_locked(corpus_dir, index_dir, model, progress, strict, t0, load_encoder)
    finally:
        lock.release()


def _build_locked(corpus_dir, index_dir, model, progress, strict, t0, load_encoder) -> BuildReport:
    import faiss

    progress = progress or (lambda it: it)
    spec = model_spec(model)
    encoder = load_encoder(model_location(spec))
    cache = _DocCache(index_dir / ".cache", encoder.name)
    cached: dict[str, _Cached] = {}

    def reuse(path: Path, doc_id: str, sha256: str) -> Document | None:
        hit = cache.get(path, doc_id, sha256)
        if hit is not None:
            cached[doc_id] = hit
        return hit and hit.document

    documents, skipped = load_corpus(corpus_dir, reuse)
    if strict and skipped:
        names = "; ".join(f"{s.path.name}: {s.reason}" for s in skipped)
        raise IndexError_(f"--strict: {len(skipped)} file(s) would be skipped: {names}")
    if not documents:
        raise IndexError_(f"no readable documents in {corpus_dir}; nothing to index")
    _pause_for_tests("loaded")

    version = _version_id(documents, spec, encoder.name)
    version_dir = index_dir / version
    if (index_dir / "CURRENT").is_file() and (version_dir / "manifest.json").is_file():
        _switch(index_dir, version)
        return BuildReport(
            version,
            len(documents),
            read_manifest(version_dir)["chunks"],
            time.perf_counter() - t0,
            skipped,
            len(documents),
            0,
            unchanged=True,
        )

    all_spans: list[list] = []  # [doc_id, section, start, end] per chunk
    all_lex: list[_LexParts] = []
    all_vectors: list[np.ndarray] = []
    reused = embedded = 0
    for doc in progress(documents):
        entry = cached.get(doc.doc_id)
        if entry is None:
            chunks = chunk_document(doc)
            lex = _LexParts.of([lexical_tokens(c.text) for c in chunks], cache.terms)
            vectors = encoder.encode([_embedding_text(doc, c) for c in chunks])
            entry = _Cached(doc, [[c.section, c.start, c.end] for c in chunks], lex, vectors)
            cache.put(entry)
            embedded += len(chunks)
        else:
            reused += 1
        all_spans.extend([doc.doc_id, *span] for span in entry.spans)
        all_lex.append(entry.lex)
        all_vectors.append(entry.vectors)
    _pause_for_tests("embedded")

    vectors = np.vstack(all_vectors).astype(np.float32)
    tmp_dir = index_dir / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir()
    faiss.write_index(_faiss_index(vectors, config.PIPELINE.faiss_index), str(tmp_dir / "dense.faiss"))
    bm25 = _bm25_index_parts(all_lex, cache.terms)
    bm25.save(str(tmp_dir / "bm25"))
    names = [_corpus_name(d, corpus_dir) for d in documents]
    _write_records(tmp_dir / "documents.json", map(_document_record, documents, names))
    _write_records(tmp_dir / "chunks.json", all_spans)
    _pause_for_tests("written")
    _write_json(
        tmp_dir / "manifest.json",
        {
            "format_version": FORMAT_VERSION,
            "version": version,
            "model": {"spec": spec, "name": encoder.name, "dim": int(vectors.shape[1])},
            "pipeline": asdict(config.PIPELINE) | {"fingerprint": config.PIPELINE.fingerprint()},
            "corpus": {name: d.sha256 for name, d in zip(names, documents)},
            "documents": len(documents),
            "chunks": len(all_spans),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    shutil.rmtree(version_dir, ignore_errors=True)
    os.replace(tmp_dir, version_dir)
    _pause_for_tests("renamed")
    _switch(index_dir, version)
    _prune(index_dir, version)
    cache.prune()
    return BuildReport(
        version, len(documents), len(all_spans), time.perf_counter() - t0, skipped, reused, embedded
    )


def _corpus_name(doc: Document, corpus_dir: Path) -> str:
    """The file's path inside the corpus folder (``a/notice.md`` and ``b/notice.md`` differ)."""
    return Path(doc.path).relative_to(corpus_dir).as_posix()


def _embedding_text(doc: Document, chunk: Chunk) -> str:
    return chunk.text


def _switch(index_dir: Path, version: str) -> None:
    """Point CURRENT at ``version`` with an atomic rename; git then sees only that version."""
    pointer = index_dir / "CURRENT"
    if not pointer.is_file() or pointer.read_text().strip() != version:
        tmp = index_dir / f".CURRENT.{os.getpid()}"
        tmp.write_text(version + "\n")
        os.replace(tmp, pointer)
    ignore = index_dir / ".gitignore"
    content = (
        "# written by assistant reindex: only the live version is committed\n"
        f"*\n!.gitignore\n!CURRENT\n!{version}/\n!{version}/**\n"
    )
    if not ignore.is_file() or ignore.read_text() != content:
        tmp = index_dir / f".gitignore.{os.getpid()}"
        tmp.write_text(content)
        os.replace(tmp, ignore)


def _prune(index_dir: Path, live: str) -> None:
    versions = sorted(
        (p for p in index_dir.glob("v-*") if p.is_dir() and p.name != live),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in versions[KEEP_VERSIONS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
    for tmp in index_dir.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------ inspection


def check_index(corpus_dir: Path, index_dir: Path, model: str | None = None) -> list[str]:
    """Reasons the live index differs from what a build would produce now (empty: fresh)."""
    from .embedding import load_encoder

    try:
        manifest = read_manifest(current_version_dir(index_dir))
    except (IndexError_, OSError, ValueError) as exc:
        return [str(exc)]
    problems = []
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(f"index format {manifest.get('format_version')} != {FORMAT_VERSION}")
    spec = model_spec(model or config.model_override())
    if manifest["model"]["spec"] != spec:
        problems.append(f"model {manifest['model']['spec']!r} != configured {spec!r}")
    elif load_encoder(model_location(spec)).name != manifest["model"]["name"]:
        problems.append(f"model files changed since the build ({manifest['model']['name']})")
    if manifest["pipeline"].get("fingerprint") != config.PIPELINE.fingerprint():
        problems.append("pipeline settings changed (chunking, BM25 or FAISS settings)")
    documents, _ = load_corpus(corpus_dir)
    now = {_corpus_name(d, Path(corpus_dir)): d.sha256 for d in documents}
    before = manifest["corpus"]
    problems += [f"new file {n}" for n in sorted(now.keys() - before.keys())]
    problems += [f"removed file {n}" for n in sorted(before.keys() - now.keys())]
    problems += [f"changed file {n}" for n in sorted(now.keys() & before.keys()) if now[n] != before[n]]
    return problems


def index_stats(index_dir: Path) -> dict:
    version_dir = current_version_dir(index_dir)
    manifest = read_manifest(version_dir)
    size = sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())
    return {
        "version": manifest["version"],
        "documents": manifest["documents"],
        "chunks": manifest["chunks"],
        "model": manifest["model"]["name"],
        "dimensions": manifest["model"]["dim"],
        "faiss_index": manifest["pipeline"]["faiss_index"],
        "size_bytes": size,
        "built_at": manifest["built_at"],
    }
