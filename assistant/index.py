"""Build, save and load the search index: FAISS (dense) + BM25 (lexical) + chunk store.

Layout of an index folder::

    index/CURRENT            name of the live version (switched by an atomic rename)
    index/v-<id>/            one immutable version: manifest.json, documents.json (one
                             document a line), chunks.json ([doc_id, section, start, end]
                             a line: a chunk's text is document.text[start:end]),
                             dense.faiss, bm25/, sentences/ (every sentence's span, words
                             and part-of-speech tags: see sentences.py), suggestions.json and
                             suggestions.npy (the questions a refusal may suggest, each
                             answered by this version, and their vectors: see suggestions.py)
    index/.cache/<settings>/ per-file parsed text, chunks, term counts, sentences and vectors, keyed by
                             content hash, and the term table they share (see _DocCache)
    index/.gitignore         written by the build: git sees only CURRENT and the live version

A version's id is a hash of everything it is built from (corpus files, model, pipeline
settings), so rebuilding an unchanged corpus finds the version already there and
changes nothing on disk — no git diff, no work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import config
from . import suggestions as suggested
from .chunking import Chunk, chunk_document
from .corpus import Document, Heading, SkippedFile, existing_corpus, load_corpus
from .lexical import DocTermCounts, TermTable, bm25_index, import_bm25s, lexical_tokens
from .sentences import (
    DocSentences,
    SentenceStore,
    SentenceStoreError,
    document_sentences,
    words_within,
    write_store,
)

log = logging.getLogger(__name__)

#: Bump when the files change shape, or when reading, chunking or tokenising would derive
#: something else from the same files (3: .docx tables; 4: UTF-16, truncated UTF-8 and
#: garbled GB18030; 5: dates written in the text before file properties, python-docx's
#: template values ignored; 6: sentences/, each sentence's words and tags, which answering
#: reads instead of segmenting at every question, and BM25 tokens taken from those words; 7:
#: suggestions.json/.npy, the checked questions a refusal suggests): it marks every index stale
#: (`reindex --check`) and every cache entry unusable.
FORMAT_VERSION = 7
KEEP_VERSIONS = 3
_BUNDLED = "bundled"


class IndexError_(RuntimeError):
    """Base for index problems; the message tells the user what to run."""


class StaleIndexError(IndexError_):
    """The index on disk was built with another format, model or is missing."""


class BuildLockedError(IndexError_):
    """Another reindex holds the lock."""


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
    sentences: SentenceStore
    #: Questions a refusal may suggest (each answered by this version), and their unit vectors.
    suggestions: tuple[suggested.Suggestion, ...] = ()
    suggestion_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))


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

    bm25s = import_bm25s()
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
    try:
        sentences = SentenceStore(version_dir / "sentences", documents)
    except SentenceStoreError as exc:
        raise StaleIndexError(f"{exc}: run `assistant reindex`") from exc
    try:
        suggestions, suggestion_vectors = suggested.read(version_dir)
    except (OSError, ValueError, TypeError) as exc:
        raise StaleIndexError(
            f"suggested questions of {version_dir} unreadable ({exc}): run `assistant reindex`"
        ) from exc
    dense = faiss.read_index(str(version_dir / "dense.faiss"))
    bm25 = bm25s.BM25.load(str(version_dir / "bm25"))
    return IndexData(
        version_dir, manifest, documents, chunks, dense, bm25, sentences, suggestions, suggestion_vectors
    )


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
    #: Questions stored for refusals to suggest, and those staff listed that were left out (refused).
    suggestions: int = 0
    unanswered_suggestions: list[str] = field(default_factory=list)


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
    lex: DocTermCounts
    vectors: np.ndarray
    sentences: DocSentences


class _DocCache:
    """The parsed document, chunks, BM25 term counts, vectors and sentences of one file, keyed
    by the file's bytes and name: an unchanged file is neither parsed, chunked, tokenised,
    tagged nor embedded again.

    ``<root>/<settings>/`` holds the entries made with one model, pipeline settings and
    format, plus their ``terms.txt`` (see ``TermTable``); ``prune`` keeps the entries the
    last build used and the last few settings. One file per document: a magic line, the
    length of a compact UTF-8 JSON header (the document's metadata, its chunk spans), the
    text as UTF-8, then raw arrays: float32 vectors, uint32 vocabulary, int64 tokens and
    distinct terms per chunk, uint32 terms and their counts, then the sentences (see
    ``DocSentences``: spans, words per sentence, words, word offsets, tags). Reading one is a single read,
    a C-speed ``json.loads`` and a few ``np.frombuffer``s: at 1,000 documents the whole
    cache reads ~3x faster than parsing the articles again.
    """

    MAGIC = b"QACACHE6\n"
    #: The term-count arrays after the vectors, in file order, as stored.
    LEX_ARRAYS = (
        ("vocab", np.uint32),
        ("lengths", np.int64),
        ("n_terms", np.int64),
        ("terms", np.uint32),
        ("counts", np.uint32),
    )

    def __init__(self, root: Path, encoder_name: str):
        settings = f"{encoder_name}|{config.PIPELINE.fingerprint()}|{FORMAT_VERSION}"
        self.root = root
        self.dir = root / hashlib.sha256(settings.encode()).hexdigest()[:16]
        self.terms = TermTable(self.dir / "terms.txt")
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
            vectors = np.frombuffer(data, dtype=np.float32, count=rows * dim, offset=at)
            at += vectors.nbytes
            sizes = {"vocab": meta["vocab"], "lengths": n, "n_terms": n, "terms": pairs, "counts": pairs}
            arrays = {}
            for name, dtype in self.LEX_ARRAYS:
                arrays[name] = np.frombuffer(data, dtype=dtype, count=sizes[name], offset=at)
                at += arrays[name].nbytes
            lex = DocTermCounts(**arrays)
            sentences, at = DocSentences.from_buffer(data, at, *meta["sentences"])
            if rows != n or at != len(data) or int(lex.n_terms.sum()) != pairs:
                return None
            known = len(self.terms.strings)
            if (
                (pairs and int(lex.terms.max()) >= len(lex.vocab))
                or int(lex.vocab.max(initial=0)) >= known
                or sentences.max_term() >= known
            ):
                return None
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None
        self.used.add(where)
        return _Cached(doc, spans, lex, vectors.reshape(rows, dim), sentences)

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
            "sentences": list(entry.sentences.sizes()),
        }
        header = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            fh.write(self.MAGIC + len(header).to_bytes(8, "little") + header + text)
            fh.write(vectors.tobytes())
            for name, dtype in self.LEX_ARRAYS:
                fh.write(np.ascontiguousarray(getattr(lex, name), dtype=dtype).tobytes())
            fh.write(entry.sentences.to_bytes())
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

    from .embedding import load_encoder, load_lexicon

    t0 = time.perf_counter()
    corpus_dir = existing_corpus(corpus_dir or config.corpus_dir())  # a mistyped one leaves no trace
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
        return _build_locked(corpus_dir, index_dir, model, progress, strict, t0, load_encoder, load_lexicon)
    finally:
        lock.release()


def _build_locked(
    corpus_dir, index_dir, model, progress, strict, t0, load_encoder, load_lexicon
) -> BuildReport:
    import faiss

    progress = progress or (lambda it: it)
    _remove_leftovers(index_dir)
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
    names = "".join(f"\n  {s.path.relative_to(corpus_dir)}: {s.reason}" for s in skipped)
    if strict and skipped:
        raise IndexError_(f"--strict: {len(skipped)} file(s) would be skipped:{names}")
    if not documents:
        skipped_note = f"; {len(skipped)} file(s) skipped:{names}" if skipped else ""
        raise IndexError_(f"no readable documents in {corpus_dir}, nothing to index{skipped_note}")
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
            suggestions=read_manifest(version_dir).get("suggestions", 0),
        )

    all_spans: list[list] = []  # [doc_id, section, start, end] per chunk
    all_lex: list[DocTermCounts] = []
    all_vectors: list[np.ndarray] = []
    all_sentences: list[DocSentences] = []
    reused = embedded = 0
    for doc in progress(documents):
        entry = cached.get(doc.doc_id)
        if entry is None:
            chunks = chunk_document(doc)
            sentences = document_sentences(doc)
            tokens = [lexical_tokens(c.text, words_within(sentences, c.start, c.end)) for c in chunks]
            lex = DocTermCounts.of(tokens, cache.terms)
            vectors = encoder.encode([c.text for c in chunks])
            spans = [[c.section, c.start, c.end] for c in chunks]
            entry = _Cached(doc, spans, lex, vectors, DocSentences.of(sentences, cache.terms))
            cache.put(entry)
            embedded += len(chunks)
        else:
            reused += 1
        all_spans.extend([doc.doc_id, *span] for span in entry.spans)
        all_lex.append(entry.lex)
        all_vectors.append(entry.vectors)
        all_sentences.append(entry.sentences)
    _pause_for_tests("embedded")

    vectors = np.vstack(all_vectors).astype(np.float32)
    tmp_dir = index_dir / f".tmp-{version}-{os.getpid()}"
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir()
    dense = _faiss_index(vectors, config.PIPELINE.faiss_index)
    faiss.write_index(dense, str(tmp_dir / "dense.faiss"))
    bm25 = bm25_index(all_lex, cache.terms)
    bm25.save(str(tmp_dir / "bm25"))
    names = [_corpus_name(d, corpus_dir) for d in documents]
    _write_records(tmp_dir / "documents.json", map(_document_record, documents, names))
    _write_records(tmp_dir / "chunks.json", all_spans)
    write_store(tmp_dir / "sentences", [d.doc_id for d in documents], all_sentences, cache.terms)
    manifest = {
        "format_version": FORMAT_VERSION,
        "version": version,
        "model": {"spec": spec, "name": encoder.name, "dim": int(vectors.shape[1])},
        "pipeline": asdict(config.PIPELINE) | {"fingerprint": config.PIPELINE.fingerprint()},
        "corpus": {name: d.sha256 for name, d in zip(names, documents)},
        "documents": len(documents),
        "chunks": len(all_spans),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # Suggestions are asked against this very version, as a question would be once it is live.
    by_id = {d.doc_id: d for d in documents}
    chunks = [Chunk(d, section, a, b, by_id[d].text[a:b]) for d, section, a, b in all_spans]
    store = SentenceStore(tmp_dir / "sentences", by_id)
    data = IndexData(tmp_dir, manifest, by_id, chunks, dense, bm25, store)
    verdicts_path = index_dir / ".cache" / "suggestions.json"
    kept, refused, verdicts = suggested.answered(
        data, encoder, load_lexicon(model_location(spec)), suggested.read_verdicts(verdicts_path)
    )
    suggested.write_verdicts(verdicts_path, verdicts)
    suggested.write(tmp_dir, kept, suggested.unit_vectors([s.question for s in kept], encoder))
    manifest["suggestions"] = len(kept)
    _pause_for_tests("written")
    _write_json(tmp_dir / "manifest.json", manifest)
    shutil.rmtree(version_dir, ignore_errors=True)
    os.replace(tmp_dir, version_dir)
    _pause_for_tests("renamed")
    _switch(index_dir, version)
    _prune(index_dir, version)
    cache.prune()
    return BuildReport(
        version,
        len(documents),
        len(all_spans),
        time.perf_counter() - t0,
        skipped,
        reused,
        embedded,
        suggestions=len(kept),
        unanswered_suggestions=[s.question for s in refused if s.origin == "staff"],
    )


def _corpus_name(doc: Document, corpus_dir: Path) -> str:
    """The file's path inside the corpus folder (``a/notice.md`` and ``b/notice.md`` differ)."""
    return Path(doc.path).relative_to(corpus_dir).as_posix()


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


def _remove_leftovers(index_dir: Path) -> None:
    """Delete what killed builds left half-written (a version folder can be 60 MB). Called
    with the build lock held, so no live build owns any of it."""
    for tmp in index_dir.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    for pattern in (".CURRENT.*", ".gitignore.*", ".cache/*/*/*.tmp"):
        for tmp in index_dir.glob(pattern):
            tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------ inspection


def check_index(corpus_dir: Path, index_dir: Path, model: str | None = None) -> list[str]:
    """Reasons the live index differs from what a build would produce now (empty: fresh)."""
    from .embedding import load_encoder

    corpus_dir = existing_corpus(corpus_dir)
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


@dataclass(frozen=True)
class IndexedFile:
    """One corpus file as the live version holds it (the staff console lists these)."""

    sha256: str
    chunks: int


def indexed_files(index_dir: Path) -> dict[str, IndexedFile]:
    """Per corpus file name (as in the manifest): the hash of the bytes indexed and its chunk count."""
    version_dir = current_version_dir(index_dir)
    manifest = read_manifest(version_dir)
    ids = {d["path"]: d["doc_id"] for d in json.loads((version_dir / "documents.json").read_text("utf-8"))}
    counts: dict[str, int] = {}
    for doc_id, *_ in json.loads((version_dir / "chunks.json").read_text(encoding="utf-8")):
        counts[doc_id] = counts.get(doc_id, 0) + 1
    return {
        name: IndexedFile(sha, counts.get(ids.get(name, ""), 0)) for name, sha in manifest["corpus"].items()
    }
