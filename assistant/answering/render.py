"""Templates around quoted sentences: answers, refusals, sources; what a refusal names and suggests."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from .. import config
from .. import suggestions as suggested
from ..lexical import normalise_query_text, segment, to_simplified
from ..retrieval import Retriever
from ..sentences import normalise_with_origin
from .dates import display, resolve
from .evidence import Candidate
from .question import QUESTION_WORDS, Question
from .types import Answer, Citation, ShortAnswer, Turn
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


def render_answer(
    quotes: list[Citation],
    kind: str,
    english: bool,
    truncated: bool,
    short: ShortAnswer | None = None,
    earlier: Citation | None = None,
) -> str:
    """The answer as plain text: the short answer (or a lead-in naming the kind of fact), the
    quotes, the line naming an older source's value, the sources."""
    lines = _truncation_notice(english, truncated)
    if short is not None:
        lines.append(headline(short, english))
    elif english:
        lines.append("According to the source (quoted in Chinese):")
    else:
        lines.append(
            {
                "number": "资料中的相关数字如下：",
                "date": "关于时间，资料是这样说的：",
                "time": "关于时间，资料是这样说的：",
                "where": "关于地点，资料是这样说的：",
                "who": "资料中提到的相关人物：",
                "list": "资料列举如下：",
                "yesno": "资料中的相关说法：",
            }.get(kind, "根据资料：")
        )
    lines.append("\n".join(f"> {c.quote} [{c.n}]" for c in quotes))
    cited = list(quotes)
    if earlier is not None:
        lines.append(f"{earlier_lead(earlier, english)}{earlier.quote} [{earlier.n}]")
        cited.append(earlier)
    lines.append(("Sources:" if english else "出处：") + "\n" + "\n".join(_source_line(c) for c in cited))
    return "\n\n".join(lines)


def headline(short: ShortAnswer, english: bool) -> str:
    """The first line of an answer with a short answer: "6号线开通时间：今年4月（即2024年4月）"."""
    return short.frame + display(short.text, short.derived, english)


def earlier_lead(c: Citation, english: bool) -> str:
    """What introduces an older document's different value: its date, or that it has none."""
    if english:
        return f"Earlier ({c.date}) the sources said: " if c.date else "An undated source says: "
    return f"此前（{c.date}）资料为：" if c.date else "另有未注明日期的资料为："


# ----------------------------------------------------------------------- short answers


def short_answer(c: Citation, span: str, confidence: float, at: int | None = None) -> ShortAnswer:
    """The ``ShortAnswer`` for ``span`` of quote ``c`` (at offset ``at`` of the quote, else its
    first occurrence), with its relative date resolved. Raises ``ValueError`` for a span the
    quote does not write there: a short answer is always the document's own text."""
    at = c.quote.find(span) if at is None else at
    if not span or at < 0 or c.quote[at : at + len(span)] != span:
        raise ValueError(f"not a span of quote [{c.n}]: {span!r}")
    return with_derived(ShortAnswer(span, c.n, c.start + at, c.start + at + len(span), confidence), c.date)


def with_derived(short: ShortAnswer, doc_date: str | None) -> ShortAnswer:
    """``short`` with ``derived`` set: its relative date resolved against its document's date."""
    return replace(short, derived=resolve(short.text, doc_date))


#: What asks in a Chinese question, longest first: the frame is the words around it.
_ASKING = re.compile(
    r"第(?:几|多少)[个批名位次届期]?|哪个(?:区|县|镇|街道)|"
    r"是什么时候|什么时候|什么时间|何时|是哪一年|哪一年|哪年|哪个月|几月|几号|几点|"
    r"是多少|有多少|多少|是几|有几|几|是谁|谁|是哪[一个些家位里]?|哪[一个些家位里儿]?|是什么|什么"
)
_REQUEST = re.compile(r"^(?:请问|请教|你好|您好|我想知道|想知道|想问|问一下)[，,、\s]*")
_TRAILING = re.compile(r"[？?。！!.\s呢吗吧啊呀]+$")
#: Words between the subject and the question word ("首席数据官是谁", "青岛有多少").
_LINKING = re.compile(r"(?:是|为|有|叫|在|达|达到|约|大约|一共|总共|共|已|的|了|过)+$")
_LINKING_HEAD = re.compile(r"^(?:是|为|有)+")
#: A classifier after 多少/几 and the particles closing the predicate ("多少个数据中心", "开通的").
_CLASSIFIER = re.compile(r"^[个家项位次人条座辆名架批届年种所]")
_PARTICLES = re.compile(r"(?:的|了|呢|过)+$")
#: The question word a when/where question asks with, in one word (什么时候 → 时间).
_KIND_WORD = {"date": "时间", "time": "时间", "where": "地点"}
_ENGLISH_ASKING = re.compile(
    r"^(?:what|which|who|whom|whose|when|where|how (?:many|much|long|far|high))\b\s*"
    r"(?:(?:is|are|was|were|did|does|do|has|have|had|will)\b\s*)?(?:the\b\s*)?",
    re.IGNORECASE,
)
_ENGLISH_AUXILIARY = re.compile(r"\s+(?:is|are|was|were|did|does|do|has|have|had|will)\b.*$", re.IGNORECASE)


def _typed(text: str, simple: str, part: str) -> str:
    """``part`` of ``simple`` as the resident typed it (``text``, of which ``simple`` is the
    same-length Simplified form)."""
    at = simple.find(part)
    return text[at : at + len(part)] if part and at >= 0 else part


def frame(q: Question) -> str:
    """The words of the question that say what the short answer is, with their separator:
    "行政村5G覆盖率是多少" → "行政村5G覆盖率：", "6号线是什么时候开通的" → "6号线开通时间：",
    "What is the 5G coverage rate…" → "5G coverage rate…: ". Only the question's own words
    (and, for a when/where question, the one word its question word asks for), so a frame
    states nothing the sources do not; "" when none reads cleanly."""
    text = _TRAILING.sub("", _REQUEST.sub("", q.text.strip()))
    if q.english:
        m = _ENGLISH_ASKING.match(text)
        words = _ENGLISH_AUXILIARY.sub("", text[m.end() :]).split() if m else []
        if not words or len(words) > config.ANSWERING.frame_max_words:
            return ""
        return " ".join(words)[:1].upper() + " ".join(words)[1:] + ": "
    # Read in Simplified Chinese, cut from the question as typed (the conversion keeps lengths).
    simple = to_simplified(text)
    m = _ASKING.search(simple) if len(simple) == len(text) else None
    if m is None:
        return ""
    before = _LINKING.sub("", simple[: m.start()])
    after = _PARTICLES.sub("", _CLASSIFIER.sub("", _LINKING_HEAD.sub("", simple[m.end() :])))
    if q.unit and after.startswith(q.unit):  # "全长多少公里": the answer carries the unit
        after = after[len(q.unit) :]
    if _ASKING.search(after):
        return ""
    # Of "真情巴士集团的首席数据官", what is asked is after the last 的.
    before, after = (
        part.rsplit("的", 1)[-1] if len(part.rsplit("的", 1)[-1]) >= 2 else part for part in (before, after)
    )
    words = "".join(_typed(text, simple, part) for part in (before, after))
    kind_word = _KIND_WORD.get(q.kind, "")
    if words and kind_word and not words.endswith(kind_word):
        # "开通时间", but "启动数字青岛2.0工程的时间": a predicate with an object takes 的.
        words += ("的" if len(segment(after)) > 1 else "") + kind_word
    if not words or len(words) > config.ANSWERING.frame_max_chars:
        return ""
    return words + "："


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


def quoted(
    q: Question,
    chosen: list[Candidate],
    confidence: float,
    version: str,
    short: ShortAnswer | None = None,
    earlier: Candidate | None = None,
) -> Answer:
    """The answer quoting ``chosen``, each cited by its offsets in the normalised document;
    ``short`` (a span of one quote) first, framed by the question's words; ``earlier``, an
    older document's sentence giving the same fact another value, named after the quotes."""
    citations = tuple(_citation(n, c) for n, c in enumerate(chosen, 1))
    old = _citation(len(citations) + 1, earlier) if earlier is not None else None
    if short is not None:
        where = citations[short.citation_n - 1]
        short = replace(with_derived(short, where.date), frame=frame(q))
    return Answer(
        question=q.shown or q.text,
        text=render_answer(list(citations), q.kind, q.english, q.truncated, short, old),
        citations=citations + ((old,) if old else ()),
        refused=False,
        confidence=round(confidence, 3),
        truncated=q.truncated,
        index_version=version,
        short_answer=short,
        earlier=old.n if old else None,
    )


def _citation(n: int, c: Candidate) -> Citation:
    p = c.passage
    return Citation(
        n, p.doc_id, p.title, p.section, p.date, p.source, c.text, p.text, c.start, c.end, p.start, p.end
    )
