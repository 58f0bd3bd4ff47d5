"""The decision to answer or refuse, as small named units.

Each unit looks at one ``Case`` and, when it fires, names the resident's words the
sources lack (possibly none). Their names travel with the answer (``Answer.reasons``),
into the unanswered-question log and ``assistant eval``, so anyone can tell afterwards
why a question was refused. Units are registered in order with ``@unit``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from .question import Question


@dataclass(frozen=True)
class Case:
    """What the decision sees about one question."""

    question: Question
    retrieved: bool  # retrieval found some sentence at all
    eligible: bool  # some sentence's context writes every name the question gives
    names_unwritten: tuple[str, ...]  # names no retrieved sentence's context writes
    places_unknown: tuple[str, ...]  # places no source mentions anywhere (深圳 in a 青岛 corpus)
    names_unknown: tuple[str, ...]  # likely names (words no dictionary knows) that no source writes
    focus_absent: bool  # the thing asked about is neither written nor a close synonym near the quote
    unit_ok: bool  # the asked measure (公里, 元) is in a quote
    fact_ok: bool  # the asked kind of fact (an amount, a date, a time, a district, a list) is there
    confidence: float  # the answer model's probability that the quote answers
    threshold: float  # below it the trained objective refuses
    uncovered: tuple[str, ...]  # question terms the best sentence's context does not write (nor a synonym)

    def with_confidence(self, confidence: float) -> Case:
        return replace(self, confidence=confidence)


Unit = Callable[[Case], "tuple[str, ...] | None"]
UNITS: list[tuple[str, Unit]] = []


def unit(fn: Unit) -> Unit:
    """Register a refusal unit under its function name."""
    UNITS.append((fn.__name__, fn))
    return fn


@unit
def no_evidence(case: Case) -> tuple[str, ...] | None:
    """Retrieval found no sentence at all."""
    return case.question.terms if not case.retrieved else None


@unit
def place_not_in_sources(case: Case) -> tuple[str, ...] | None:
    """The question names a place no source mentions (深圳, 烟台 in a corpus about 青岛)."""
    return case.places_unknown or None


@unit
def word_not_in_sources(case: Case) -> tuple[str, ...] | None:
    """A word of three or more characters that general Chinese does not know, so most likely a
    name (唐爱陆, 齿河盗龙, 佩特鲁齐), and that no source writes: the sources are about something else."""
    return case.names_unknown or None


@unit
def name_not_in_sources(case: Case) -> tuple[str, ...] | None:
    """A name in pinyin ("Chengdu") that no source writes."""
    return case.question.unwritten or None


@unit
def name_not_in_context(case: Case) -> tuple[str, ...] | None:
    """The question names a place, title, year, phase or line (青岛, 《…》, 2025年, 6号线)
    that no retrieved sentence's context writes: the sentences are about something else.
    Another city's article can hold the same kind of fact; it does not answer."""
    if not case.retrieved or case.eligible:
        return None
    return case.names_unwritten or case.question.names


@unit
def focus_absent(case: Case) -> tuple[str, ...] | None:
    """The thing asked about ("局长", "票价") is written nowhere in the sources, and no close
    synonym stands near the quote."""
    return (case.question.focus,) if case.eligible and case.focus_absent and case.question.focus else None


@unit
def unit_missing(case: Case) -> tuple[str, ...] | None:
    """A measure was asked for (公里, 元) and no quote states an amount in it."""
    return (case.question.unit,) if case.eligible and not case.unit_ok and case.question.unit else None


@unit
def fact_missing(case: Case) -> tuple[str, ...] | None:
    """A how-many, when, what-time, which-district or which-ones question, and the quotes
    state no new amount, no date, no time of day, no district, no enumeration."""
    return () if case.eligible and not case.fact_ok else None


@unit
def low_confidence(case: Case) -> tuple[str, ...] | None:
    """The answer model's probability that the quote answers is below the trained threshold."""
    return case.uncovered if case.eligible and case.confidence < case.threshold else None


def decide(case: Case) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the units that fired, and the missing terms they name (deduplicated)."""
    reasons: list[str] = []
    missing: list[str] = []
    for name, fn in UNITS:
        found = fn(case)
        if found is not None:
            reasons.append(name)
            missing += [t for t in found if t not in missing]
    return tuple(reasons), tuple(missing)
