"""Templates around quoted sentences: answers, refusals, sources, suggestions."""

from __future__ import annotations

from .. import config
from ..retrieval import Passage, Retriever
from .evidence import Candidate
from .question import Question
from .types import Answer, Citation


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


def suggest(retriever: Retriever, passages: list[Passage], n: int = 3) -> list[str]:
    """Questions staff listed in the front matter of the nearest documents."""
    seen_docs = [p.doc_id for p in passages] + sorted(retriever.documents)
    out: list[str] = []
    for doc_id in dict.fromkeys(seen_docs):
        for q in retriever.documents[doc_id].questions:
            if q not in out:
                out.append(q)
            if len(out) >= n:
                return out
    return out


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
