"""What residents asked in vain, grouped by the terms the sources lack, and how they voted.

Refused questions sharing the same missing terms ask for the same missing article, so
staff read one group, not fifty rows. Groups and questions are newest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..feedback import FeedbackStore


@dataclass(frozen=True)
class AskedQuestion:
    question: str
    times: int
    last: str  # ISO time of the newest asking
    channels: tuple[str, ...]


@dataclass(frozen=True)
class QuestionGroup:
    terms: tuple[str, ...]  # empty: the answer was refused for another reason
    count: int
    last: str
    questions: tuple[AskedQuestion, ...]


def question_groups(store: FeedbackStore, query: str = "", channel: str = "") -> list[QuestionGroup]:
    """Refused questions matching ``query`` (in the question or its terms) and ``channel``."""
    by_terms: dict[tuple[str, ...], dict[str, list[dict]]] = {}
    for row in reversed(store.unanswered()):  # newest first: dicts keep first-seen order
        terms = tuple(sorted(set(json.loads(row["missing_terms"] or "[]"))))
        if channel and row["channel"] != channel:
            continue
        if query and query not in row["question"] and not any(query in t for t in terms):
            continue
        by_terms.setdefault(terms, {}).setdefault(row["question"], []).append(row)
    groups = []
    for terms, questions in by_terms.items():
        asked = [
            AskedQuestion(
                q,
                len(rows),
                rows[0]["time"],
                tuple(sorted({r["channel"] for r in rows})),
            )
            for q, rows in questions.items()
        ]
        groups.append(QuestionGroup(terms, sum(a.times for a in asked), asked[0].last, tuple(asked)))
    return groups


def recent_votes(store: FeedbackStore, query: str = "", vote: str = "") -> list[dict]:
    """Votes, newest first, matching ``query`` in the question or answer and ``vote`` (up/down)."""
    rows = [
        v
        for v in store.votes()
        if (not vote or v["vote"] == vote) and (not query or query in v["question"] or query in v["answer"])
    ]
    return sorted(rows, key=lambda v: (v["time"], v["id"]), reverse=True)
