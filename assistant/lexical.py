"""The lexical side of the index, the counterpart of ``embedding``: one normal form of
text (Simplified, half-width, lower case), jieba words plus CJK bigrams as BM25 tokens, and a
BM25 index built from per-document term counts.

Indexing and questions go through the same functions here, so a question's tokens always
match the index's.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- tokens


def normalise_query_text(text: str) -> str:
    """Traditional → Simplified, full-width → half-width, lower case: one form for matching.

    Short texts are remembered: answering normalises the question itself at a dozen places
    (its unit, focus, terms, names, search, features…) and the spans of its quotes, and
    OpenCC's pure-Python t2s costs ~0.1 ms for a Traditional sentence.
    """
    if len(text) > _NORMALISE_CACHE_MAX_CHARS:
        return _normalise(text)
    return _normalise_cached(text)


_NORMALISE_CACHE_MAX_CHARS = 256


def _normalise(text: str) -> str:
    import unicodedata

    return _t2s(unicodedata.normalize("NFKC", text)).lower()


_normalise_cached = functools.lru_cache(maxsize=8192)(_normalise)


def to_simplified(text: str) -> str:
    """Traditional → Simplified (OpenCC t2s) and nothing else, so the text stays quotable
    (``normalise_query_text`` also folds width and case, for matching only)."""
    return _t2s(text)


def to_traditional(text: str) -> str:
    """Simplified → Traditional (OpenCC s2t): replies to a resident who writes Traditional."""
    return _s2t().convert(text)


@functools.cache
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


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


def import_bm25s():
    """bm25s sets its own logger to DEBUG on import; keep its chatter out of our output."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class TermTable:
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
        """The numbers of ``words``, numbering new ones (first those, so that the numbers
        themselves are read at C speed: the build numbers every word of every sentence)."""
        ids, strings = self.ids, self.strings
        for word in [w for w in dict.fromkeys(words) if w not in ids]:  # in order: same table every run
            ids[word] = len(strings)
            strings.append(word)
        return np.fromiter(map(ids.__getitem__, words), dtype=np.uint32, count=len(words))

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
class DocTermCounts:
    """One document's BM25 statistics, all that BM25 needs: its vocabulary (first
    appearance order, as numbers of a ``TermTable`` table) and, per chunk, its token count and
    how often each distinct term occurs (terms as indices into the vocabulary)."""

    vocab: np.ndarray  # uint32, the document's distinct terms (``TermTable`` numbers)
    lengths: np.ndarray  # int64, tokens per chunk
    n_terms: np.ndarray  # int64, distinct terms per chunk
    terms: np.ndarray  # uint32, the distinct terms of each chunk, chunk after chunk
    counts: np.ndarray  # uint32, occurrences of each of those terms in its chunk

    @classmethod
    def of(cls, tokens: list[list[str]], table: TermTable) -> DocTermCounts:
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

    def as_lists(self) -> list[list[int]]:
        """Token ids per chunk (terms repeated by count: bm25s only counts them)."""
        out: list[list[int]] = [[] for _ in range(len(self.lengths))]
        pair_doc = np.repeat(np.arange(len(self.lengths)), self.n_terms)
        for d, t, c in zip(pair_doc.tolist(), self.pair_term.tolist(), self.counts.tolist()):
            out[d].extend([t] * c)
        return out


def bm25_index(parts: list[DocTermCounts], table: TermTable):
    """A bm25s index of the chunks of ``parts`` (one per document, in corpus order).

    The same BM25 matrix as ``bm25s.BM25(...).index(tokens)``, value for value (see
    ``_fast_bm25_class``), with one difference by design: the vocabulary is numbered in
    order of first appearance instead of bm25s's ``set()`` order, which changes with
    Python's string hash seed, so that the same corpus always gives the same files.
    Scores do not depend on the numbering. Documents contribute their cached term counts,
    with terms as ``table`` numbers, so an incremental build reads no token strings.
    """
    bm25s = import_bm25s()
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


@functools.cache
def _fast_bm25_class():
    """``bm25s.BM25`` with ``build_index_from_ids`` (bm25s's documented extension point)
    vectorised: bm25s counts terms and scores chunk by chunk in Python, ~2 s at 30,000
    chunks; this does the same arithmetic on whole arrays.

    Each score is computed by the same operations in the same precision: term counts and
    document frequencies are integers, the idf comes from bm25s's own function, and the
    term-frequency part is bm25s's own scorer applied to arrays (float64 against the float32
    counts, as numpy 2 promotes a chunk's float64 length term), then stored as float32.
    The CSC matrix holds each term's chunks in ascending order, as bm25s's builder sorts
    them. Other BM25 variants, numpy 1, and token lists not built by ``bm25_index`` use
    bm25s's own code.
    """
    bm25s = import_bm25s()
    from bm25s import scoring

    class FastBM25(bm25s.BM25):
        def build_index_from_ids(
            self, unique_token_ids, corpus_token_ids, show_progress=True, leave_progress=False
        ):
            if (
                not isinstance(corpus_token_ids, _TermCounts)
                or self.method not in ("robertson", "lucene", "atire")
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

    return FastBM25


def segment(text: str, search_mode: bool = False, remember: bool = True) -> list[str]:
    """jieba words; jieba is imported (and silenced) on first use, as it costs ~0.5 s.

    Plain-mode results of short texts are remembered (answering segments the same corpus
    sentences for question after question; jieba's Python DAG costs ~0.1 ms a sentence).
    Search mode, and whatever the index build segments (``remember=False``: each text once),
    is never cached.
    """
    if search_mode or not remember or len(text) > _SEGMENT_CACHE_MAX_CHARS:
        return _cut(text, search_mode)
    return list(_cut_cached(text))


_jieba = None
_SEGMENT_CACHE_MAX_CHARS = 1000


def _jieba_module():
    global _jieba
    if _jieba is None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    return _jieba


def _cut(text: str, search_mode: bool) -> list[str]:
    jieba = _jieba_module()
    return list(jieba.cut_for_search(text) if search_mode else jieba.cut(text))


@functools.lru_cache(maxsize=8192)
def _cut_cached(text: str) -> tuple[str, ...]:
    return tuple(_cut(text, False))


def clear_text_caches() -> None:
    """Forget remembered segmentations and normal forms (benchmarks use it to measure a cold question)."""
    _cut_cached.cache_clear()
    _normalise_cached.cache_clear()


def lexical_tokens(text: str, words: Iterable[str] | None = None) -> list[str]:
    """jieba words (search mode) plus CJK character bigrams, stop words dropped.

    Bigrams make recall robust to segmentation differences between a question and the
    article; whole words keep precision. ``words`` are the plain jieba words of
    ``normalise_query_text(text)`` when the caller already has them: the index build takes
    a chunk's words from its sentences (segmented once at reindex, see ``sentences``)
    instead of segmenting the chunk again; a question is segmented here, the same way.
    """
    text = normalise_query_text(text)
    tokens = [w for w in search_words(segment(text) if words is None else words) if w not in _STOP]
    for run in _WORD.findall(text):
        if "\u3400" <= run[0] <= "\u9fff":
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif run not in _STOP:
            tokens.append(run)
    return tokens


_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")


def search_words(words: Iterable[str]) -> list[str]:
    """jieba's search mode over plain ``words`` (``jieba.cut_for_search`` does the same over
    its own ``cut``): each word's dictionary 2- and 3-grams, then the word; only the Chinese
    runs of words, as Latin letters and digits are tokens of their own."""
    out: list[str] = []
    for word in words:
        out.extend(_search_forms(word))
    return out


@functools.lru_cache(maxsize=65536)
def _search_forms(word: str) -> tuple[str, ...]:
    """``search_words`` of one word (remembered: a corpus repeats its words)."""
    freq = _jieba_module().dt.FREQ
    out = []
    for w in _CJK_RUN.findall(word):
        n = len(w)
        if n > 2:
            out.extend(g for g in (w[i : i + 2] for i in range(n - 1)) if freq.get(g))
        if n > 3:
            out.extend(g for g in (w[i : i + 3] for i in range(n - 2)) if freq.get(g))
        out.append(w)
    return tuple(out)
