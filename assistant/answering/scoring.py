"""Scoring: how well each candidate sentence answers, and the answer's confidence."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Retriever
from .evidence import Candidate, Coverage, fact_pattern, indexed_words, term_credits
from .question import Question
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
    settings = config.ANSWERING
    qv = retriever.encoder.encode([normalise_query_text(query)])[0]
    # Candidate text as questions are matched: cut from each document normalised once
    # (converting Traditional sentences one by one cost ~40 % of an answer on DRCD).
    texts = [vocab.normalised(c.passage.doc_id, c.start, c.end) for c in cands]
    sv = retriever.encoder.encode(texts)
    dense = np.clip(sv @ qv, 0, 1)
    # Words carried over from the previous question weigh half as much as the new ones
    # together: they locate the topic, the new question says what is asked about it.
    weights = {t: vocab.weight(t) for t in terms}
    carried = {t: vocab.weight(t) for t in context_terms if t not in weights}
    if carried:
        scale = settings.carried_share * (sum(weights.values()) or 1.0) / sum(carried.values())
        weights |= {t: w * min(1.0, scale) for t, w in carried.items()}
    total = sum(weights.values()) or 1.0
    wanted = fact_pattern(query, kind)
    for c, text, d in zip(cands, texts, dense):
        own = term_credits(list(weights), text, retriever.encoder, vocab, words=indexed_words(c, retriever))
        before_start = max(c.passage.start, c.start - settings.before_chars)
        before = vocab.normalised(c.passage.doc_id, before_start, c.start)
        prev = term_credits([t for t in weights if own.get(t, 0) < 1], before, retriever.encoder, vocab)
        lexical = (
            sum(
                w * max(own.get(t, 0.0), settings.before_credit * prev.get(t, 0.0))
                for t, w in weights.items()
            )
            / total
        )
        fact = 1.0 if wanted is None or wanted.search(c.text) else 0.0
        w_lex, w_dense, w_fact, w_retrieval = settings.score_weights
        score = w_lex * lexical + w_dense * float(d) + w_fact * fact + w_retrieval * c.passage.score
        # A fragment ("徐楠楠说。") repeats a name but tells nothing: prefer whole statements.
        c.score = score * min(1.0, 0.5 + len(c.text) / (2 * config.ANSWERING.min_quote_chars))


def choose_quotes(cands: list[Candidate]) -> list[Candidate]:
    """The sentences to quote, in document order: the best, and those scoring nearly as well."""
    chosen = cands[:1]
    for c in cands[1:]:
        if (
            len(chosen) >= config.ANSWERING.max_quotes
            or c.score < config.ANSWERING.second_quote_ratio * chosen[0].score
        ):
            break
        chosen.append(c)
    return sorted(chosen, key=lambda c: (c.passage.doc_id, c.start))


def combine_confidence(coverage: float, dense: float, sentence: float) -> float:
    """One number in [0, 1]: mostly term coverage, tempered by semantic similarity."""
    w_cov, w_dense, w_sentence = config.ANSWERING.confidence_weights
    return max(0.0, min(1.0, w_cov * coverage + w_dense * dense + w_sentence * min(1.0, sentence)))


def answer_confidence(
    q: Question, topic: list[str], best: Candidate, cov: Coverage, retriever: Retriever
) -> float:
    """The best sentence's confidence from the question's coverage, its similarity and score."""
    if not q.terms:
        return 0.0
    dense = best.passage.dense
    if q.english and topic:
        # Cross-language similarity runs lower than within Chinese; compare in Chinese too.
        pair = retriever.encoder.encode([" ".join(topic), best.passage.text])
        dense = max(dense, float(pair[0] @ pair[1]))
    return combine_confidence(cov.ratio, dense, best.score)
