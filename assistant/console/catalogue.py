"""Writing ``corpus/catalogue.toml``: the title, source, date and questions staff set per file.

Python reads TOML (``tomllib``) but cannot write it, and the file holds only strings and
lists of strings, so this module writes that small subset itself: every value a TOML
basic string, escaped as the TOML spec requires. Each change reads the file, replaces one
entry and writes the whole file atomically (a reindex never sees half a file). Comments
in a hand-edited catalogue are not kept.
"""

from __future__ import annotations

import os
import re
import threading
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

CATALOGUE_NAME = "catalogue.toml"
FIELDS = ("title", "source", "date", "questions")

_lock = threading.Lock()
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


class CatalogueError(ValueError):
    """A catalogue entry staff asked for that cannot be written; the message says why."""


@dataclass(frozen=True)
class Entry:
    title: str = ""
    source: str = ""
    date: str = ""
    questions: tuple[str, ...] = ()

    def as_table(self) -> dict[str, str | list[str]]:
        """The non-empty fields, as they appear in the file."""
        table: dict[str, str | list[str]] = {k: getattr(self, k) for k in FIELDS[:3] if getattr(self, k)}
        if self.questions:
            table["questions"] = list(self.questions)
        return table


def check_date(value: str) -> str:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` naming a real day, else ``CatalogueError``."""
    m = _DATE.fullmatch(value)
    try:
        if not m:
            raise ValueError
        date(int(m[1]), int(m[2] or 1), int(m[3] or 1))
    except ValueError:
        raise CatalogueError(f"日期 {value!r} 应写成 2024、2024-08 或 2024-08-07") from None
    return value


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dumps(entries: dict[str, dict[str, str | list[str]]]) -> str:
    """The catalogue text: one table per file name, in name order."""
    blocks = []
    for name in sorted(entries):
        lines = [f"[{toml_string(name)}]"]
        for key, value in entries[name].items():
            if isinstance(value, list):
                rendered = "[" + ", ".join(toml_string(str(v)) for v in value) + "]"
            else:
                rendered = toml_string(str(value))
            lines.append(f"{key} = {rendered}")
        blocks.append("\n".join(lines))
    header = "# Title, source, date and suggested questions per corpus file (see README, Staff).\n"
    return header + "\n\n".join(blocks) + ("\n" if blocks else "")


def read_tables(corpus_dir: Path) -> dict[str, dict]:
    """The file's tables as written (empty when there is no catalogue)."""
    path = Path(corpus_dir) / CATALOGUE_NAME
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{path} 无法读取（{exc}），请先修正该文件") from exc


def set_entry(corpus_dir: Path, name: str, entry: Entry | None) -> None:
    """Replace the entry of ``name`` (``None`` or an empty entry removes it), atomically."""
    if entry and entry.date:
        check_date(entry.date)
    with _lock:
        tables = read_tables(corpus_dir)
        table = entry.as_table() if entry else {}
        if table:
            tables[name] = table
        elif tables.pop(name, None) is None:
            return
        path = Path(corpus_dir) / CATALOGUE_NAME
        tmp = path.with_name(f".{CATALOGUE_NAME}.{os.getpid()}.tmp")
        tmp.write_text(dumps(tables), encoding="utf-8")
        os.replace(tmp, path)
