"""Extractive answers: pick source sentences, quote them verbatim, or refuse honestly.

Nothing here writes a fact. Every answer is a template (lead-in, source line) around
whole sentences cut from ``Document.text`` by offset, so a quote can always be
highlighted in its source. The refusal decision rests on two signals that mean the
same on any corpus: how much of the question's specific vocabulary the best passage
covers, and whether the asked-for kind of fact (a number with the asked unit, a
date, a name) is there at all.
"""

from __future__ import annotations

from typing import Sequence

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Retriever, default_retriever
from .decision import Case, decide
from .evidence import (
    Coverage,
    asked_thing_absent,
    candidate_sentences,
    context_of,
    context_text,
    coverage_of,
    quantity_pattern,
    states_asked_fact,
)
from .question import analyse
from .render import quoted, refusal, suggest
from .scoring import answer_confidence, choose_quotes, score_sentences
from .smalltalk import reply as small_talk
from .types import Answer, Turn, clip_history
from .vocabulary import vocabulary


def answer(
    question: str, history: Sequence[Turn] | None = None, retriever: Retriever | None = None
) -> Answer:
    """Answer ``question`` from the sources, or refuse and say what they do not cover.

    Small talk gets a reply of its own. Raises ``QuestionError`` for an empty question; of
    an over-long one, the last question is answered and the answer says so.
    """
    history = clip_history(history or ())
    retriever = retriever or default_retriever()
    q = analyse(question, history, retriever)
    if q.talk:
        return small_talk(q.talk, q.shown, retriever)
    terms = list(q.terms)
    vocab = vocabulary(retriever)
    passages = retriever.search(q.query, k=config.ANSWERING.passages)

    retrieved = candidate_sentences(passages, retriever) if passages else []
    # Only a sentence whose context writes every name of the question can be about it: a
    # look-alike article about another city holds the same kinds of fact.
    contexts = [context_of(c, retriever, vocab) for c in retrieved]
    eligible = [(c, ctx) for c, ctx in zip(retrieved, contexts) if all(ctx.writes(n) for n in q.names)]
    cands = [c for c, _ in eligible]
    # A word every eligible document writes in its title (数字青岛, 齿河盗龙) only says which
    # article: rank and measure coverage by the rest, or the opening sentence, which names
    # the article's subject, wins every question, and the title covers any question about it.
    titles = {ctx.title for _, ctx in eligible}
    located = {t for t in terms if titles and all(t in title for title in titles)}
    topic = [t for t in terms if t not in located] or terms
    if cands:
        score_sentences(cands, q.query, topic, q.kind, retriever, q.carried)
        cands.sort(key=lambda c: -c.score)
    best = cands[0] if cands else None

    # Coverage of the question's words by the best sentence's surroundings, heading and title.
    if best is not None:
        heading = f"{vocab.title(best.passage.doc_id)} {normalise_query_text(best.passage.section)}"
        context = f"{heading} {context_text(best, retriever, vocab)}"
        cov = coverage_of(topic, context, retriever.encoder, vocab)
    else:
        context, cov = "", Coverage(0.0, terms)
    focus_absent = best is not None and asked_thing_absent(q, cov, context, retriever, vocab)
    chosen = choose_quotes(cands)
    unit_ok = q.unit is None or any(quantity_pattern(q.unit).search(c.text) for c in chosen)
    fact_ok = states_asked_fact(q, chosen, cands)
    confidence = answer_confidence(q, topic, best, cov, retriever) if best is not None else 0.0
    case = Case(
        question=q,
        retrieved=bool(retrieved),
        eligible=bool(cands),
        names_unwritten=tuple(n for n in q.names if not any(ctx.writes(n) for ctx in contexts)),
        places_unknown=tuple(t for t in terms if vocab.is_place(t) and not vocab.mentions(t)),
        names_unknown=tuple(t for t in terms if vocab.is_unknown_name(t) and not vocab.mentions(t)),
        focus_absent=focus_absent,
        unit_ok=unit_ok,
        fact_ok=fact_ok,
        confidence=confidence,
        uncovered=tuple(cov.missing),
    )
    reasons, missing_terms = decide(case)
    if set(reasons) - {"low_confidence"}:
        confidence = min(confidence, config.ANSWERING.refuse_below / 2)

    if reasons:
        missing = tuple(dict.fromkeys(q.labels.get(t, t) for t in missing_terms))
        return refusal(q, missing, suggest(retriever, passages), confidence, reasons, retriever.version)
    return quoted(q, chosen, confidence, retriever.version)
