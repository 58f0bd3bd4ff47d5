"""Scoring: how well each candidate sentence answers, and the answer's confidence."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Retriever
from .evidence import Candidate, fact_pattern, term_credits
from .vocabulary import vocabulary


def score_sentences(
    cands: list[Candidate],
    query: str,
    terms: list[str],
    kind: str,
    retriever: Retriever,
    context_terms: Sequence[str] = (),
) -> None:
    """Score = term coverage (the sentence, plus half credit from the one before it, which
    often holds the subject), semantic similarity, the asked-for kind of fact, and the
    passage's own retrieval score."""
    vocab = vocabulary(retriever)
    qv = retriever.encoder.encode([normalise_query_text(query)])[0]
    sv = retriever.encoder.encode([normalise_query_text(c.text) for c in cands])
    dense = np.clip(sv @ qv, 0, 1)
    # Words carried over from the previous question weigh half as much as the new ones
    # together: they locate the topic, the new question says what is asked about it.
    weights = {t: vocab.weight(t) for t in terms}
    carried = {t: vocab.weight(t) for t in context_terms if t not in weights}
    if carried:
        scale = 0.5 * (sum(weights.values()) or 1.0) / sum(carried.values())
        weights |= {t: w * min(1.0, scale) for t, w in carried.items()}
    total = sum(weights.values()) or 1.0
    wanted = fact_pattern(query, kind)
    for c, d in zip(cands, dense):
        own = term_credits(list(weights), c.text, retriever.encoder, vocab)
        doc_text = retriever.documents[c.passage.doc_id].text
        before = doc_text[max(c.passage.start, c.start - config.BEFORE_CHARS) : c.start]
        prev = term_credits([t for t in weights if own.get(t, 0) < 1], before, retriever.encoder, vocab)
        lexical = sum(w * max(own.get(t, 0.0), 0.5 * prev.get(t, 0.0)) for t, w in weights.items()) / total
        fact = 1.0 if wanted is None or wanted.search(c.text) else 0.0
        score = 0.45 * lexical + 0.3 * float(d) + 0.15 * fact + 0.1 * c.passage.score
        # A fragment ("徐楠楠说。") repeats a name but tells nothing: prefer whole statements.
        c.score = score * min(1.0, 0.5 + len(c.text) / (2 * config.MIN_QUOTE_CHARS))


def choose_quotes(cands: list[Candidate]) -> list[Candidate]:
    """The sentences to quote, in document order: the best, and those scoring nearly as well."""
    chosen = cands[:1]
    for c in cands[1:]:
        if len(chosen) >= config.MAX_QUOTES or c.score < config.SECOND_QUOTE_RATIO * chosen[0].score:
            break
        chosen.append(c)
    return sorted(chosen, key=lambda c: (c.passage.doc_id, c.start))


def combine_confidence(coverage: float, dense: float, sentence: float) -> float:
    """One number in [0, 1]: mostly term coverage, tempered by semantic similarity."""
    return max(0.0, min(1.0, 0.6 * coverage + 0.25 * dense + 0.15 * min(1.0, sentence)))
