"""Evidence: candidate sentences, their context, and how well they cover the question."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Sequence

from .. import config
from ..chunking import split_sentences
from ..lexical import normalise_query_text, segment
from ..retrieval import Passage, Retriever
from .question import KINDS, Question, asked_unit
from .vocabulary import ADMIN_SUFFIXES, CJK, Vocabulary


@dataclass
class Coverage:
    ratio: float
    missing: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)


def term_credits(
    terms: list[str],
    text: str,
    encoder,
    vocab: Vocabulary,
    synonym_sim: float | None = None,
    words: Sequence[str] | None = None,
) -> dict[str, float]:
    """How well ``text`` (already normalised, see ``Vocabulary.normalised``) covers each
    term: 1 written or synonym, 0.5 related, 0 absent.

    A term counts in full when written in the text or when the model's word vectors call
    it a synonym of a word there (cosine >= synonym_sim, e.g. 孩子/儿童); half when it
    shares a character with a word there (机柜/机架, 延迟/时延), as Chinese compounds
    built on one morpheme are usually related. Place names count only when written
    exactly: to a word-vector model every city looks like every other city. ``words``: the
    text's words, when the index already holds them.
    """
    credit = {t: 1.0 for t in terms if t in text}
    # Latin words and codes must be written: the vectors of short Latin strings are noise
    # (gdp ~ abc at 0.61), and across languages the lexicon, not the vectors, is the bridge.
    soft = [t for t in terms if t not in credit and CJK.match(t) and not vocab.is_place(t)]
    if not soft:
        return credit
    # A corpus sentence's words come from the index (segmented once, at reindex).
    words, characters = _content_words(tuple(segment(text) if words is None else words))
    if words:
        nearest = (encoder.encode(soft) @ encoder.encode(words).T).max(axis=1)
        for t, sim in zip(soft, nearest):
            if sim >= (synonym_sim or config.ANSWERING.synonym_sim):
                credit[t] = 1.0
            elif not characters.isdisjoint(t):  # every soft term is Chinese
                credit[t] = 0.5
    return credit


_CONTENT_WORD = re.compile(r"[\u3400-\u9fffa-z]")


@functools.lru_cache(maxsize=8192)
def _content_words(cut: tuple[str, ...]) -> tuple[list[str], frozenset[str]]:
    """The words of ``cut`` a question term can be a synonym of (Chinese or Latin, two
    characters or more), sorted, and every character they hold. Remembered: the same
    corpus sentences come back for question after question."""
    words = sorted({w for w in cut if len(w) > 1 and _CONTENT_WORD.match(w)})
    return words, frozenset().union(*words)


def coverage_of(terms: list[str], text: str, encoder, vocab: Vocabulary) -> Coverage:
    """Weighted share of ``terms`` that ``text`` covers, and the terms it misses."""
    if not terms:
        return Coverage(1.0)
    credit = term_credits(terms, text, encoder, vocab)
    total = sum(vocab.weight(t) for t in terms)
    got = sum(vocab.weight(t) * credit.get(t, 0.0) for t in terms)
    partial = [t for t, c in credit.items() if c < 1.0]
    return Coverage(got / total if total else 1.0, [t for t in terms if t not in credit], partial)


# -------------------------------------------------------------------- sentence choice


@dataclass
@dataclass
class Candidate:
    passage: Passage
    start: int
    end: int
    text: str
    score: float = 0.0


def candidate_sentences(passages: list[Passage], retriever: Retriever) -> list[Candidate]:
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        doc = retriever.documents[p.doc_id]
        for s, e in split_sentences(doc.text[p.start : p.end], p.start):
            if (p.doc_id, s) in seen or not re.search(r"\w", doc.text[s:e]):
                continue
            seen.add((p.doc_id, s))
            out.append(Candidate(p, s, e, doc.text[s:e]))
    return out


@dataclass(frozen=True)
class Context:
    """Where a sentence's subject may be written: the stretch just before it, the rest of
    its document before it and its heading (``section``), its document's title — normalised
    like questions.

    A sentence that refers back (本鱼, 他, 该公司, 省内) names its subject only there: an
    article that named 山东 at its top still speaks of it in a later section."""

    sentence: str
    before: str
    section: str
    title: str

    def writes(self, name: str) -> bool:
        """Whether the name is written anywhere in it, also without an administrative suffix."""
        variants = [name] + ([name[:-1]] if len(name) > 2 and name[-1] in ADMIN_SUFFIXES else [])
        parts = (self.sentence, self.before, self.section, self.title)
        return any(v in part for v in variants for part in parts)

    def follows(self, subject: str) -> bool:
        """Whether the sentence, the stretch just before it or the title writes ``subject``:
        what a pronoun in a follow-up points at is named close to the quote that answers it."""
        return any(subject in part for part in (self.sentence, self.before, self.title))


def context_of(c: Candidate, retriever: Retriever, vocab: Vocabulary) -> Context:
    doc = retriever.documents[c.passage.doc_id]
    before_start = max(0, c.start - config.ANSWERING.before_chars)

    def norm(a: int, b: int) -> str:
        return vocab.normalised(doc.doc_id, a, b)

    return Context(
        sentence=norm(c.start, c.end),
        before=norm(before_start, c.start),
        section=norm(0, before_start) + " " + normalise_query_text(c.passage.section),
        title=vocab.title(doc.doc_id),
    )


def context_text(c: Candidate, retriever: Retriever, vocab: Vocabulary) -> str:
    """The best sentence with its surroundings, normalised: its passage, widened to
    ``context_chars`` on each side, because the subject of a sentence is often named a
    sentence or two before."""
    text = retriever.documents[c.passage.doc_id].text
    start = min(c.passage.start, max(0, c.start - config.ANSWERING.context_chars))
    end = max(c.passage.end, min(len(text), c.end + config.ANSWERING.context_chars))
    return vocab.normalised(c.passage.doc_id, start, end)


_PERCENT_ASK = re.compile(r"百分|比例|占比|率|percent|rate|share", re.I)


def fact_pattern(question: str, kind: str) -> re.Pattern | None:
    """What a sentence must hold to answer this kind of question (None: anything)."""
    unit = asked_unit(question)
    if kind == "number" and unit:
        return quantity_pattern(unit)
    if kind == "number" and _PERCENT_ASK.search(question):
        return re.compile(r"\d%|百分之|成")
    return KINDS[kind][1] if kind in KINDS else None


_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零一二三四五六七八九十两百千万亿]+")
#: What may follow a number written in Chinese numerals for it to be an amount (三个, 五年, 两成).
_MEASURES = "个家项位次人条座辆名架批届年倍成万亿元米吨台部套张所栋多余"
#: Classifiers of counted things.
_COUNTERS = "个家项位条座辆名架批台部套张所栋"


def quantities(sentence: str, question: str) -> list[str]:
    """The amounts ``sentence`` states that ``question`` does not already name.

    Not amounts: ordinals (第九, unless the question asks 第几), dates (2023年, 4月, 8日),
    names with a number the question uses (6号线), Chinese numerals inside words (一体化), and
    a lone 一 (一家大数据平台 is "a platform").
    """
    asked = set(re.findall(r"\d+(?:\.\d+)?", normalise_query_text(question)))
    ordinal_asked = re.search(r"第(几|多少)", question) is not None
    # "多少个车站" counts things: "85人次" or "60%" is no answer, "50个" or "5.2万架" is.
    # English "how many" counts things or people, and names no classifier to tell which.
    counters = _COUNTERS + "人" if re.search(r"\bhow many\b", question, re.I) else _COUNTERS
    counted = counters != _COUNTERS or re.search(r"(?:多少|几)[" + _COUNTERS + "]", question) is not None
    found = []
    for m in _NUMBER.finditer(sentence):
        number, after = m.group(), sentence[m.end() : m.end() + 1]
        if sentence[max(0, m.start() - 1) : m.start()] == "第" and not ordinal_asked:
            continue
        if number[0].isdigit():
            is_date = (after != "" and after in "月日号") or (len(number) == 4 and after == "年")
            if number in asked or is_date:
                continue
        elif not after or after not in _MEASURES or number == "一":  # 一家 is "a", not a count
            continue
        counter = sentence[m.end() : m.end() + 3].lstrip("万亿多余")[:1]
        if counted and (not counter or counter not in counters):
            continue
        found.append(number)
    return found


def quantity_pattern(unit: str) -> re.Pattern:
    """A number (digits or Chinese numerals) followed by ``unit``: "50公里", "七十多万人"."""
    return re.compile(r"[\d一二三四五六七八九十两百千万亿多余]\s*" + re.escape(unit))


def indexed_words_before(c: Candidate, start: int, retriever: Retriever) -> tuple[str, ...] | None:
    """The words reindex stored for the sentences from ``start`` up to the candidate (None when
    the index holds none there): segmenting that stretch again cost a quarter of an answer."""
    before = [s for s in retriever.sentences_in(c.passage.doc_id, start, c.start) if s.start < c.start]
    return tuple(w for s in before for w in s.words) if before else None


def indexed_words(c: Candidate, retriever: Retriever) -> tuple[str, ...] | None:
    """The words reindex stored for this very sentence (None when the passage cut it differently)."""
    for s in retriever.sentences_in(c.passage.doc_id, c.start, c.end):
        if (s.start, s.end) == (c.start, c.end):
            return s.words
    return None


def asked_thing_absent(
    q: Question, cov: Coverage, context: str, retriever: Retriever, vocab: Vocabulary
) -> bool:
    """The thing asked about (``q.focus``) is missing: a noun neither written near the best
    sentence nor a close synonym (票价 is not covered by 订票), another word not even in
    part, and no source writes it at all. One written elsewhere is left to coverage, as the
    answer often names it differently (国家 → 阿根廷); a word jieba only guessed, the verb
    of a when-question and a predicate (担任 in 担任什么职务) are no reliable focus."""
    focus = q.focus
    if focus is None:
        return False
    noun = not q.english and vocab.is_noun(focus)
    absent = focus in cov.missing or (noun and focus in cov.partial)
    if noun and not absent:
        strict = term_credits([focus], context, retriever.encoder, vocab, config.ANSWERING.focus_synonym_sim)
        absent = strict.get(focus, 0.0) < 1.0
    return (
        absent
        and (q.english or focus in vocab.freq)
        and (q.kind != "date" or noun)
        and not q.focus_is_predicate
        and not vocab.mentions(focus)
    )


def states_asked_fact(q: Question, chosen: list[Candidate], ranked: list[Candidate]) -> bool:
    """Whether the quotes hold the kind of fact asked: a how-many question an amount the
    question does not already name (not "6号线" or "4月" for "6号线有多少个车站"), 几点 a
    time of day and 哪个区 a district the question does not name, 分别是哪几家 an
    enumeration ("4家企业入选" names none), a when-question a date among the best sentences."""
    if q.kind == "number":
        return any(quantities(c.text, q.query) for c in chosen)
    if q.kind in ("time", "where"):
        return any(m.group() not in q.text for c in chosen for m in KINDS[q.kind][1].finditer(c.text))
    if q.kind == "list":
        return any(re.search(r"、|和|及|与|等", c.text) for c in chosen)
    return q.kind != "date" or any(KINDS["date"][1].search(c.text) for c in ranked[:3])
