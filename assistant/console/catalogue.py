"""Writing ``corpus/catalogue.toml``: the title, source, date and questions staff set per file.

``corpus.load_catalogue`` reads and checks the file; Python cannot write TOML, and the file
holds only strings and lists of strings, so this module writes that small subset itself:
every value a TOML basic string, escaped as the TOML spec requires. A change loads the
catalogue, replaces one entry, checks the new text exactly as a reindex will read it, and
writes it atomically (a reindex never sees half a file). Comments in a hand-edited
catalogue are not kept.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..corpus import CATALOGUE_NAME, CatalogueEntry, load_catalogue, parse_catalogue

_lock = threading.Lock()
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


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


def _fields(entry: CatalogueEntry) -> dict[str, str | tuple[str, ...]]:
    """The fields staff set (empty ones leave the file's own value)."""
    values = {"title": entry.title, "source": entry.source, "date": entry.date, "questions": entry.questions}
    return {k: v for k, v in values.items() if v}


def dumps(entries: dict[str, CatalogueEntry]) -> str:
    """The catalogue text: one table per file name, in name order."""
    blocks = []
    for name in sorted(entries):
        lines = [f"[{toml_string(name)}]"]
        for key, value in _fields(entries[name]).items():
            rendered = (
                toml_string(value) if isinstance(value, str) else f"[{', '.join(map(toml_string, value))}]"
            )
            lines.append(f"{key} = {rendered}")
        blocks.append("\n".join(lines))
    header = "# Title, source, date and suggested questions per corpus file (see README, Staff).\n"
    return header + "\n\n".join(blocks) + ("\n" if blocks else "")


def set_entry(corpus_dir: Path, name: str, entry: CatalogueEntry | None) -> None:
    """Replace the entry of ``name`` (``None`` or an empty entry removes it), atomically.

    Raises ``corpus.CatalogueError`` (nothing written) when the result would not load.
    """
    with _lock:
        entries = load_catalogue(corpus_dir)
        if entry is not None and _fields(entry):
            entries[name] = entry
        elif entries.pop(name, None) is None:
            return
        text = dumps(entries)
        parse_catalogue(corpus_dir, text)
        path = Path(corpus_dir) / CATALOGUE_NAME
        tmp = path.with_name(f".{CATALOGUE_NAME}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
