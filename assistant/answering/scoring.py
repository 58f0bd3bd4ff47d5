"""Scoring: the learned models' view of the candidates and of the answer.

The sentence model ranks candidates by the probability that they hold the answer; the
answer model gives the chosen quote a calibrated probability of answering, which is
``Answer.confidence`` and decides, against the trained threshold, whether to refuse.
"""

from __future__ import annotations

import numpy as np

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Retriever
from .dates import parse_doc_date
from .evidence import Candidate, fact_pattern, quantities
from .model import AnswerModel
from .question import Question


def rank(cands: list[Candidate], x: np.ndarray, model: AnswerModel) -> np.ndarray:
    """Set each candidate's ``score`` to the sentence model's probability; return the order, best first.

    A stable sort keeps document order among equals, so ties are broken the same way every run."""
    probs = model.sentence.probability(x) if len(cands) else np.zeros(0)
    for c, p in zip(cands, probs):
        c.score = float(p)
    return np.argsort(-probs, kind="stable")


def choose_quotes(ranked: list[Candidate]) -> list[Candidate]:
    """The sentences to quote, in document order: the best, and those nearly as likely."""
    chosen = ranked[:1]
    for c in ranked[1:]:
        if (
            len(chosen) >= config.ANSWERING.max_quotes
            or c.score < config.ANSWERING.second_quote_ratio * chosen[0].score
        ):
            break
        chosen.append(c)
    return sorted(chosen, key=lambda c: (c.passage.doc_id, c.start))


def newest_first(
    q: Question, ranked: list[Candidate], topic: list[str]
) -> tuple[list[Candidate], Candidate | None]:
    """``ranked`` led by the newest document's statement of the asked fact, and the older
    statement to name beside it (None when no source disagrees).

    Two sentences from different documents disagree when both state the asked kind of fact
    (an amount, a date, a time, a district: a kind with values to compare), write the same
    question words (so speak of the same subject), score at least ``rival_ratio`` of the best
    and give different values: the 5G rate of one city in a 2023 and a 2025 article. The newer
    document leads; an undated one counts as older than any dated one, and documents of the
    same date are not ordered. The other disagreeing sentences are not quoted beside the lead;
    the latest of the older ones is named. Only the order changes: every later step (confidence included)
    then reads the sentence actually shown.
    """
    if not ranked or not topic:
        return ranked, None
    best = ranked[0]
    words, values = _written(best, topic), _values(q, best)
    if not words or not values:
        return ranked, None
    group = [best] + [
        c
        for c in ranked[1:]
        if c.passage.doc_id != best.passage.doc_id
        and c.score >= config.ANSWERING.rival_ratio * best.score
        and _written(c, topic) == words
        and (other := _values(q, c))
        and other != values
    ]
    lead = max(group, key=_date_key)  # the first of the newest: the best among equals
    older = [c for c in group if _date_key(c) < _date_key(lead)]
    if not older:
        return ranked, None
    # The latest of the older values is named; none of them is quoted beside the lead.
    shown = {id(c) for c in group}
    return [lead] + [c for c in ranked if id(c) not in shown], max(older, key=_date_key)


def _written(c: Candidate, topic: list[str]) -> frozenset[str]:
    sentence = normalise_query_text(c.text)
    return frozenset(t for t in topic if t in sentence)


def _values(q: Question, c: Candidate) -> frozenset[str]:
    """The values of the asked kind of fact a sentence states ("95.15", "2024年", "4月")."""
    if q.kind == "number":
        return frozenset(quantities(c.text, q.query))
    pattern = fact_pattern(q.text, q.kind) if q.kind in ("date", "time", "where") else None
    return frozenset(m.group() for m in pattern.finditer(c.text)) if pattern else frozenset()


def _date_key(c: Candidate) -> tuple[int, int, int]:
    """A document's date for ordering: undated first, a year before its months."""
    date = parse_doc_date(c.passage.date)
    return (date.year, date.month or 0, date.day or 0) if date else (0, 0, 0)


def passage_similarity(q: Question, topic: list[str], best: Candidate, retriever: Retriever) -> float:
    """Similarity of the question and the best sentence's passage; for an English question
    also of its Chinese terms, as cross-language similarity runs lower than within Chinese."""
    dense = best.passage.dense
    if q.english and topic:
        pair = retriever.encoder.encode([" ".join(topic), best.passage.text])
        dense = max(dense, float(pair[0] @ pair[1]))
    return dense
