"""Extractive answers: pick source sentences, quote them verbatim, or refuse honestly.

Nothing here writes a fact. Every answer is a template (lead-in, source line) around
whole sentences cut from ``Document.text`` by offset, so a quote can always be
highlighted in its source. Which sentence is quoted and whether to answer at all come
from the trained models (``model.py``), over features that mean the same on any corpus
(``features.py``); named units (``decision.py``) refuse what the sources cannot answer
whatever the models say, such as a question naming a place no source writes. The fact
itself, a span of the quotes, is picked last (``spans.py``).

``gather`` and ``assess`` are the two halves of ``answer`` that training reuses: the
evidence does not depend on the models, the assessment does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Passage, Retriever, default_retriever
from .decision import Case, decide
from .evidence import (
    Candidate,
    Context,
    Coverage,
    asked_thing_absent,
    candidate_sentences,
    context_of,
    context_text,
    coverage_of,
    quantity_pattern,
    states_asked_fact,
)
from .features import answer_features, sentence_features
from .model import AnswerModel, current_model
from .question import Question, analyse
from .render import named_terms, quoted, refusal, suggest
from .scoring import choose_quotes, newest_first, passage_similarity, rank
from .smalltalk import reply as small_talk
from .spans import short_answer
from .types import Answer, Turn, clip_history
from .vocabulary import vocabulary


@dataclass
class Evidence:
    """Everything about a question that the models do not decide."""

    question: Question
    passages: list[Passage]
    retrieved: list[Candidate]
    contexts: list[Context]
    eligible: list[Candidate]  # those whose context writes every name of the question
    topic: list[str]  # the terms that tell what is asked (a follow-up's carried ones too), not which article
    x: np.ndarray  # SENTENCE_FEATURES of the eligible candidates


@dataclass
class Assessment:
    case: Case  # with confidence still 0: the answer model sets it
    quotes: list[Candidate]
    row: np.ndarray | None  # ANSWER_FEATURES, None without eligible evidence
    earlier: Candidate | None = None  # an older document's other value of the fact (``newest_first``)


def gather(q: Question, retriever: Retriever) -> Evidence:
    vocab = vocabulary(retriever)
    passages = retriever.search(q.query, k=config.ANSWERING.passages)
    retrieved = candidate_sentences(passages, retriever) if passages else []
    # Only a sentence whose context writes every name of the question can be about it: a
    # look-alike article about another city holds the same kinds of fact.
    contexts = [context_of(c, retriever, vocab) for c in retrieved]
    pairs = [
        (c, ctx)
        for c, ctx in zip(retrieved, contexts)
        if all(ctx.writes(n) for n in q.names) and (q.anchor is None or ctx.follows(q.anchor))
    ]
    # A word every eligible document writes in its title (数字青岛, 齿河盗龙) only says which
    # article: rank and measure coverage by the rest, or the opening sentence, which names
    # the article's subject, wins every question, and the title covers any question about it.
    titles = {ctx.title for _, ctx in pairs}
    located = {t for t in q.terms if titles and all(t in title for title in titles)}
    topic = [t for t in q.terms if t not in located] or list(q.terms)
    # A follow-up's carried words (its subject, 程鹏 for 他) count like its own: training
    # questions stand alone, so only as terms do they mean to the model what they mean here.
    topic += [t for t in q.carried if t not in topic and t not in located]
    eligible = [c for c, _ in pairs]
    x = sentence_features(q, eligible, [ctx for _, ctx in pairs], topic, retriever)
    return Evidence(q, passages, retrieved, contexts, eligible, topic, x)


def assess(ev: Evidence, model: AnswerModel, retriever: Retriever) -> Assessment:
    """Rank the eligible sentences, choose the quotes, and describe the case for the decision."""
    q, vocab = ev.question, vocabulary(retriever)
    order = rank(ev.eligible, ev.x, model)
    ranked, earlier = newest_first(q, [ev.eligible[i] for i in order], ev.topic)
    best = ranked[0] if ranked else None
    # Coverage of the question's words by the best sentence's surroundings, heading and title.
    if best is not None:
        heading = f"{vocab.title(best.passage.doc_id)} {normalise_query_text(best.passage.section)}"
        context = f"{heading} {context_text(best, retriever, vocab)}"
        cov = coverage_of(ev.topic, context, retriever.encoder, vocab)
    else:
        context, cov = "", Coverage(0.0, list(q.terms))
    chosen = choose_quotes(ranked)
    row = None
    if best is not None and ev.topic:
        probs = np.array([c.score for c in ranked])
        dense = passage_similarity(q, ev.topic, best, retriever)
        lead = next(i for i, c in enumerate(ev.eligible) if c is best)
        row = answer_features(q, probs, ev.x[lead], cov.ratio, dense)
    case = Case(
        question=q,
        retrieved=bool(ev.retrieved),
        eligible=bool(ev.eligible),
        names_unwritten=tuple(n for n in q.names if not any(ctx.writes(n) for ctx in ev.contexts)),
        places_unknown=tuple(t for t in q.terms if vocab.is_place(t) and not vocab.mentions(t)),
        names_unknown=tuple(t for t in q.terms if vocab.is_unknown_name(t) and not vocab.mentions(t)),
        focus_absent=best is not None and asked_thing_absent(q, cov, context, retriever, vocab),
        unit_ok=q.unit is None or any(quantity_pattern(q.unit).search(c.text) for c in chosen),
        fact_ok=states_asked_fact(q, chosen, ranked),
        confidence=0.0,
        threshold=model.threshold,
        uncovered=tuple(cov.missing + cov.partial),  # a shared character is no mention
    )
    return Assessment(case, chosen, row, earlier)


def answer(
    question: str, history: Sequence[Turn] | None = None, retriever: Retriever | None = None
) -> Answer:
    """Answer ``question`` from the sources, or refuse and say what they do not cover.

    Small talk gets a reply of its own. Raises ``QuestionError`` for an empty question,
    ``ModelError`` when the trained model is missing or was trained for other features; of
    an over-long question, the last question is answered and the answer says so.
    """
    retriever = retriever or default_retriever()
    model = current_model()
    history = clip_history(history or ())
    q = analyse(question, history, retriever)
    if q.talk:
        return small_talk(q.talk, q.shown, retriever)
    ev = gather(q, retriever)
    a = assess(ev, model, retriever)
    confidence = float(model.answer.probability(a.row)) if a.row is not None else 0.0
    case = a.case.with_confidence(confidence)
    reasons, missing_terms = decide(case)
    if reasons:
        missing = named_terms(q, missing_terms, vocabulary(retriever), retriever.encoder)
        return refusal(q, missing, suggest(retriever, q, history), confidence, reasons, retriever.version)
    short = short_answer(q, a.quotes, model, retriever)
    return quoted(q, a.quotes, confidence, retriever.version, short=short, earlier=a.earlier)
