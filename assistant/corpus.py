"""Read article files into normalised ``Document`` values, or say exactly why not.

The normalised text is the single coordinate system of the product: chunk offsets,
citation offsets and highlights all point into ``Document.text``. That is why line
repair may only delete line breaks — a quote cut from the repaired text is then
still, character for character, a quote of the article.
"""

from __future__ import annotations

import codecs
import datetime
import errno
import functools
import hashlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from . import config

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

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
    #: ``source_hash``: of the file's bytes, and of its catalogue entry when staff wrote one.
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
    template = _docx_template_properties()
    meta = {
        "title": props.title if props.title not in template["title"] else "",
        "source": props.author if props.author not in template["author"] else "",
    }
    if props.created and props.created not in template["created"]:
        meta["file_date"] = props.created.strftime("%Y-%m-%d")
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


@functools.lru_cache(maxsize=1)
def _docx_template_properties() -> dict[str, set]:
    """Property values a generator writes, not an author: those of python-docx's own template
    (author "python-docx", created 2013-12-23) and of the part it adds to a file that has
    none (title "Word Document"). Read from the library, so a new release keeps them right."""
    import docx
    from docx.opc.parts.coreprops import CorePropertiesPart

    template = docx.Document()
    added = CorePropertiesPart.default(template.part.package)
    values: dict[str, set] = {"title": {""}, "author": {""}, "created": {None}}
    for props in (template.core_properties, added.core_properties):
        values["title"].add(props.title)
        values["author"].add(props.author)
        values["created"].add(props.created)
    return values


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
    if re.match(r"D:\d{8}", created):  # when the PDF was made, which is seldom when it was written
        meta["file_date"] = f"{created[2:6]}-{created[6:8]}-{created[8:10]}"
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


def read_document(
    path: Path, doc_id: str | None = None, data: bytes | None = None, entry: CatalogueEntry | None = None
) -> Document:
    """Read one file; raises ``CorpusFileError`` naming the problem.

    Title, source, date and questions come from the staff's catalogue ``entry`` first, then
    from what the file declares (front matter, HTML meta tags), then from the text itself
    (a heading; a date line at its top or end), and only then from what the program that
    made the file recorded (Word's and PDF's properties: when the file was made or
    exported, rarely when the article was written).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise CorpusFileError(path, f"unsupported file type {suffix or '(none)'}")
    if data is None:
        data = _read_bytes(path)
    if not data.strip():
        raise CorpusFileError(path, "empty file")
    meta, body = _READERS[suffix](path, data)
    laid_out = normalise(body)
    text = repair_lines(laid_out)
    if not text.strip() or not re.search(r"\w", text):
        raise CorpusFileError(path, "no text to index (empty after reading)")
    headings = tuple(
        Heading(m.start(), len(m.group(1)), m.group(2))
        for m in re.finditer(r"^(#{1,6})\s+(.+?)\s*$", text, flags=re.M)
    )
    entry = entry or CatalogueEntry()
    questions = tuple(q.strip() for q in meta.get("questions", "").split("|") if q.strip())
    return Document(
        doc_id=doc_id or path.stem,
        title=entry.title or meta.get("title") or (headings[0].title if headings else "") or path.stem,
        source=entry.source or meta.get("source", ""),
        # Lines as laid out: line repair may join a date line to the text after it.
        date=entry.date or meta.get("date") or date_in_text(laid_out) or meta.get("file_date", ""),
        text=text,
        headings=headings,
        path=str(path),
        sha256=source_hash(data, entry),
        questions=questions if entry.questions is None else entry.questions,
    )


# ---------------------------------------------------------------------------- dates

_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0}
_CN_NUMBER = "〇零○一二三四五六七八九十"
_DATE = re.compile(
    rf"(?P<y>(?:19|20)\d\d|[{_CN_NUMBER}]{{4}})\s*(?:年\s*(?P<m>\d{{1,2}}|[{_CN_NUMBER}]{{1,3}})\s*月"
    rf"(?:\s*(?P<d>\d{{1,2}}|[{_CN_NUMBER}]{{1,3}})\s*[日号])?"
    r"|(?P<sep>[-/.])(?P<m2>\d{1,2})(?:(?P=sep)(?P<d2>\d{1,2}))?(?!\d))"
)
#: A line that runs on as prose ("2024年8月7日，6号线开通。") dates an event, not the document.
_PROSE = re.compile(r"[，,。；;！!？?]")


def date_in_text(text: str) -> str:
    """The date a document gives itself on a line of its own near its top or end, as
    ``YYYY-MM-DD`` or ``YYYY-MM``: a publication line ("发布日期：2024年8月7日") or the date
    under a notice's signature (落款, "二〇二四年八月七日"); "" when there is none."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    n = config.DOCUMENT_DATE_LINES
    for line in lines[:n] + lines[-n:][::-1]:
        if len(line) > config.DOCUMENT_DATE_LINE_CHARS or _PROSE.search(line):
            continue
        for m in _DATE.finditer(line):
            date = _iso_date(m.group("y"), m.group("m") or m.group("m2"), m.group("d") or m.group("d2"))
            if date:
                return date
    return ""


def _iso_date(year: str, month: str | None, day: str | None) -> str:
    """``YYYY-MM[-DD]`` from Arabic or Chinese numerals; "" unless it is a real calendar date."""
    if month is None:
        return ""
    try:
        y, m = _number(year, positional=True), _number(month)
        d = _number(day) if day else 1
        datetime.date(y, m, d)
    except (ValueError, KeyError):
        return ""
    return f"{y:04d}-{m:02d}" + (f"-{d:02d}" if day else "")


def _number(text: str, positional: bool = False) -> int:
    """``2024``, ``二〇二四`` (digit by digit) or ``二十三`` (with tens) as an int."""
    if text.isascii():
        return int(text)
    if positional:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    if "十" not in text:
        if len(text) != 1:
            raise ValueError(f"not a number: {text}")
        return _CN_DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


# ----------------------------------------------------------------------- catalogue

CATALOGUE_NAME = "catalogue.toml"
_CATALOGUE_KEYS = ("title", "source", "date", "questions")
_CATALOGUE_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


class CorpusError(ValueError):
    """The corpus as a whole cannot be read (missing folder, bad catalogue): nothing is built."""


class CatalogueError(CorpusError):
    """``corpus/catalogue.toml`` is malformed; the message names the entry and the fix."""


@dataclass(frozen=True)
class CatalogueEntry:
    """What staff state about one file; ``None`` leaves that field to the file itself."""

    title: str | None = None
    source: str | None = None
    date: str | None = None
    questions: tuple[str, ...] | None = None


def load_catalogue(corpus_dir: Path) -> dict[str, CatalogueEntry]:
    """The entries of ``corpus_dir/catalogue.toml`` by file name (relative, ``/``-separated);
    empty without one. Raises ``CatalogueError`` for a name that leaves the corpus or names
    no file, a key it does not know, or a date not written ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
    """
    corpus_dir = Path(corpus_dir)
    path = corpus_dir / CATALOGUE_NAME
    if not path.exists() and not path.is_symlink():
        return {}
    if not path.resolve().is_relative_to(corpus_dir.resolve()):
        raise CatalogueError(f"{CATALOGUE_NAME} is a link to outside the corpus ({path.resolve()})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{CATALOGUE_NAME} cannot be read: {exc}") from exc
    return parse_catalogue(corpus_dir, text)


def parse_catalogue(corpus_dir: Path, text: str) -> dict[str, CatalogueEntry]:
    """``load_catalogue`` of this text (the staff console checks what it is about to write)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{CATALOGUE_NAME} cannot be read: {exc}") from exc
    return {name: _catalogue_entry(Path(corpus_dir), name, fields) for name, fields in raw.items()}


def _catalogue_entry(corpus_dir: Path, name: str, fields: object) -> CatalogueEntry:
    def fail(problem: str) -> CatalogueError:
        return CatalogueError(f"{CATALOGUE_NAME}, entry [{json.dumps(name, ensure_ascii=False)}]: {problem}")

    parts = name.split("/")
    if name.startswith("/") or "\\" in name or re.match(r"[A-Za-z]:", name) or {"", ".", ".."} & set(parts):
        raise fail("a file name relative to the corpus folder, with '/' between folders, and no '..'")
    if not (corpus_dir / name).is_file():
        raise fail(f"no such file in {corpus_dir}")
    if not isinstance(fields, dict):
        raise fail('expected a table of keys, e.g. title = "…"')
    unknown = sorted(set(fields) - set(_CATALOGUE_KEYS))
    if unknown:
        raise fail(f"unknown key {', '.join(map(repr, unknown))} (known: {', '.join(_CATALOGUE_KEYS)})")
    for key in ("title", "source"):
        if key in fields and not isinstance(fields[key], str):
            raise fail(f"{key} must be text in quotes")
    date = fields.get("date")
    if isinstance(date, datetime.date) and not isinstance(date, datetime.datetime):
        date = date.isoformat()  # TOML's own date literal: date = 2024-08-07
    if date is not None and not (isinstance(date, str) and _valid_date(date)):
        raise fail(f'date {date!r} must be written "YYYY", "YYYY-MM" or "YYYY-MM-DD" and exist')
    questions = fields.get("questions")
    if questions is not None and not (
        isinstance(questions, list) and all(isinstance(q, str) and q.strip() for q in questions)
    ):
        raise fail('questions must be a list of questions in quotes: questions = ["…", "…"]')
    return CatalogueEntry(
        title=fields.get("title") or None,
        source=fields.get("source") or None,
        date=date,
        questions=None if questions is None else tuple(q.strip() for q in questions),
    )


def _valid_date(text: str) -> bool:
    if not _CATALOGUE_DATE.fullmatch(text):
        return False
    year, month, day = (text.split("-") + ["01", "01"])[:3]
    try:
        datetime.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def source_hash(data: bytes, entry: CatalogueEntry) -> str:
    """What a document was read from: the file's bytes and, if staff wrote one, its catalogue
    entry. Changing either marks the document changed (``reindex --check``, the index cache)."""
    h = hashlib.sha256(data)
    if entry != CatalogueEntry():
        h.update(b"\0catalogue\0" + json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()


def existing_corpus(corpus_dir: Path | str) -> Path:
    """``corpus_dir`` as a Path; ``CorpusError`` (one clear line) if it is no folder."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus_dir}")
    return corpus_dir


def corpus_files(corpus_dir: Path) -> tuple[list[Path], list[SkippedFile]]:
    """All candidate files, sorted so that builds are reproducible, and the links refused.

    Hidden files are ignored. A symbolic link is followed only when it resolves inside the
    corpus (the corpus folder may itself be a link): ``corpus/x.md -> /etc/passwd`` would
    otherwise be indexed, quoted to residents and committed with the index. A folder link
    back to one of its own ancestors is a loop and is skipped rather than walked forever.
    """
    corpus_dir = existing_corpus(corpus_dir)
    root = corpus_dir.resolve()
    files: list[Path] = []
    skipped: list[SkippedFile] = []

    def walk(folder: Path, ancestors: frozenset[Path]) -> None:
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or (folder == corpus_dir and path.name == CATALOGUE_NAME):
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


#: ``reuse(path, doc_id, source_hash)``: a ``Document`` already read from these exact bytes and
#: catalogue entry (see ``source_hash``).
Reuse = Callable[[Path, str, str], "Document | None"]


def load_corpus(
    corpus_dir: Path | None = None, reuse: Reuse | None = None
) -> tuple[list[Document], list[SkippedFile]]:
    """Every readable document, plus every skipped file with its reason.

    A bad file never stops the build: staff get its name and the reason instead. A bad
    catalogue does (``CatalogueError``): titles and dates staff set must not quietly vanish.
    Exact duplicates (same normalised text) are kept once, under the first name.
    ``reuse`` lets a reindex skip parsing files whose bytes it has seen before (at 1,000
    documents, parsing is most of an incremental build's reading time).
    """
    corpus_dir = Path(corpus_dir or config.corpus_dir())
    documents: list[Document] = []
    seen: dict[str, str] = {}
    ids: set[str] = set()
    paths, skipped = corpus_files(corpus_dir)
    catalogue = load_catalogue(corpus_dir)
    for path in paths:
        if path.suffix.lower() not in _READERS:
            skipped.append(SkippedFile(path, f"unsupported file type {path.suffix or '(none)'}"))
            continue
        doc_id = doc_id_for(path, corpus_dir)
        if doc_id in ids:  # notice.docx beside notice.pdf: the later one keeps its suffix
            doc_id = path.relative_to(corpus_dir).as_posix()
        entry = catalogue.get(path.relative_to(corpus_dir).as_posix(), CatalogueEntry())
        try:
            data = _read_bytes(path)
            doc = reuse and reuse(path, doc_id, source_hash(data, entry))
            doc = doc or read_document(path, doc_id, data, entry)
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
