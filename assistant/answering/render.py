"""Templates around quoted sentences: answers, refusals, sources; what a refusal names and suggests."""

from __future__ import annotations

from typing import Sequence

from .. import config
from .. import suggestions as suggested
from ..lexical import normalise_query_text
from ..retrieval import Retriever
from ..sentences import normalise_with_origin
from .evidence import Candidate
from .question import QUESTION_WORDS, Question
from .types import Answer, Citation, Turn
from .vocabulary import CJK, Vocabulary


def _source_line(c: Citation) -> str:
    parts = [f"《{c.title}》"] + [x for x in (c.section, c.source, c.date) if x]
    return f"[{c.n}] " + " · ".join(parts)


def _truncation_notice(english: bool, truncated: bool) -> list[str]:
    """What a long paste was answered by (``cleaning.last_question``)."""
    if not truncated:
        return []
    if english:
        return [
            f"(Your message is over {config.MAX_QUESTION_CHARS} characters: only its last question, "
            "with the sentence before it, was answered.)"
        ]
    limit = config.MAX_QUESTION_CHARS
    return [f"（问题过长：超过 {limit} 字，只按其中最后一个问句（连同它前面的一句）回答。）"]


def render_answer(quotes: list[Citation], kind: str, english: bool, truncated: bool) -> str:
    lines = _truncation_notice(english, truncated)
    if english:
        lead = "According to the source (quoted in Chinese):"
    else:
        lead = {
            "number": "资料中的相关数字如下：",
            "date": "关于时间，资料是这样说的：",
            "time": "关于时间，资料是这样说的：",
            "where": "关于地点，资料是这样说的：",
            "who": "资料中提到的相关人物：",
            "list": "资料列举如下：",
            "yesno": "资料中的相关说法：",
        }.get(kind, "根据资料：")
    lines.append(lead)
    lines.append("\n".join(f"> {c.quote} [{c.n}]" for c in quotes))
    lines.append(("Sources:" if english else "出处：") + "\n" + "\n".join(_source_line(c) for c in quotes))
    return "\n\n".join(lines)


def render_refusal(missing: list[str], suggestions: list[str], english: bool, truncated: bool) -> str:
    lines = _truncation_notice(english, truncated)
    if english:
        lines.append("Sorry, the sources do not answer this question.")
        if missing:
            lines.append("Not covered by the sources: " + ", ".join(missing) + ".")
        if suggestions:
            lines.append("You could ask instead:\n" + "\n".join(f"- {s}" for s in suggestions))
    else:
        lines.append("抱歉，现有资料没有涉及这个问题，我不能凭空回答。")
        if missing:
            lines.append("资料中没有提到：" + "、".join(missing) + "。")
        if suggestions:
            lines.append("你可以试着问：\n" + "\n".join(f"- {s}" for s in suggestions))
    return "\n\n".join(lines)


def suggest(retriever: Retriever, q: Question, history: Sequence[Turn]) -> list[str]:
    """The stored questions nearest to what was asked (``suggestions.py``), leaving out the
    question itself and any already asked in this conversation: the resident has that answer."""
    asked = {normalise_query_text(t.question) for t in history} | {normalise_query_text(q.text)}
    vector = retriever.encoder.encode([retriever.search_text(q.query)])
    return suggested.nearest(retriever.data.suggestions, retriever.data.suggestion_vectors, vector, asked)


#: jieba tags of words that only frame a question: numbers and measures, pronouns, adverbs,
#: prepositions, conjunctions, particles, interjections, direction, place and time words,
#: state words (很多, 一篇, 之类, 比较, 附近, 网上, 明天).
_FRAMING_TAGS = frozenset("m mq q r rr rz d dg p c u uj ul uz ud ug uv y e o f s t tg x z zg".split())


def named_terms(q: Question, terms: Sequence[str], vocab: Vocabulary, encoder) -> tuple[str, ...]:
    """The missing terms a refusal names: words the resident typed (as they typed them) that
    matter. Not a word analysis added (the 元 of "多少钱"), not the filler of a long paste
    (看到, 还有, 之类, 问问): those would tell the resident the sources lack what they never asked."""
    norm, origin = normalise_with_origin(q.text)
    asking = _asking(terms, encoder)
    out: list[str] = []
    for term in terms:
        label = normalise_query_text(q.labels.get(term, term))
        at = norm.find(label)
        if at < 0 or term in asking or not _matters(term, q, vocab):
            continue
        end = at + len(label)
        typed = q.text[at:end] if origin is None else q.text[origin[at] : origin[end - 1] + 1]
        if typed not in out:
            out.append(typed)
    return tuple(out)


def _matters(term: str, q: Question, vocab: Vocabulary) -> bool:
    """What is asked about, the measure asked for, a name (a place, a title, a code, a year);
    a Latin word; a name jieba had to guess (唐爱陆); or a word that is no mere framing and
    weighs ``missing_term_weight`` in general Chinese."""
    if term in (q.focus, q.unit) or term in q.names or not CJK.search(term) or vocab.is_place(term):
        return True
    if term not in vocab.freq:
        return vocab.is_unknown_name(term)  # a two-character guess is as often 天在 as a word
    return vocab.tag(term) not in _FRAMING_TAGS and vocab.weight(term) >= config.ANSWERING.missing_term_weight


def _asking(terms: Sequence[str], encoder) -> set[str]:
    """The words of asking among ``terms``: the model puts them beside a question word that
    analysis strips (问问 and 请教 beside 请问, at ``synonym_sim``), whatever jieba's dictionary
    calls them (问问 is a noun there)."""
    chinese = [t for t in terms if CJK.search(t)]
    if not chinese:
        return set()
    questions = suggested.unit_vectors(QUESTION_WORDS.pattern.split("|"), encoder)
    similarity = suggested.unit_vectors(chinese, encoder) @ questions.T
    return {t for t, best in zip(chinese, similarity.max(axis=1)) if best >= config.ANSWERING.synonym_sim}


def refusal(
    q: Question,
    missing: tuple[str, ...],
    suggestions: list[str],
    confidence: float,
    reasons: tuple[str, ...],
    version: str,
) -> Answer:
    return Answer(
        question=q.shown or q.text,
        text=render_refusal(list(missing), suggestions, q.english, q.truncated),
        citations=(),
        refused=True,
        confidence=round(confidence, 3),
        truncated=q.truncated,
        missing_terms=missing,
        suggestions=tuple(suggestions),
        index_version=version,
        reasons=reasons,
    )


def quoted(q: Question, chosen: list[Candidate], confidence: float, version: str) -> Answer:
    """The answer quoting ``chosen``, each cited by its offsets in the normalised document."""
    citations = tuple(
        Citation(
            n,
            c.passage.doc_id,
            c.passage.title,
            c.passage.section,
            c.passage.date,
            c.passage.source,
            c.text,
            c.passage.text,
            c.start,
            c.end,
            c.passage.start,
            c.passage.end,
        )
        for n, c in enumerate(chosen, 1)
    )
    return Answer(
        question=q.shown or q.text,
        text=render_answer(list(citations), q.kind, q.english, q.truncated),
        citations=citations,
        refused=False,
        confidence=round(confidence, 3),
        truncated=q.truncated,
        index_version=version,
    )
