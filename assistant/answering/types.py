"""The values answering hands out: a conversation turn, a citation, an answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence, get_args

from .. import config


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation, oldest first in a history."""

    question: str
    answer: str


def clip_history(turns: Sequence[Turn]) -> list[Turn]:
    """The last ``MAX_HISTORY_TURNS`` turns, each side cut to ``MAX_HISTORY_ENTRY_CHARS``.

    Only the latest turns can shape a follow-up, and a request must cost the same however
    much history it carries: one megabyte of earlier "questions" once stalled every answer.
    """
    limit = config.MAX_HISTORY_ENTRY_CHARS
    return [Turn(t.question[:limit], t.answer[:limit]) for t in list(turns)[-config.MAX_HISTORY_TURNS :]]


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    date: str
    source: str
    quote: str
    passage: str
    start: int  # offsets of ``quote`` in the normalised document text
    end: int
    passage_start: int
    passage_end: int


@dataclass(frozen=True)
class ShortAnswer:
    """The fact itself: the shortest verbatim span of one quote that answers (a number with its
    unit, a date, a person, a name in 《》, a list…), shown first, the quote as its proof."""

    text: str  # equals the normalised document text at [start, end)
    citation_n: int  # the quote (``Citation.n``) it lies in
    start: int  # offsets into the normalised document text, like ``Citation.start``
    end: int
    confidence: float  # calibrated probability that the span is the answer
    derived: str | None = None  # a relative date resolved against the document's date ("2024年4月")
    #: Words of the question shown before it, with their separator ("行政村5G覆盖率："); "" for none.
    frame: str = ""

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citation_n": self.citation_n,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "derived": self.derived,
            "frame": self.frame,
        }


#: What a reply is: sentences quoted from the sources, a refusal, or small talk (a greeting,
#: thanks, a goodbye or a call for help, answered without the sources: ``smalltalk.py``).
AnswerKind = Literal["answer", "refusal", "smalltalk"]


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    confidence: float
    truncated: bool = False
    missing_terms: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    index_version: str = ""
    #: Names of the refusal units that fired (``decision.py``); empty for an answer.
    reasons: tuple[str, ...] = ()
    #: Left out, it follows ``refused``: "refusal" or "answer".
    kind: AnswerKind = None  # type: ignore[assignment]
    #: The fact first (issue 14); None for a refusal, small talk, an explanation or no clear span.
    short_answer: ShortAnswer | None = None
    #: The citation (``Citation.n``) quoting an older document that gave the same fact another
    #: value; the answer leads with the newer one (issue 14). None when no source disagrees.
    earlier: int | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(self, "kind", "refusal" if self.refused else "answer")
        elif self.kind not in get_args(AnswerKind):
            raise ValueError(f"Answer.kind must be one of {get_args(AnswerKind)}, got {self.kind!r}")

    def to_dict(self) -> dict:
        """The JSON shape shared by ``assistant ask --json`` and the web API."""
        return {
            "question": self.question,
            "text": self.text,
            "kind": self.kind,
            "refused": self.refused,
            "confidence": self.confidence,
            "truncated": self.truncated,
            "missing_terms": list(self.missing_terms),
            "suggestions": list(self.suggestions),
            "reasons": list(self.reasons),
            "short_answer": self.short_answer.to_dict() if self.short_answer else None,
            "earlier": self.earlier,
            "citations": [
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "section": c.section,
                    "date": c.date,
                    "source": c.source,
                    "quote": c.quote,
                    "passage": c.passage,
                    "start": c.start,
                    "end": c.end,
                }
                for c in self.citations
            ],
        }
