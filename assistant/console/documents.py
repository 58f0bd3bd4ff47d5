"""The corpus as staff see it: every file with its status, uploads waiting for review, preview.

Everything here goes through the code the CLI uses: ``load_corpus`` and ``read_document``
decide what is readable and why not, ``build_index`` builds the preview's temporary
index, ``answer`` decides which refused questions a new file answers. Uploads wait in
``config.console_dir() / "pending"`` until a staff member publishes them into the corpus;
deleted files move to ``deleted/`` there, so nothing a click removes is lost.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import config
from ..chunking import split_sentences
from ..corpus import SUPPORTED_SUFFIXES, CorpusFileError, Document, load_corpus, read_document, read_notes
from ..feedback import FeedbackStore
from ..index import IndexError_, indexed_files
from .catalogue import set_entry

STATUS_LABELS = {
    "indexed": "已索引",
    "changed": "已改动，未重建索引",
    "new": "新文件，未重建索引",
    "skipped": "跳过",
    "removed": "已删除，未重建索引",
}


class UploadError(ValueError):
    """An upload or request the console turns away; the message is shown to staff as is."""


@dataclass(frozen=True)
class DocumentRow:
    name: str  # path inside the corpus, posix separators
    title: str
    source: str
    date: str
    size: int | None
    chunks: int | None  # in the live index
    status: str  # a key of STATUS_LABELS
    reason: str = ""  # why a file is skipped

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def document_rows(corpus_dir: Path, index_dir: Path) -> list[DocumentRow]:
    """Every corpus file, and every indexed file since deleted, with what the live index holds of it."""
    corpus_dir = Path(corpus_dir)
    documents, skipped = load_corpus(corpus_dir)
    try:
        indexed = indexed_files(index_dir)
    except (IndexError_, OSError, ValueError):
        indexed = {}
    rows = []
    for d in documents:
        name = Path(d.path).relative_to(corpus_dir).as_posix()
        held = indexed.get(name)
        status = "new" if held is None else "indexed" if held.sha256 == d.sha256 else "changed"
        size = Path(d.path).stat().st_size
        rows.append(DocumentRow(name, d.title, d.source, d.date, size, held and held.chunks, status))
    for s in skipped:
        name = s.path.relative_to(corpus_dir).as_posix()
        size = s.path.stat().st_size if s.path.is_file() else None
        rows.append(DocumentRow(name, "", "", "", size, None, "skipped", s.reason))
    present = {r.name for r in rows}
    for name, held in indexed.items():
        if name not in present:
            rows.append(DocumentRow(name, "", "", "", None, held.chunks, "removed"))
    return sorted(rows, key=lambda r: r.name)


def corpus_file(corpus_dir: Path, name: str) -> Path:
    """The corpus file called ``name``, only if it is one (a form field is never trusted as a path)."""
    from ..corpus import corpus_files

    corpus_dir = Path(corpus_dir)
    files, _ = corpus_files(corpus_dir)
    for path in files:
        if path.relative_to(corpus_dir).as_posix() == name:
            return path
    raise UploadError(f"语料库里没有文件 {name!r}")


# ----------------------------------------------------------------------------- uploads


def pending_dir() -> Path:
    return config.console_dir() / "pending"


def check_name(raw: str) -> str:
    """A bare file name of a supported type, or ``UploadError`` saying what is wrong with it."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if not name:
        raise UploadError("文件没有名字")
    if "/" in name or "\\" in name or name in (".", "..") or ":" in name:
        raise UploadError(f"文件名“{raw}”含有路径（/、\\、..），只接受单纯的文件名")
    if name.startswith("."):
        raise UploadError(f"文件名“{raw}”以点开头（隐藏文件），请改名")
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise UploadError("文件名含有控制字符，请改名")
    if len(name) > config.ADMIN_MAX_NAME_CHARS:
        raise UploadError(f"文件名太长（{len(name)} 个字符，上限 {config.ADMIN_MAX_NAME_CHARS}）")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        allowed = "、".join(SUPPORTED_SUFFIXES)
        raise UploadError(f"{name}：不支持的文件类型 {suffix or '（无扩展名）'}，只接受 {allowed}")
    return name


def stage_upload(raw_name: str, data: bytes, overwrite: bool, corpus_dir: Path) -> str:
    """Check one uploaded file and keep it for review; returns its name. Nothing is written on error.

    ``data`` may hold one byte more than the limit, which is how a too-large file shows.
    """
    name = check_name(raw_name)
    if len(data) > config.MAX_FILE_BYTES:
        raise UploadError(f"{name}：文件太大（上限 {config.MAX_FILE_BYTES / 2**20:g} MB），请拆分后再上传")
    target = pending_dir() / name
    if not overwrite and ((Path(corpus_dir) / name).exists() or target.exists()):
        raise UploadError(f"{name}：已有同名文件。要替换它，请勾选“覆盖同名文件”后重新上传")
    try:
        read_document(Path(name), data=data)
    except CorpusFileError as exc:
        raise UploadError(f"{name}：无法读取（{exc.reason}），未保存") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, data)
    return name


def pending_names() -> list[str]:
    folder = pending_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def pending_file(name: str) -> Path:
    if name not in pending_names():
        raise UploadError(f"没有待发布的文件 {name!r}")
    return pending_dir() / name


def publish(name: str, corpus_dir: Path) -> Path:
    """Move a reviewed upload into the corpus (replacing a same-named file, as confirmed at upload)."""
    source = pending_file(name)
    target = Path(corpus_dir) / name
    _write_atomic(target, source.read_bytes())
    source.unlink()
    return target


def discard(name: str) -> None:
    pending_file(name).unlink()


def delete(name: str, corpus_dir: Path) -> Path:
    """Move a corpus file to the console's ``deleted/`` folder and drop its catalogue entry."""
    path = corpus_file(corpus_dir, name)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kept = config.console_dir() / "deleted" / f"{stamp}-{path.name}"
    kept.parent.mkdir(parents=True, exist_ok=True)
    set_entry(corpus_dir, name, None)  # first: the catalogue may name only files that exist
    shutil.move(path, kept)
    return kept


def _write_atomic(target: Path, data: bytes) -> None:
    """A hidden temporary file beside the target, then a rename: no reader sees half a file."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


# ----------------------------------------------------------------------------- preview


@dataclass(frozen=True)
class Section:
    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class NowAnswered:
    question: str
    asked: int  # times residents asked it and were refused
    quote: str


@dataclass(frozen=True)
class Preview:
    name: str
    pending: bool
    replaces: bool  # a corpus file of that name exists
    document: Document  # as it will be cited (title, source, date, questions)
    encoding: str
    repairs: tuple[str, ...]  # "…before⏎after…" around each joined line break
    sections: tuple[Section, ...]
    sentences: int
    chunks: int
    answered: tuple[NowAnswered, ...]
    tried: int  # distinct refused questions tried

    @property
    def shown(self) -> int:
        return sum(len(s.sentences) for s in self.sections)


def preview(name: str, pending: bool, corpus_dir: Path, index_dir: Path, store: FeedbackStore) -> Preview:
    """How a pending upload (or a corpus file) is read, and which refused questions it answers.

    The questions are answered against a temporary index of the corpus plus this file,
    built by ``build_index`` like any other; the live index is not touched. A copy of the
    live index's cache lets that build re-embed only this file (its entries are checked on
    reading, so a copy taken while a reindex writes is safe).
    """
    from ..answering import answer
    from ..index import build_index
    from ..retrieval import Retriever

    corpus_dir = Path(corpus_dir)
    path = pending_file(name) if pending else corpus_file(corpus_dir, name)
    data = path.read_bytes()
    try:
        read_document(Path(name), data=data)
        notes = read_notes(Path(name), data)
    except CorpusFileError as exc:
        raise UploadError(f"{name}：无法读取（{exc.reason}）") from None
    config.console_dir().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="preview-", dir=config.console_dir()) as tmp:
        tmp_corpus = Path(tmp) / "corpus"
        shutil.copytree(corpus_dir, tmp_corpus, symlinks=True, ignore=shutil.ignore_patterns(".*"))
        (tmp_corpus / name).write_bytes(data)
        cache = Path(index_dir) / ".cache"
        if cache.is_dir():
            shutil.copytree(cache, Path(tmp) / "index" / ".cache", ignore=shutil.ignore_patterns("*.tmp"))
        build_index(tmp_corpus, Path(tmp) / "index")
        retriever = Retriever.load(Path(tmp) / "index")
        doc = next((d for d in retriever.documents.values() if d.path == name), None)
        if doc is None:
            raise UploadError(f"{name}：读取成功，但建索引时被跳过（与已有文件内容重复？）")
        chunks = sum(1 for c in retriever.chunks if c.doc_id == doc.doc_id)
        answered, tried = _now_answered(store, retriever, doc.doc_id, answer)
    spans = [(a, b) for a, b in split_sentences(doc.text) if a not in {h.start for h in doc.headings}]
    sections: dict[str, list[str]] = {}
    for a, b in spans[: config.ADMIN_PREVIEW_SENTENCES]:
        sections.setdefault(doc.section_at(a), []).append(doc.text[a:b])
    repairs = tuple(f"…{doc.text[max(0, j - 12) : j]}⏎{doc.text[j : j + 12]}…" for j in notes.joined[:50])
    return Preview(
        name,
        pending,
        pending and (corpus_dir / name).exists(),
        doc,
        notes.encoding,
        repairs,
        tuple(Section(title, tuple(s)) for title, s in sections.items()),
        len(spans),
        chunks,
        answered,
        tried,
    )


def _now_answered(
    store: FeedbackStore, retriever, doc_id: str, answer
) -> tuple[tuple[NowAnswered, ...], int]:
    """Refused questions (newest first, distinct) that an answer citing ``doc_id`` now answers."""
    asked: dict[str, int] = {}
    for row in reversed(store.unanswered()):
        asked[row["question"]] = asked.get(row["question"], 0) + 1
    questions = list(asked)[: config.ADMIN_PREVIEW_QUESTIONS]
    found = []
    for q in questions:
        a = answer(q, retriever=retriever)
        quotes = [c.quote for c in a.citations if c.doc_id == doc_id]
        if not a.refused and quotes:
            found.append(NowAnswered(q, asked[q], quotes[0]))
    return tuple(found), len(questions)
