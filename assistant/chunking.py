"""Split documents into sentence-aligned chunks that remember where they came from.

Chunks never cross a heading (a hit then names one section) and are cut at sentence
ends; only a single sentence longer than the limit is cut inside, at a clause mark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import config
from .corpus import Document

_CLOSERS = "”’」』）)】"
#: Zero-width split points after a sentence end, keeping closing quotes with their sentence.
SENTENCE_END = (
    rf"(?<=[。！？!?…；;])(?![{_CLOSERS}。！？!?…；;])|(?<=[。！？!?…][{_CLOSERS}])(?![{_CLOSERS}])"
)
_SEPARATORS = ["\n\n", "\n", SENTENCE_END, r"(?<=[，,、：:])", ""]


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    section: str
    start: int
    end: int
    text: str


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of ``text``, shifted by ``offset``, blanks dropped."""
    spans = []
    for block in re.finditer(r"[^\n]+", text):
        pos = block.start()
        for piece in re.split(SENTENCE_END, block.group()):
            stripped = piece.strip()
            if stripped:
                lead = len(piece) - len(piece.lstrip())
                spans.append((offset + pos + lead, offset + pos + lead + len(stripped)))
            pos += len(piece)
    return spans


def section_spans(doc: Document) -> list[tuple[int, int]]:
    """Body spans between heading lines; the heading text itself lives in ``section``."""
    bounds = []
    cursor = 0
    for h in doc.headings:
        bounds.append((cursor, h.start))
        line_end = doc.text.find("\n", h.start)
        cursor = len(doc.text) if line_end == -1 else line_end
    bounds.append((cursor, len(doc.text)))
    return [(a, b) for a, b in bounds if doc.text[a:b].strip()]


def chunk_document(
    doc: Document, chunk_size: int | None = None, chunk_overlap: int | None = None
) -> list[Chunk]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    size = chunk_size or config.PIPELINE.chunk_size
    overlap = config.PIPELINE.chunk_overlap if chunk_overlap is None else chunk_overlap
    splitter = RecursiveCharacterTextSplitter(
        separators=_SEPARATORS,
        is_separator_regex=True,
        keep_separator=True,
        chunk_size=size,
        chunk_overlap=overlap,
        strip_whitespace=True,
    )
    chunks = []
    for start, end in section_spans(doc):
        body = doc.text[start:end]
        cursor = 0
        for piece in splitter.split_text(body):
            # Pieces are verbatim substrings in order; overlap can move the next start back.
            at = body.find(piece, max(0, cursor - overlap - len(piece)))
            if at == -1:  # pragma: no cover - would mean the splitter altered the text
                raise RuntimeError(f"chunk not found verbatim in {doc.doc_id}")
            cursor = at + len(piece)
            chunks.append(
                Chunk(
                    doc_id=doc.doc_id,
                    section=doc.section_at(start + at),
                    start=start + at,
                    end=start + at + len(piece),
                    text=piece,
                )
            )
    return chunks
