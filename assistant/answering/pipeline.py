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
from ..retrieval import Retriever, clean_question, default_retriever, is_english
from .evidence import (
    KINDS,
    Coverage,
    candidate_sentences,
    context_text,
    coverage_of,
    quantities,
    quantity_pattern,
    term_credits,
)
from .question import (
    QUALIFIER,
    asked_unit,
    content_terms,
    english_focus,
    focus_term,
    question_kind,
    question_terms,
    resolve_follow_up,
)
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
    text, truncated = clean_question(question)
    english = is_english(text)
    query, inherited = resolve_follow_up(text, history or ())
    kind = inherited or question_kind(text)
    vocab = vocabulary(retriever)
    terms, labels, names = question_terms(text, english, retriever, vocab)
    # The sources' own spelling of names given in pinyin helps find them.
    query = " ".join([query] + [t for t, written in names.items() if written])
    passages = retriever.search(query, k=config.ANSWER_PASSAGES)

    cands = candidate_sentences(passages, retriever) if passages else []
    if cands:
        carried = [] if query == text or english else content_terms(query)
        score_sentences(cands, query, terms, kind, retriever, carried)
        cands.sort(key=lambda c: -c.score)
    best = cands[0] if cands else None

    # Refusal signals: term coverage by the best passage, places and names the sources
    # never write, and the kind of fact asked for (an amount, 元, a date…) missing from the quote.
    context = context_text(best, retriever) if best is not None else ""
    cov = coverage_of(terms, context, retriever.encoder, vocab) if best is not None else Coverage(0.0, terms)
    # Terms whose absence alone means the sources cannot answer: unknown places, the focus.
    absent_terms = [t for t in terms if vocab.is_place(t) and not vocab.mentions(t)]
    # A year, phase or line the question names ("到2025年", "二期", "6号线") must be where the
    # answer is: a sentence about 一期 does not answer a question about 二期.
    absent_terms += [q for q in QUALIFIER.findall(normalise_query_text(text)) if q not in context]
    absent_terms += [t for t, written in names.items() if not written]  # "Chengdu"
    focus, before = (english_focus(terms, labels), False) if english else focus_term(text, terms)
    # The thing asked about must be there: a noun written or a close synonym (票价 is not
    # covered by 订票), other words at least in part; a word jieba only guessed is no
    # reliable focus.
    noun = focus is not None and not english and vocab.is_noun(focus)
    absent = focus is not None and (focus in cov.missing or (noun and focus in cov.partial))
    if noun and not absent and best is not None:
        strict = term_credits([focus], context, retriever.encoder, vocab, config.FOCUS_SYNONYM_SIM)
        absent = strict.get(focus, 0.0) < 1.0
    predicate = before and vocab.tag(focus) == "v"
    if absent and (english or focus in vocab.freq) and (kind != "date" or noun) and not predicate:
        absent_terms.append(focus)
    unit = asked_unit(text)
    chosen = choose_quotes(cands)
    unit_ok = unit is None or any(quantity_pattern(unit).search(c.text) for c in chosen)
    # A when-question needs a date among the best sentences; a how-many one needs a quote
    # that states some amount the question did not (not "6号线" or "4月" for "6号线有多少个车站").
    if kind == "number":
        fact_ok = any(quantities(c.text, query) for c in chosen)
    elif kind in ("time", "where"):  # a time of day, a place the question does not name
        fact_ok = any(m.group() not in text for c in chosen for m in KINDS[kind][1].finditer(c.text))
    elif kind == "list":  # "分别是哪几家" wants them named, not "4家企业入选"
        fact_ok = any(re.search(r"、|和|及|与|等", c.text) for c in chosen)
    else:
        fact_ok = kind != "date" or any(KINDS["date"][1].search(c.text) for c in cands[:3])
    dense = best.passage.dense if best else 0.0
    if english and best is not None and terms:
        # Cross-language similarity runs lower than within Chinese; compare in Chinese too.
        pair = retriever.encoder.encode([" ".join(terms), best.passage.text])
        dense = max(dense, float(pair[0] @ pair[1]))
    confidence = combine_confidence(cov.ratio, dense, best.score if best else 0.0) if terms else 0.0
    if absent_terms or not unit_ok or not fact_ok:
        confidence = min(confidence, config.REFUSE_BELOW / 2)
    refused = best is None or confidence < config.REFUSE_BELOW

    version = retriever.version
    if refused:
        missing = list(dict.fromkeys(labels.get(t, t) for t in absent_terms + cov.missing))
        if not unit_ok:
            missing.append(unit)
        suggestions = suggest(retriever, passages)
        return Answer(
            question=text,
            text=render_refusal(missing, suggestions, english, truncated),
            citations=(),
            refused=True,
            confidence=round(confidence, 3),
            truncated=truncated,
            missing_terms=tuple(missing),
            suggestions=tuple(suggestions),
            index_version=version,
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
        text=render_answer(citations, kind, english, truncated),
        citations=tuple(citations),
        refused=False,
        confidence=round(confidence, 3),
        truncated=truncated,
        index_version=version,
    )
