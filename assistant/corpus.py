"""Read article files into normalised ``Document`` values, or say exactly why not.

The normalised text is the single coordinate system of the product: chunk offsets,
citation offsets and highlights all point into ``Document.text``. That is why line
repair may only delete line breaks — a quote cut from the repaired text is then
still, character for character, a quote of the article.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import config

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".md", ".txt", ".html", ".htm", ".docx", ".pdf")

#: Characters that may end a sentence (or close a quote or bracket after one).
_TERMINAL = "。！？!?；;…”’」』）)】"
#: Punctuation that only appears inside running prose, never in a bare subtitle line.
_INNER_PUNCT = re.compile(r"[，,、：:]")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_BLOCK_START = re.compile(r"^(#{1,6}\s|[-*+]\s|\d+[.)、]\s|>|►|■|●|▲|【|\||```)")


class CorpusFileError(ValueError):
    """A corpus file that cannot be ingested; ``reason`` is a short, human-readable cause."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Heading:
    """A heading line of the normalised text; ``start`` is where its line begins."""

    start: int
    level: int
    title: str


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    source: str
    date: str
    text: str
    headings: tuple[Heading, ...]
    path: str
    sha256: str
    #: Questions staff suggest for this article (front matter ``questions: a | b``).
    questions: tuple[str, ...] = ()

    def section_at(self, offset: int) -> str:
        """Heading path (" > "-joined, document title omitted) of the text at ``offset``."""
        path: list[Heading] = []
        for h in self.headings:
            if h.start > offset:
                break
            path = [p for p in path if p.level < h.level] + [h]
        titles = [h.title for h in path if h.title != self.title]
        return " > ".join(titles)


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


# --------------------------------------------------------------------------- decoding


def decode_bytes(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) first, then GB18030, a superset of GBK and GB2312."""
    if not data.strip():
        raise CorpusFileError(path, "empty file")
    if b"\x00" in data[:8192]:
        raise CorpusFileError(path, "binary file (contains NUL bytes), not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise CorpusFileError(path, "undecodable: neither UTF-8 nor GB18030/GBK text")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # category Cc, less \t \n \f \r


def _looks_like_text(text: str) -> bool:
    return len(_CONTROL.findall(text)) <= max(2, len(text) // 200)


# ------------------------------------------------------------------------ normalising


def normalise(text: str) -> str:
    """Unify line ends and whitespace without touching any visible character.

    Trailing spaces (Markdown's hard line break) and runs of blank lines carry no meaning
    in a quote; everything else is kept as written.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def repair_lines(text: str) -> str:
    """Join prose that a layout tool broke across lines, deleting only line breaks.

    A break is removed when the text before it is an unfinished prose sentence: it does
    not end with terminal punctuation, it already contains inner punctuation (commas
    and the like, which bare subtitles never have), and the next line is not the start
    of a block (heading, list item, caption marker).
    """
    lines = text.split("\n")
    result, breaks = lines[0], ""
    for line in lines[1:]:
        breaks += "\n"
        if not line:
            continue
        paragraph = result.rsplit("\n", 1)[-1]
        joined = _is_unfinished(paragraph) and not _BLOCK_START.match(line)
        result += line if joined else breaks + line
        breaks = ""
    return result + breaks


def _is_unfinished(paragraph: str) -> bool:
    if not paragraph or _BLOCK_START.match(paragraph):
        return False
    if paragraph[-1] in _TERMINAL:
        return False
    return bool(_INNER_PUNCT.search(paragraph))


# ----------------------------------------------------------------------- front matter


def split_front_matter(text: str, path: Path) -> tuple[dict[str, str], str]:
    """Parse a ``---``-fenced block of ``key: value`` lines at the top of a text file."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 3)
    if end == -1:
        raise CorpusFileError(path, "malformed front matter: no closing '---' line")
    meta: dict[str, str] = {}
    for lineno, line in enumerate(text[4:end].split("\n"), start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or " " in key.strip():
            raise CorpusFileError(
                path, f"malformed front matter at line {lineno}: expected 'key: value', got {line!r}"
            )
        meta[key.strip().lower()] = value.strip().strip("\"'")
    body = text[end + 4 :]
    return meta, body.split("\n", 1)[1] if "\n" in body else ""


# --------------------------------------------------------------------------- formats


def _read_markdown(path: Path, data: bytes) -> tuple[dict[str, str], str]:
    return split_front_matter(normalise(decode_bytes(data, path)), path)


def _read_html(path: Path, data: bytes) -> tuple[dict[str, str], str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_bytes(data, path), "html.parser")
    meta: dict[str, str] = {}
    if soup.title and soup.title.string:
        meta["title"] = soup.title.string.strip()
    for name, key in (("date", "date"), ("pubdate", "date"), ("author", "source"), ("source", "source")):
        tag = soup.find("meta", attrs={"name": name})
        if tag and tag.get("content"):
            meta.setdefault(key, str(tag["content"]).strip())
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form", "noscript"]):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks: list[str] = []
    for el in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote"]):
        if el.find_parent(["p", "li"]) is not None:
            continue
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        if el.name[0] == "h":
            text = "#" * int(el.name[1]) + " " + text
        blocks.append(text)
    return meta, "\n\n".join(blocks)


def _read_docx(path: Path, data: bytes) -> tuple[dict[str, str], str]:
    import io

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several unrelated types on bad zips
        raise CorpusFileError(path, f"not a readable .docx file ({exc.__class__.__name__})") from exc
    props = document.core_properties
    meta = {"title": props.title or "", "source": props.author or ""}
    if props.created:
        meta["date"] = props.created.strftime("%Y-%m-%d")
    blocks = []
    for item in document.iter_inner_content():  # paragraphs and tables, in document order
        if isinstance(item, docx.table.Table):
            blocks.append(_docx_table(item))
            continue
        text = item.text.strip()
        if not text:
            continue
        style = (item.style.name or "").lower() if item.style is not None else ""
        level = 1 if style == "title" else int(style[-1]) if re.fullmatch(r"heading \d", style) else 0
        blocks.append("#" * level + " " + text if level else text)
    return {k: v for k, v in meta.items() if v}, "\n\n".join(b for b in blocks if b)


def _docx_table(table) -> str:
    """One line per row, cells between bars ("| 5G基站 | 3.3万个 |"): notices put their figures
    in tables, and a row read as one line keeps each figure with what it measures."""
    lines = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        # A merged cell repeats in every column it spans: keep it once.
        cells = [c for i, c in enumerate(cells) if i == 0 or c != cells[i - 1]]
        if any(cells):
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_PDF_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _read_pdf(path: Path, data: bytes) -> tuple[dict[str, str], str]:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
        meta = {"title": str(info.get("/Title") or ""), "source": str(info.get("/Author") or "")}
        created = str(info.get("/CreationDate") or "")
    except Exception as exc:  # pypdf raises many unrelated types on damaged files
        raise CorpusFileError(path, f"not a readable PDF ({exc.__class__.__name__}: {exc})") from exc
    text = "\n\n".join(pages)
    # Control characters stand for glyphs the reader could not map: a few are dropped,
    # many mean a font encoding it cannot read at all.
    if len(_PDF_CONTROL.findall(text)) > max(2, len(text) // 20):
        raise CorpusFileError(path, "PDF text layer is garbled (unmappable font encoding): export it again")
    text = _PDF_CONTROL.sub("", text)
    if re.match(r"D:\d{8}", created):
        meta["date"] = f"{created[2:6]}-{created[6:8]}-{created[8:10]}"
    return {k: v for k, v in meta.items() if v}, text


_READERS = {
    ".md": _read_markdown,
    ".txt": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
}


# --------------------------------------------------------------------------- loading


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a file over the size limit is refused before it is read."""
    try:
        size = path.stat().st_size
        if size > config.MAX_FILE_BYTES:
            raise CorpusFileError(path, f"too large: {size:,} bytes (limit {config.MAX_FILE_BYTES:,})")
        return path.read_bytes()
    except OSError as exc:
        raise CorpusFileError(path, f"unreadable: {exc.strerror or exc}") from exc


def read_document(path: Path, doc_id: str | None = None, data: bytes | None = None) -> Document:
    """Read one file; raises ``CorpusFileError`` naming the problem."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise CorpusFileError(path, f"unsupported file type {suffix or '(none)'}")
    if data is None:
        data = _read_bytes(path)
    if not data.strip():
        raise CorpusFileError(path, "empty file")
    meta, body = _READERS[suffix](path, data)
    text = repair_lines(normalise(body))
    if not text.strip() or not re.search(r"\w", text):
        raise CorpusFileError(path, "no text to index (empty after reading)")
    headings = tuple(
        Heading(m.start(), len(m.group(1)), m.group(2))
        for m in re.finditer(r"^(#{1,6})\s+(.+?)\s*$", text, flags=re.M)
    )
    title = meta.get("title") or (headings[0].title if headings else "") or path.stem
    return Document(
        doc_id=doc_id or path.stem,
        title=title,
        source=meta.get("source", ""),
        date=str(meta.get("date", "")),
        text=text,
        headings=headings,
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        questions=tuple(q.strip() for q in meta.get("questions", "").split("|") if q.strip()),
    )


def corpus_files(corpus_dir: Path) -> list[Path]:
    """All candidate files, sorted, so that builds are reproducible; hidden files ignored."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
    )


def doc_id_for(path: Path, corpus_dir: Path) -> str:
    rel = Path(path).relative_to(corpus_dir)
    return rel.with_suffix("").as_posix()


#: ``reuse(path, doc_id, sha256_of_bytes)``: a ``Document`` already read from these exact bytes.
Reuse = Callable[[Path, str, str], "Document | None"]


def load_corpus(
    corpus_dir: Path | None = None, reuse: Reuse | None = None
) -> tuple[list[Document], list[SkippedFile]]:
    """Every readable document, plus every skipped file with its reason.

    A bad file never stops the build: staff get its name and the reason instead.
    Exact duplicates (same normalised text) are kept once, under the first name.
    ``reuse`` lets a reindex skip parsing files whose bytes it has seen before (at 1,000
    documents, parsing is most of an incremental build's reading time).
    """
    corpus_dir = Path(corpus_dir or config.corpus_dir())
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    seen: dict[str, str] = {}
    ids: set[str] = set()
    for path in corpus_files(corpus_dir):
        if path.suffix.lower() not in _READERS:
            skipped.append(SkippedFile(path, f"unsupported file type {path.suffix or '(none)'}"))
            continue
        doc_id = doc_id_for(path, corpus_dir)
        if doc_id in ids:  # notice.docx beside notice.pdf: the later one keeps its suffix
            doc_id = path.relative_to(corpus_dir).as_posix()
        try:
            data = _read_bytes(path)
            doc = reuse and reuse(path, doc_id, hashlib.sha256(data).hexdigest())
            doc = doc or read_document(path, doc_id, data)
        except CorpusFileError as exc:
            skipped.append(SkippedFile(path, exc.reason))
            continue
        key = hashlib.sha256(doc.text.encode()).hexdigest()
        if key in seen:
            skipped.append(SkippedFile(path, f"exact duplicate of {seen[key]}"))
            continue
        seen[key] = path.name
        ids.add(doc_id)
        documents.append(doc)
    for s in skipped:
        log.warning("skipped %s: %s", s.path, s.reason)
    return documents, skipped


# ---------------------------------------------------------------------- read notes

_TEXT_CODECS = (("utf-8-sig", "UTF-8"), ("utf-16", "UTF-16"), ("gb18030", "GB18030 (GBK)"))


@dataclass(frozen=True)
class ReadNotes:
    """How ``read_document`` treated a file's bytes, for staff checking a file before it goes live."""

    #: The character encoding the text was decoded from ("" for .docx and .pdf, which carry their own).
    encoding: str
    #: Offsets in ``Document.text`` where ``repair_lines`` joined a line a layout tool had broken.
    joined: tuple[int, ...]


def read_notes(path: Path, data: bytes) -> ReadNotes:
    """Replay the reading of ``data`` and note the decoding and line repair it applied.

    The encoding is named by comparing the decoded text with each codec's plain decoding,
    so it reports what ``decode_bytes`` did without re-deciding it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    encoding = ""
    if suffix in (".md", ".txt", ".html", ".htm"):
        text = decode_bytes(data, path)
        for codec, label in _TEXT_CODECS:
            try:
                if data.decode(codec) == text:
                    encoding = label
                    break
            except UnicodeDecodeError:
                continue
    _, body = _READERS[suffix](path, data)
    before = normalise(body)
    after = repair_lines(before)
    joined, j = [], 0
    for ch in before:  # repair only deletes line breaks: walk both texts together
        if j < len(after) and after[j] == ch:
            j += 1
        else:
            joined.append(j)
    return ReadNotes(encoding, tuple(sorted(set(joined))))
