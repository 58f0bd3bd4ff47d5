"""Short answers: the fact itself, a verbatim span of a quoted sentence.

Extractive readers answer with a span (DrQA's reader, BERT on SQuAD); this one has no neural
reader, so it proposes the spans a fact is usually written as and lets a small trained model
choose. Candidates come from the words and part-of-speech tags the index stores for every
sentence (``sentences.py``) and from patterns that hold in any Chinese text:

- an amount: a number with its classifier or unit (``5.2万架``, ``第九位``), a percentage;
- a date or a time of day (``2024年4月``, ``今年``, ``9:00``);
- a person (tag ``nr``), a place (``ns``), an organisation (``nt``);
- a name in 《》 or “”, with and without its marks;
- a list: two or more items joined by 、 / 和 / 及 / 与;
- a noun phrase: a run of nouns (up to ``span_max_words`` of its words);
- a clause (between commas, semicolons or colons), and what follows 是/为/叫/称/位于 in it:
  some facts are a predicate ("改建为佐敦谷游泳池职员通道"), not a name.

``SPAN_FEATURES`` describe each candidate against the question (does its type suit the kind
asked, how far it stands from the question's words, does the question already write it, does
it stand where the question's question word stands, with the same words on either side, …);
the *span* model of ``model.py`` turns them into a calibrated probability, and the best span
is shown only above the threshold the training objective chose (``train.py``). Spans are
cut only in the chosen quotes, so answering pays for a few sentences, not for the evidence.

``f1``/``exact`` are CMRC 2018's span measures: the longest common substring of prediction
and gold after removing punctuation and whitespace, best over the golds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import config
from ..lexical import normalise_query_text
from ..retrieval import Retriever
from ..sentences import analyse as analyse_sentence
from .evidence import Candidate
from .features import share_written
from .question import Question
from .types import ShortAnswer

SPAN_TYPES = (
    "number",
    "percent",
    "date",
    "time",
    "person",
    "place",
    "organisation",
    "title",
    "quoted",
    "list",
    "noun",
    "clause",
)

#: Which span types answer which kind of question (``question.KINDS``).
_SUITS = {
    "number": {"number", "percent"},
    "date": {"date", "time"},
    "time": {"time", "date"},
    "who": {"person", "organisation"},
    "where": {"place", "organisation"},
    "list": {"list"},
    "what": {"title", "quoted", "noun", "person", "place", "organisation", "clause"},
}

#: Question words that ask for a type of span, beyond the kinds ``question.py`` tells apart for
#: choosing sentences ("于何年", "多远", "何处" ask a date, an amount, a place).
_CUES = (
    (
        "date",
        re.compile(
            r"何年|哪一?年|何时|什么时[候间]|几月|哪个?月|[哪何]一?(?:个)?(?:世纪|年代|时期|朝代)|\bwhen\b",
            re.I,
        ),
    ),
    ("time", re.compile(r"几点|什么时间|\bwhat time\b", re.I)),
    ("number", re.compile(r"多少|几|多[久远长高大重深宽快]|\bhow (?:many|much|long|far|old)\b", re.I)),
    ("percent", re.compile(r"比例|百分|占比|\bpercent", re.I)),
    ("person", re.compile(r"谁|哪一?位|什么人|何人|\bwho\b", re.I)),
    (
        "place",
        re.compile(r"哪里|哪儿|何处|何地|在哪|哪一?个?(?:国家?|城市|地区|省|州|县|区|市|镇)|\bwhere\b", re.I),
    ),
)
#: The noun a question asks for: "哪一条河流" → 河流, "什么文字" → 文字.
_ASKED_NOUN = re.compile(r"(?:哪|什么|何)(?:一)?[个种位家条所座些类项支部本门]?([\u4e00-\u9fff]{1,2})")

#: Columns of the span model, in order (the artefact stores their hash with the others).
SPAN_FEATURES = (
    "suits",  # the span's type is one the asked kind is answered by
    "cued",  # the span's type is one a question word asks for (``_CUES``)
    "head_asked",  # its last character is in the noun the question asks for (河流 → 淡水河)
    "asked_share",  # share of that noun's characters the span writes
    *(f"type_{t}" for t in SPAN_TYPES),
    "kind_what",  # the question asks no specific kind of fact
    "in_question",  # the question already writes the span: it is what is asked about, not the answer
    "question_share",  # share of the span's characters the question writes
    "log_distance",  # characters between the span and the nearest question term in the sentence
    "distance_gap",  # … less the least such distance of the sentence's candidates
    "term_before",  # the nearest question term stands before the span
    "no_term",  # the sentence writes no question term
    "log_chars",
    "words",
    "position",  # where the span starts in its sentence (0 start, 1 end)
    "after_marker",  # it follows a colon or 是/为/达/至/有/约
    "before_stop",  # a clause ends right after it
    "same_type",  # share of the sentence's candidates of its type: one of many is a weaker pick
    "widest",  # it is the widest candidate of its type at its place (not part of a longer noun run)
    "focus_near",  # the asked-about word (``Question.focus``) is a few characters away, in its clause
    # The question read as the sentence with its question word in the span's place (the
    # sliding-window reading of MCTest and SQuAD's baseline): do the words written around the
    # question word stand on the same sides of the span?
    "left_window",  # share of the character pairs just before the question word found just before the span
    "right_window",  # … just after it, found just after the span
    "terms_left",  # share of the question's terms before its question word written before the span
    "terms_right",  # … after it, written after the span
    "terms_crossed",  # share of the terms written on the other side of the span than in the question
    "new_suits",  # its type suits the asked kind and the question does not already write it
    "frame",  # share of the characters touching the question word the span writes (第几位 → 第九位)
)

#: Questions that ask for an explanation get the quote alone: their answer is a clause, not a fact.
EXPLANATION = re.compile(
    r"为什么|为何|怎么|如何|怎样|原因|理由|意义|作用|影响|区别|不同|特点|目的|过程|方法|方式|"
    r"\bwhy\b|\bhow\b(?!\s+(?:many|much|long|old|far|big|large|high))|\bexplain\b|\bdescribe\b",
    re.I,
)

_NOUN_TAGS = frozenset("n nr nrfg nrt ns nt nz ng vn eng j nl".split())
_PERSON_TAGS = frozenset("nr nrfg nrt".split())
_NUMERAL = re.compile(r"[\d零〇一二三四五六七八九十两百千万亿]")
_ONE_DATE = (
    r"(?:(?:公元前?)?(?:\d{2,4}|[〇零一二三四五六七八九]{2,4})年(?:代)?(?:\d{1,2}|[一二三四五六七八九十]{1,3})?月?"
    r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})?[日号]?"
    r"|(?:[今去明前当同本]年)?(?:\d{1,2}|[一二三四五六七八九十]{1,3})月(?:\d{1,2}|[一二三四五六七八九十]{1,3})?[日号]?"
    r"|(?:\d{1,2}|[一二三四五六七八九十]{1,3})[日号])"
)
_DATE_SUFFIX = r"(?:[初底中末]|前后|以来|之前|之后)?"
#: A date with its suffix ("今年底") and without it: "2022年中国…" holds the date 2022年, not "2022年中".
_DATES = (
    re.compile(_ONE_DATE + _DATE_SUFFIX),
    re.compile(_ONE_DATE),
    # A period: two dates joined ("8月7日至8日", "2019年-2021年"), a candidate beside each date.
    re.compile(rf"(?:{_ONE_DATE})\s*[-~～至到]\s*(?:{_ONE_DATE}){_DATE_SUFFIX}"),
)
_TIME = re.compile(r"(?:[上下]午|凌晨|早上|晚上)?\d{1,2}[:：]\d{2}(?:\s*[-~至到]\s*\d{1,2}[:：]\d{2})?")
_PERCENT = re.compile(r"(?:\d+(?:\.\d+)?\s*%|百分之[零一二三四五六七八九十百点]+)")
_NAMED = (
    ("title", re.compile(r"《([^《》]{1,40})》")),
    ("quoted", re.compile(r"“([^“”]{1,40})”|「([^「」]{1,40})」|『([^『』]{1,40})』|\"([^\"]{1,40})\"")),
)
#: Interrogatives, a closed class: where the question word stands, the answer stands in the sentence.
_WH = re.compile(r"什么|甚么|哪|谁|多少|几|何|怎|\b(?:what|who|whom|when|where|which|how)\b")
_CLAUSE_MARKS = "，,；;：:。！？!?"
_CLAUSE = re.compile(f"[^{_CLAUSE_MARKS}]+")
_BREAK = re.compile(f"[{_CLAUSE_MARKS}]")
_PREDICATE = re.compile(r"(?:是|为|叫做?|称为?|名为|位于|改为|变更为)\s*")
_JOINERS = ("、", "和", "及", "与", "以及", "、和")
_MARKER = re.compile(r"(?:[:：]|是|为|达|至|有|约|共|在|于)\s*$")
_STOP = re.compile(r"^\s*(?:[，。；;,.！？!?）)]|$)")


@dataclass(frozen=True)
class Span:
    """One candidate: ``text`` is ``document.text[start:end]``."""

    start: int
    end: int
    text: str
    type: str
    widest: bool = True


@dataclass(frozen=True)
class Words:
    """A sentence's stored analysis: its offset in the document and its words, tags and word starts."""

    start: int
    text: str
    words: tuple[str, ...]
    tags: tuple[str, ...]
    starts: tuple[int, ...]

    def bounds(self, i: int, j: int) -> tuple[int, int]:
        """Offsets (in the sentence) of words ``i`` … ``j - 1``, without blanks at the ends."""
        a = self.starts[i]
        b = self.starts[j] if j < len(self.starts) else len(self.text)
        piece = self.text[a:b]
        return a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())


def sentence_words(c: Candidate, retriever: Retriever) -> Words:
    """The words the index stored for this sentence (analysed afresh when a passage cut it otherwise)."""
    for s in retriever.sentences_in(c.passage.doc_id, c.start, c.end):
        if (s.start, s.end) == (c.start, c.end):
            return Words(c.start, c.text, s.words, s.tags, s.word_starts)
    return Words(c.start, c.text, *analyse_sentence(c.text))


# --------------------------------------------------------------------------- candidates


def _numbers(w: Words) -> list[tuple[int, int, str]]:
    """Amounts: a run of numeral words with the classifier or unit after it."""
    out, i, n = [], 0, len(w.words)
    while i < n:
        if w.tags[i] != "m" or not _NUMERAL.search(w.words[i]):
            i += 1
            continue

        def joined(k: int) -> bool:  # word k follows word k - 1 with no blank between
            return not any(ch.isspace() for ch in w.text[w.starts[k - 1] : w.starts[k]])

        j = i + 1
        while j < n and joined(j) and (w.tags[j] in ("m", "q") or w.words[j] in ("%", "‰", ".")):
            j += 1
        # A unit jieba calls a noun (人, 元, 公里 is a q): one short word right after a bare number
        # ("第七届" has its classifier: 数字 after it is no unit).
        if (
            j < n
            and j == i + 1
            and joined(j)
            and _NUMERAL.fullmatch(w.words[i][-1])
            and w.tags[j] in ("n", "ng", "nz")
            and len(w.words[j]) <= 2
        ):
            j += 1
        out.append((i, j, "number"))
        i = j
    return out


def _runs(w: Words) -> list[tuple[int, int, str]]:
    """Runs of nouns; the typed words among them (person, place, organisation) on their own too."""
    n = len(w.words)

    def nominal(k: int) -> bool:
        # An adjective or distinguishing word before a noun belongs to its phrase (大数据, 国有企业).
        return w.tags[k] in _NOUN_TAGS or (
            w.tags[k] in ("a", "b") and k + 1 < n and w.tags[k + 1] in _NOUN_TAGS
        )

    out, i = [], 0
    while i < n:
        if not nominal(i):
            i += 1
            continue
        j = i
        while j < n and nominal(j):
            j += 1
        last = w.tags[j - 1]
        whole = (
            "person"
            if last in _PERSON_TAGS
            else "place"
            if last == "ns"
            else "organisation"
            if last == "nt"
            else "noun"
        )
        limit = config.ANSWERING.span_max_words
        for a in range(i, j):
            for b in range(a + 1, min(j, a + limit) + 1):
                tags = set(w.tags[a:b])
                kind = (
                    "person"
                    if tags <= _PERSON_TAGS
                    else "place"
                    if tags == {"ns"}
                    else "organisation"
                    if w.tags[b - 1] == "nt"
                    else whole
                    if (a, b) == (i, j)
                    else "noun"
                )
                out.append((a, b, kind))
        i = j
    return out


def candidate_spans(w: Words) -> list[Span]:
    """Every candidate span of one sentence, each at most once (the more specific type kept)."""
    found: dict[tuple[int, int], tuple[str, bool]] = {}

    def add(a: int, b: int, kind: str, widest: bool = True) -> None:
        piece = w.text[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())
        if b > a and (a, b) not in found:
            found[(a, b)] = (kind, widest)

    # Patterns first: a date is a date before it is a number, a name in 《》 before a noun run.
    # A pattern must start and end where words do ("6号" is no date in "6号线").
    edges = {*w.starts, len(w.text)}
    facts: list[tuple[int, int]] = []
    for kind, pattern in (("time", _TIME), ("percent", _PERCENT), *(("date", d) for d in _DATES)):
        for m in pattern.finditer(w.text):
            if m.start() in edges and (m.end() in edges or m.group()[-1] in "年月日%"):
                add(m.start(), m.end(), kind)
                facts.append((m.start(), m.end()))
    for i, t in enumerate(w.tags):
        if t == "t":  # a time word: 今年底, 年初, 上世纪
            add(*w.bounds(i, i + 1), "date")
    for kind, pattern in _NAMED:
        for m in pattern.finditer(w.text):
            inner = next(k for k in range(1, len(m.groups()) + 1) if m.group(k) is not None)
            add(m.start(), m.end(), kind)
            add(m.start(inner), m.end(inner), kind)
    items = []
    for i, j, kind in _numbers(w):
        a, b = w.bounds(i, j)
        if not any(a < fb and fa < b for fa, fb in facts):  # not the digits of a date or a time
            add(a, b, kind)
            items.append((a, b))
    runs = _runs(w)
    widest = {}
    for i, j, _ in runs:
        if all(not (a <= i and j <= b and (a, b) != (i, j)) for a, b, _ in runs):
            widest[i] = max(widest.get(i, i), j)
    for i, j, kind in runs:
        add(*w.bounds(i, j), kind, widest.get(i) == j)
    items += [w.bounds(i, j) for i, j in widest.items()]
    items += [(m.start(), m.end()) for _, p in _NAMED for m in p.finditer(w.text)]
    for a, b in _lists(w.text, items):
        add(a, b, "list")
    for m in _CLAUSE.finditer(w.text):
        add(m.start(), m.end(), "clause")
        for p in _PREDICATE.finditer(m.group()):
            if m.start() + p.end() in edges:
                add(m.start() + p.end(), m.end(), "clause")
    return [Span(w.start + a, w.start + b, w.text[a:b], kind, wide) for (a, b), (kind, wide) in found.items()]


def _lists(text: str, items: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Chains of two or more items joined by 、 / 和 / 及 / 与 (with a trailing 等 kept)."""
    items = sorted(set(items))
    by_start: dict[int, list[int]] = {}
    for a, b in items:
        by_start.setdefault(a, []).append(b)
    out = []
    for a, b in items:
        end, count = b, 1
        while True:
            nxt = next(
                (
                    (s, max(by_start[s]))
                    for joiner in _JOINERS
                    for s in [end + len(joiner)]
                    if text[end : end + len(joiner)] == joiner and s in by_start
                ),
                None,
            )
            if nxt is None:
                break
            end, count = nxt[1], count + 1
        if count >= 2:
            out.append((a, end + (text[end : end + 1] == "等")))
    return out


# ----------------------------------------------------------------------------- features


def _term_places(sentence: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Where the question's terms are written in the (normalised) sentence."""
    out = []
    for t in terms:
        out += [(m.start(), m.end()) for m in re.finditer(re.escape(t), sentence)]
    return out


def _bigrams(text: str) -> set[str]:
    text = _plain(text)
    return {text[i : i + 2] for i in range(len(text) - 1)}


@dataclass(frozen=True)
class _Sides:
    """The question around its question word (its end when it has none: "…单位是?")."""

    left: str  # the characters just before the question word …
    right: str  # … and just after it
    ahead: list[str]  # its terms before the question word …
    behind: list[str]  # … and after it
    frame: str  # the characters touching the question word: a span of the asked form writes them


def _sides(asked: str, terms: Sequence[str]) -> _Sides:
    m = _WH.search(asked)
    at, after = (m.start(), m.end()) if m else (len(asked.rstrip("?？。 ")), len(asked))
    window = config.ANSWERING.span_question_window
    touching = asked[at - 1 : at] + asked[after : after + 1]
    return _Sides(
        left=asked[max(0, at - window) : at],
        right=asked[after : after + window],
        ahead=[t for t in terms if 0 <= asked.find(t) < at],
        behind=[t for t in terms if asked.find(t) >= after],
        frame="".join(ch for ch in touching if ch.isalnum()),
    )


def span_features(q: Question, w: Words, spans: Sequence[Span]) -> np.ndarray:
    """One row of ``SPAN_FEATURES`` per span of the sentence ``w``."""
    if not spans:
        return np.zeros((0, len(SPAN_FEATURES)))
    norm = normalise_query_text(w.text)
    asked = normalise_query_text(q.text)
    places = _term_places(norm, [t for t in q.terms if t])
    focus = _term_places(norm, [q.focus]) if q.focus else []
    suits = _SUITS.get(q.kind, set())
    cued = {t for t, pattern in _CUES if pattern.search(asked)} | ({"date"} if "time" in suits else set())
    nouns = {m.group(1) for m in _ASKED_NOUN.finditer(asked)} - {"么", "时候", "时间", "地方"}
    noun_chars = set("".join(nouns))
    terms = [t for t in q.terms if t]
    sides = _sides(asked, terms)
    ahead, behind = sides.ahead, sides.behind
    left_pairs, right_pairs = _bigrams(sides.left), _bigrams(sides.right)
    plain_asked = _plain(asked)
    reach = config.ANSWERING.span_window_chars
    counts: dict[str, int] = {}
    for s in spans:
        counts[s.type] = counts.get(s.type, 0) + 1
    size = max(len(w.text), 1)
    rows = []
    for s in spans:
        a, b = s.start - w.start, s.end - w.start
        text = normalise_query_text(s.text)
        core = _plain(text)
        gaps = [(max(0, pa - b, a - pb), pb <= a) for pa, pb in places if pb <= a or pa >= b]
        gap, before = min(gaps) if gaps else (size, False)
        # Only in the span's own clause: "第3区，湖面面积为20平方公里" puts 面积 next to both.
        near = min(
            (
                max(0, fa - b, a - fb)
                for fa, fb in focus
                if not _BREAK.search(norm[b:fa] if fa >= b else norm[fb:a])
            ),
            default=size,
        )
        rows.append(
            [
                float(s.type in suits),
                float(s.type in cued),
                float(bool(core) and core[-1] in noun_chars),
                sum(ch in core for ch in noun_chars) / len(noun_chars) if noun_chars else 0.0,
                *(float(s.type == t) for t in SPAN_TYPES),
                float(q.kind == "what"),
                float(bool(core) and core in plain_asked),
                sum(ch in asked for ch in core) / len(core) if core else 1.0,
                math.log1p(gap),
                0.0,  # distance_gap, below
                float(before),
                float(not places),
                math.log1p(len(s.text)),
                float(sum(1 for _ in re.finditer(r"[\u4e00-\u9fff]{1,2}|[a-z0-9.%]+", text))),
                a / size,
                float(bool(_MARKER.search(w.text[max(0, a - 3) : a]))),
                float(bool(_STOP.match(w.text[b : b + 2]))),
                counts[s.type] / len(spans),
                float(s.widest),
                float(near <= config.ANSWERING.span_focus_chars),
                share_written(left_pairs, _plain(norm[max(0, a - reach) : a])),
                share_written(right_pairs, _plain(norm[b : b + reach])),
                sum(t in norm[:a] for t in ahead) / len(ahead) if ahead else 0.0,
                sum(t in norm[b:] for t in behind) / len(behind) if behind else 0.0,
                (
                    sum(t in norm[b:] and t not in norm[:a] for t in ahead)
                    + sum(t in norm[:a] and t not in norm[b:] for t in behind)
                )
                / max(1, len(ahead) + len(behind)),
                float(s.type in suits and not (core and core in plain_asked)),
                sum(ch in core for ch in sides.frame) / len(sides.frame) if sides.frame else 0.0,
            ]
        )
    x = np.asarray(rows, dtype=np.float64)
    column = SPAN_FEATURES.index("log_distance")
    x[:, column + 1] = x[:, column] - x[:, column].min()
    return x


# ------------------------------------------------------------------------------ choice


def asks_explanation(q: Question) -> bool:
    """An explanation, a yes/no question, or a follow-up leaning on the conversation: the span
    model learnt from questions that stand alone, and picked the previous question's fact for
    "那时延呢？" after a 5G question (95.15% where 1.88毫秒 was asked), so a follow-up gets the
    quote alone."""
    return q.kind == "yesno" or bool(q.carried) or bool(EXPLANATION.search(q.text))


def spans_of(q: Question, quotes: Sequence[Candidate], retriever: Retriever) -> tuple[list, np.ndarray]:
    """The candidates of the quotes as (quote, span) pairs, and their features."""
    pairs, rows = [], []
    for c in quotes:
        w = sentence_words(c, retriever)
        spans = candidate_spans(w)
        pairs += [(c, s) for s in spans]
        rows.append(span_features(q, w, spans))
    x = np.vstack(rows) if rows else np.zeros((0, len(SPAN_FEATURES)))
    return pairs, x


def short_answer(q: Question, quotes: Sequence[Candidate], model, retriever: Retriever) -> ShortAnswer | None:
    """The best span of the quotes when the span model is confident enough; its ``citation_n``
    is its quote's place in ``quotes`` (the answer cites them in that order, from 1)."""
    if asks_explanation(q) or not quotes:
        return None
    found = best_span(q, quotes, model.span, retriever)
    if found is None or found[2] < model.span_threshold:
        return None
    c, s, p = found
    n = 1 + [id(quote) for quote in quotes].index(id(c))
    return ShortAnswer(s.text, n, s.start, s.end, round(p, 4))


def best_span(q: Question, quotes: Sequence[Candidate], span_model, retriever: Retriever):
    """The likeliest span of the best quote (the sentence model's first) as (quote, span,
    probability), None without candidates: a second quote is shown as context, and its amounts
    and names would compete with the answer's."""
    pairs, x = spans_of(q, [max(quotes, key=lambda c: c.score)], retriever)
    if not pairs:
        return None
    probs = span_model.probability(x)
    best = int(np.argmax(probs))  # the first of equals: document order
    return (*pairs[best], float(probs[best]))


# ------------------------------------------------------------------------------ measure


#: The marks CMRC 2018's evaluation script removes (``remove_punctuation``; its "……" is two "…").
_CMRC_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》…·、「」（）－～『』")
_DROP_PUNCTUATION = str.maketrans(dict.fromkeys(_CMRC_PUNCTUATION))


def _plain(text: str) -> str:
    """Lower case, without CMRC 2018's punctuation or whitespace. Like its script, but over
    characters throughout (it keeps an English word whole, which only matters for English)."""
    return "".join(text.lower().translate(_DROP_PUNCTUATION).split())


def _common(a: str, b: str) -> int:
    """Length of the longest common substring."""
    best, prev = 0, [0] * (len(b) + 1)
    for ch in a:
        row = [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if ch == other:
                row[j] = prev[j - 1] + 1
                best = max(best, row[j])
        prev = row
    return best


def f1(prediction: str, golds: Sequence[str]) -> float:
    """CMRC 2018 F1, best over ``golds``: 2PR/(P+R) of the longest common substring."""
    pred = _plain(prediction)
    best = 0.0
    for gold in golds:
        g = _plain(gold)
        common = _common(pred, g)
        if common:
            p, r = common / len(pred), common / len(g)
            best = max(best, 2 * p * r / (p + r))
    return best


def exact(prediction: str, golds: Sequence[str]) -> float:
    pred = _plain(prediction)
    return float(any(pred == _plain(g) for g in golds))


_DIGITS = re.compile(r"\d+(?:\.\d+)?|[零〇一二三四五六七八九十两百千万亿]+")


def right_fact(prediction: str, golds: Sequence[str]) -> bool:
    """Whether a short answer states the fact: F1 >= ``span_positive_f1`` against a gold, or it
    lies within a gold and writes all of that gold's numbers (a gold written to be found in a
    quote often carries words around the fact: "50个" states "50个数据中心")."""
    if f1(prediction, golds) >= config.ANSWERING.span_positive_f1:
        return True
    pred = _plain(prediction)
    return any(
        pred in _plain(g) and _DIGITS.findall(g) and _DIGITS.findall(g) == _DIGITS.findall(prediction)
        for g in golds
    )
