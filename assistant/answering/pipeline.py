"""Extractive answers: pick source sentences, quote them verbatim, or refuse honestly.

Nothing here writes a fact. Every answer is a template (lead-in, source line) around
whole sentences cut from ``Document.text`` by offset, so a quote can always be
highlighted in its source. The refusal decision rests on two signals that mean the
same on any corpus: how much of the question's specific vocabulary the best passage
covers, and whether the asked-for kind of fact (a number with the asked unit, a
date, a name) is there at all.
"""

from __future__ import annotations

import re
from typing import Sequence

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Retriever, default_retriever
from .decision import Case, decide
from .evidence import (
    KINDS,
    Coverage,
    candidate_sentences,
    context_of,
    context_text,
    coverage_of,
    quantities,
    quantity_pattern,
    term_credits,
)
from .question import analyse
from .render import render_answer, render_refusal, suggest
from .scoring import choose_quotes, combine_confidence, score_sentences
from .types import Answer, Citation, Turn, clip_history
from .vocabulary import vocabulary


def answer(
    question: str, history: Sequence[Turn] | None = None, retriever: Retriever | None = None
) -> Answer:
    """Answer ``question`` from the sources, or refuse and say what they do not cover.

    Raises ``QuestionError`` for an empty question; an over-long one is cut and the
    answer says so.
    """
    history = clip_history(history or ())
    retriever = retriever or default_retriever()
    q = analyse(question, history, retriever)
    text, english, kind, terms = q.text, q.english, q.kind, list(q.terms)
    vocab = vocabulary(retriever)
    passages = retriever.search(q.query, k=config.ANSWERING.passages)

    retrieved = candidate_sentences(passages, retriever) if passages else []
    # Only a sentence whose context writes every name of the question can be about it: a
    # look-alike article about another city holds the same kinds of fact.
    contexts = [context_of(c, retriever, vocab) for c in retrieved]
    cands = [c for c, ctx in zip(retrieved, contexts) if all(ctx.writes(n) for n in q.names)]
    # A word every eligible document writes in its title (数字青岛, 齿河盗龙) only says which
    # article: rank and measure coverage by the rest, or the opening sentence, which names
    # the article's subject, wins every question, and the title covers any question about it.
    titles = {ctx.title for c, ctx in zip(retrieved, contexts) if c in cands}
    located = {t for t in terms if titles and all(t in title for title in titles)}
    topic = [t for t in terms if t not in located] or terms
    if cands:
        score_sentences(cands, q.query, topic, kind, retriever, q.carried)
        cands.sort(key=lambda c: -c.score)
    best = cands[0] if cands else None

    # Coverage of the question's words by the best sentence's surroundings, heading and title.
    if best is not None:
        doc = retriever.documents[best.passage.doc_id]
        heading = normalise_query_text(f"{doc.title} {best.passage.section}")
        context = f"{heading} {context_text(best, retriever, vocab)}"
        cov = coverage_of(topic, context, retriever.encoder, vocab)
    else:
        context, cov = "", Coverage(0.0, terms)
    focus = q.focus
    # The thing asked about must be there: a noun written or a close synonym (票价 is not
    # covered by 订票), other words at least in part; a word jieba only guessed is no
    # reliable focus. Only a focus no source writes at all refuses outright: one written
    # elsewhere is left to coverage, as the answer often names it differently (国家 → 阿根廷).
    noun = focus is not None and not english and vocab.is_noun(focus)
    absent = focus is not None and (focus in cov.missing or (noun and focus in cov.partial))
    if noun and not absent and best is not None:
        strict = term_credits([focus], context, retriever.encoder, vocab, config.ANSWERING.focus_synonym_sim)
        absent = strict.get(focus, 0.0) < 1.0
    focus_absent = (
        absent
        and (english or focus in vocab.freq)
        and (kind != "date" or noun)
        and not q.focus_is_predicate
        and not vocab.mentions(focus)
    )
    chosen = choose_quotes(cands)
    unit_ok = q.unit is None or any(quantity_pattern(q.unit).search(c.text) for c in chosen)
    # A when-question needs a date among the best sentences; a how-many one needs a quote
    # that states some amount the question did not (not "6号线" or "4月" for "6号线有多少个车站").
    if kind == "number":
        fact_ok = any(quantities(c.text, q.query) for c in chosen)
    elif kind in ("time", "where"):  # a time of day, a place the question does not name
        fact_ok = any(m.group() not in text for c in chosen for m in KINDS[kind][1].finditer(c.text))
    elif kind == "list":  # "分别是哪几家" wants them named, not "4家企业入选"
        fact_ok = any(re.search(r"、|和|及|与|等", c.text) for c in chosen)
    else:
        fact_ok = kind != "date" or any(KINDS["date"][1].search(c.text) for c in cands[:3])
    dense = best.passage.dense if best else 0.0
    if english and best is not None and terms:
        # Cross-language similarity runs lower than within Chinese; compare in Chinese too.
        pair = retriever.encoder.encode([" ".join(topic), best.passage.text])
        dense = max(dense, float(pair[0] @ pair[1]))
    confidence = combine_confidence(cov.ratio, dense, best.score if best else 0.0) if terms else 0.0
    case = Case(
        question=q,
        retrieved=bool(retrieved),
        eligible=bool(cands),
        names_unwritten=tuple(n for n in q.names if not any(ctx.writes(n) for ctx in contexts)),
        places_unknown=tuple(t for t in terms if vocab.is_place(t) and not vocab.mentions(t)),
        names_unknown=tuple(t for t in terms if vocab.is_unknown_name(t) and not vocab.mentions(t)),
        focus_absent=bool(focus_absent),
        unit_ok=unit_ok,
        fact_ok=fact_ok,
        confidence=confidence,
        uncovered=tuple(cov.missing),
    )
    reasons, missing_terms = decide(case)
    if set(reasons) - {"low_confidence"}:
        confidence = min(confidence, config.ANSWERING.refuse_below / 2)

    version = retriever.version
    if reasons:
        missing = list(dict.fromkeys(q.labels.get(t, t) for t in missing_terms))
        suggestions = suggest(retriever, passages)
        return Answer(
            question=text,
            text=render_refusal(missing, suggestions, english, q.truncated),
            citations=(),
            refused=True,
            confidence=round(confidence, 3),
            truncated=q.truncated,
            missing_terms=tuple(missing),
            suggestions=tuple(suggestions),
            index_version=version,
            reasons=reasons,
        )

    citations = []
    for n, c in enumerate(chosen, 1):
        p = c.passage
        citations.append(
            Citation(
                n,
                p.doc_id,
                p.title,
                p.section,
                p.date,
                p.source,
                c.text,
                p.text,
                c.start,
                c.end,
                p.start,
                p.end,
            )
        )
    return Answer(
        question=text,
        text=render_answer(citations, kind, english, q.truncated),
        citations=tuple(citations),
        refused=False,
        confidence=round(confidence, 3),
        truncated=q.truncated,
        index_version=version,
    )
