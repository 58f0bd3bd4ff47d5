"""Read article files into normalised ``Document`` values, or say exactly why not.

The normalised text is the single coordinate system of the product: chunk offsets,
citation offsets and highlights all point into ``Document.text``. That is why line
repair may only delete line breaks — a quote cut from the repaired text is then
still, character for character, a quote of the article.
"""

from __future__ import annotations

import codecs
import errno
import functools
import hashlib
import logging
import os
import re
from collections import Counter
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
    """UTF-16 with a byte-order mark, then UTF-8 (with or without BOM), then GB18030 (a
    superset of GBK and GB2312) only when the result reads as Chinese."""
    if not data.strip():
        raise CorpusFileError(path, "empty file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorpusFileError(path, f"undecodable: broken UTF-16 at byte {exc.start}") from exc
    if b"\x00" in data[:8192]:
        raise CorpusFileError(path, "binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A copy cut off mid-character (a truncated download or transfer) is still UTF-8:
        # only its last, incomplete character is lost.
        if exc.reason == "unexpected end of data" and exc.end == len(data):
            text = data[: exc.start].decode("utf-8-sig")
            log.warning("%s: the last character is incomplete (truncated file?) and was dropped", path)
            return _checked_text(text, path)
    else:
        return _checked_text(text, path)
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise CorpusFileError(path, "undecodable: neither UTF-8 nor GB18030/GBK text") from None
    share = common_hanzi_share(text)
    if share < config.GB18030_MIN_COMMON_SHARE:
        raise CorpusFileError(
            path,
            f"garbled text: not UTF-8, and read as GB18030 only {share:.0%} of its Chinese characters "
            f"are among the {config.COMMON_HANZI:,} most frequent (real Chinese: over "
            f"{config.GB18030_MIN_COMMON_SHARE:.0%}); save it as UTF-8",
        )
    return _checked_text(text, path)


def _checked_text(text: str, path: Path) -> str:
    if len(_CONTROL.findall(text)) > max(2, len(text) // 200):
        raise CorpusFileError(path, "undecodable: control characters where text should be (not a text file?)")
    return text


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # category Cc, less \t \n \f \r
_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def common_hanzi_share(text: str) -> float:
    """The share of ``text``'s Chinese characters that are among the most frequent ones.

    Any byte string decodes as GB18030, so decoding alone proves nothing: UTF-8 read as
    GB18030 ("鍋滆溅閫氱煡") or random bytes yield rare characters, while real Chinese text
    draws ~99 % of its characters from the 3,500 most frequent (the size of the official
    list of common characters, 现代汉语常用字表).
    """
    chars = _HANZI.findall(text)
    if not chars:
        return 0.0
    common = _common_hanzi()
    return sum(c in common for c in chars) / len(chars)


@functools.lru_cache(maxsize=1)
def _common_hanzi() -> frozenset[str]:
    """The ``COMMON_HANZI`` most frequent characters, each counted with the frequencies of
    the words of jieba's dictionary it occurs in (a large general corpus, shipped offline)."""
    from importlib.resources import files

    counts: Counter[str] = Counter()
    for line in (files("jieba") / "dict.txt").read_text(encoding="utf-8").splitlines():
        word, freq, *_ = line.split(" ")
        for char in _HANZI.findall(word):
            counts[char] += int(freq)
    return frozenset(c for c, _ in counts.most_common(config.COMMON_HANZI))


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


def corpus_files(corpus_dir: Path) -> tuple[list[Path], list[SkippedFile]]:
    """All candidate files, sorted so that builds are reproducible, and the links refused.

    Hidden files are ignored. A symbolic link is followed only when it resolves inside the
    corpus (the corpus folder may itself be a link): ``corpus/x.md -> /etc/passwd`` would
    otherwise be indexed, quoted to residents and committed with the index. A folder link
    back to one of its own ancestors is a loop and is skipped rather than walked forever.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"corpus folder not found: {corpus_dir}")
    root = corpus_dir.resolve()
    files: list[Path] = []
    skipped: list[SkippedFile] = []

    def walk(folder: Path, ancestors: frozenset[Path]) -> None:
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (RuntimeError, OSError) as exc:  # RuntimeError: a loop (Python < 3.13)
                    looped = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
                    reason = "symlink loop" if looped else f"broken link to {os.readlink(path)}"
                    skipped.append(SkippedFile(path, reason))
                    continue
                if not target.is_relative_to(root):
                    name = path.relative_to(corpus_dir).as_posix()
                    skipped.append(SkippedFile(path, f"link to outside the corpus: {name} → {target}"))
                    continue
                if target.is_dir() and target in ancestors:
                    skipped.append(SkippedFile(path, "symlink loop"))
                    continue
            else:
                target = path
            if target.is_dir():
                walk(path, ancestors | {target.resolve()})
            elif target.is_file():
                files.append(path)

    walk(corpus_dir, frozenset({root}))
    # Each file is read once, under its own name if the corpus has it, not under a link's.
    by_target: dict[Path, list[Path]] = {}
    for path in files:
        by_target.setdefault(path.resolve(), []).append(path)
    kept: list[Path] = []
    for target, paths in by_target.items():
        paths.sort(key=lambda p: (root / p.relative_to(corpus_dir) != target, p))
        kept.append(paths[0])
        name = paths[0].relative_to(corpus_dir).as_posix()
        skipped += [SkippedFile(p, f"link to {name}, which is read under its own name") for p in paths[1:]]
    return sorted(kept), skipped


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
    seen: dict[str, str] = {}
    ids: set[str] = set()
    paths, skipped = corpus_files(corpus_dir)
    for path in paths:
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
        else:
            if data.decode("utf-8-sig", errors="ignore") == text:
                encoding = "UTF-8 (incomplete last character dropped)"
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
