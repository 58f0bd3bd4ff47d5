"""Scoring: the learned models' view of the candidates and of the answer.

The sentence model ranks candidates by the probability that they hold the answer; the
answer model gives the chosen quote a calibrated probability of answering, which is
``Answer.confidence`` and decides, against the trained threshold, whether to refuse.
"""

from __future__ import annotations

import numpy as np

from .. import config
from ..retrieval import Retriever
from .evidence import Candidate
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


def passage_similarity(q: Question, topic: list[str], best: Candidate, retriever: Retriever) -> float:
    """Similarity of the question and the best sentence's passage; for an English question
    also of its Chinese terms, as cross-language similarity runs lower than within Chinese."""
    dense = best.passage.dense
    if q.english and topic:
        pair = retriever.encoder.encode([" ".join(topic), best.passage.text])
        dense = max(dense, float(pair[0] @ pair[1]))
    return dense
