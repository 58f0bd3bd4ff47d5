"""Extractive answers: pick source sentences, quote them verbatim, or refuse honestly.

Nothing here writes a fact. Every answer is a template (lead-in, source line) around
whole sentences cut from ``Document.text`` by offset, so a quote can always be
highlighted in its source. The refusal decision rests on two signals that mean the
same on any corpus: how much of the question's specific vocabulary the best passage
covers, and whether the asked-for kind of fact (a number with the asked unit, a
date, a name) is there at all.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import config
from .chunking import split_sentences
from .lexical import normalise_query_text, segment
from .retrieval import (
    ENGLISH_STOP_WORDS,
    Passage,
    QuestionError,
    Retriever,
    clean_question,
    default_retriever,
    is_english,
    translate_english,
)

log = logging.getLogger(__name__)

__all__ = ["Answer", "Citation", "QuestionError", "Turn", "answer"]


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of the conversation, oldest first in a history."""

    question: str
    answer: str


def clip_history(turns: Sequence[Turn]) -> list[Turn]:
    """The last ``MAX_HISTORY_TURNS`` turns, each side cut to ``MAX_HISTORY_ENTRY_CHARS``.

    Only the latest turns can shape a follow-up, and a request must cost the same however
    much history it carries: one megabyte of earlier "questions" once stalled every answer.
    """
    limit = config.MAX_HISTORY_ENTRY_CHARS
    return [Turn(t.question[:limit], t.answer[:limit]) for t in list(turns)[-config.MAX_HISTORY_TURNS :]]


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    title: str
    section: str
    date: str
    source: str
    quote: str
    passage: str
    start: int  # offsets of ``quote`` in the normalised document text
    end: int
    passage_start: int
    passage_end: int


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    refused: bool
    confidence: float
    truncated: bool = False
    missing_terms: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    index_version: str = ""

    def to_dict(self) -> dict:
        """The JSON shape shared by ``assistant ask --json`` and the web API."""
        return {
            "question": self.question,
            "text": self.text,
            "refused": self.refused,
            "confidence": self.confidence,
            "truncated": self.truncated,
            "missing_terms": list(self.missing_terms),
            "suggestions": list(self.suggestions),
            "citations": [
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "section": c.section,
                    "date": c.date,
                    "source": c.source,
                    "quote": c.quote,
                    "passage": c.passage,
                    "start": c.start,
                    "end": c.end,
                }
                for c in self.citations
            ],
        }


# ------------------------------------------------------------------ question analysis

_CJK = re.compile(r"[\u3400-\u9fff]")

#: Question kinds, each with how a question asks for it and how a sentence holds it.
_KINDS: dict[str, tuple[re.Pattern, re.Pattern]] = {
    "time": (
        re.compile(r"几点|营业时间|开放时间|\bwhat time\b|\bwhat hours?\b|\bopening hours\b", re.I),
        re.compile(r"\d{1,2}[:：]\d{2}|\d{1,2}\s*点|[上下]午\s*\d|凌晨|早上\s*\d|晚上\s*\d|全天|24小时"),
    ),
    "where": (
        # Only a named administrative level: "在哪里" is as often answered by "在6号线一期".
        re.compile(r"哪个(?:区|县|镇|街道)|\bwhich district\b", re.I),
        re.compile(r"[\u4e00-\u9fff]{2,8}?(?<![地园社城片景小辖全市])(?:区|县|镇|街道)"),
    ),
    "date": (
        re.compile(r"哪一?年|哪个月|几月|什么时[候间]|何时|哪几?天|日期|\bwhen\b|what year|which year", re.I),
        re.compile(r"\d{4}年|\d{1,2}月|今年|去年|明年|以来|初期|年底|年初"),
    ),
    "number": (
        re.compile(
            r"多少|(?<!哪)几[个家项位次人条座辆名架批届年%]?|多[大高长快]|比例|百分|占比|\bhow (many|much)\b|"
            r"what (percentage|rate|share|number)|\brate\b|\bpercent|\bpopulation\b|\bhow long\b",
            re.I,
        ),
        re.compile(
            r"\d|[一二三四五六七八九十两][十百千万亿多余]|[一二三四五六七八九十两][个家项位次人条座辆名架批]|百分之"
        ),
    ),
    "who": (
        re.compile(r"谁|哪位|什么人|姓名|名字|\bwho\b|\bwhose\b", re.I),
        re.compile(r"总经理|总裁|首席|记者|局长|主任|董事长|负责人|介绍|告诉|说[。，,]|表示"),
    ),
    "list": (
        re.compile(
            r"哪些|哪几|包括|包含|有什么(?!特|不同|不一样|用|作用|意义|好处|区别|优势|亮点)|有哪|"
            r"\bwhich\b.*\b(areas|fields|things|services)\b",
            re.I,
        ),
        re.compile(r"、|等"),
    ),
    "yesno": (
        re.compile(
            r"是否|能不能|能否|可不可以|有没有|会不会|可以.*吗|能.*吗|^(can|is|are|does|do|did|has|have)\b",
            re.I,
        ),
        re.compile(r"."),
    ),
}

_QUESTION_WORDS = re.compile(
    r"请问|是什么|什么样|什么|哪一年|哪些|哪个|哪家|哪位|哪里|哪儿|多少|怎么样|怎样|怎么|如何|为什么|"
    r"是否|能不能|能否|可不可以|有没有|会不会|吗|呢|吧|谁|几|一下|告诉我|介绍"
)
_UNIT_AFTER_ASK = re.compile(
    r"(?<!第)(?:多少|几)(公里|千米|平方米|平方公里|米|亿元|万元|元|辆|名|座|吨|台|部|套|张|所|栋|分|笔|户|场)"
)
#: Amounts measured in money, whatever word a question uses for them.
_MONEY_ASK = re.compile(
    r"多少钱|几块钱|(?:投资|预算|经费|资金|票价|价格|费用|成本|营收|收入|金额|花费|补贴)[^，。？?]{0,6}(?:多少|几)"
    r"|(?:多少|几)[^，。？?]{0,4}(?:投资|预算|经费|资金|费用|成本|补贴)"
    r"|\b(?:cost|price|budget|investment|fare|fee|spend|spent|funding)\b"
)
_FOLLOW_UP = re.compile(
    r"^(那|那么|还有|那它|它|他|她|这|该|其|此)|[呢]\s*[？?]?$|^(and|what about|how about)\b", re.I
)
_PRONOUN = re.compile(r"它|他们|他|她|这个|该|其|此|\b(it|its|they|their|this|that)\b", re.I)

#: Words that say nothing specific about the topic of a question in this domain.
_GENERIC = frozenset(
    "青岛 青岛市 我市 数字 问题 资料 文章 报道 目前 现在 请问 一下 介绍 情况 有关 关于 方面 主要 "
    # Words about the article itself, which no sentence of it states.
    "文中 文末 本文 全文 原文 这篇 那篇 本篇 该文 此文 读者 作者 article page text photo photos story "
    "一个 哪 年 个 们 一共 总共 大概 大约 已经 还 还是 都 是不是 能够 可以 应该 具体 一般 多少钱 "
    # Words of conversation, not of the topic ("听说…到底排第几", "那会儿…还有别的…吗").
    "听说 到底 究竟 那会儿 当时 那时 后来 之后 以后 如今 那个 这个 别的 其他 其它 "
    # What kind of answer is wanted, not about what ("有什么特别的").
    "特别 特殊 厉害 不一样 "
    # English function words and question words carry no topic.
    "qingdao city china chinese the a an of in on at to for from by with and or is are was were be "
    "been being has have had do does did what which who whom whose when where why how many much "
    "its it this that these those there their they name called so far per".split()
)


def question_kind(question: str) -> str:
    """The kind of fact asked for; the first matching kind wins (date before number)."""
    for kind, (asks, _) in _KINDS.items():
        if asks.search(question):
            return kind
    return "what"


# ------------------------------------------------------------------------ follow-ups


def resolve_follow_up(question: str, history: Sequence[Turn]) -> tuple[str, str | None]:
    """The question to search with, and the kind inherited from the previous question.

    A short question that leans on the conversation ("那6号线呢？", "它是什么时候开通的？")
    is searched together with the previous question, so its topic carries over.
    """
    if not history:
        return question, None
    previous = history[-1].question
    short = len(question) <= 16 or (is_english(question) and len(question.split()) <= 6)
    if short and (_FOLLOW_UP.search(question) or _PRONOUN.search(question)):
        own_kind = question_kind(question)
        inherited = question_kind(previous) if own_kind == "what" else None
        return f"{question} {previous}", inherited
    return question, None


_ASK = re.compile(r"多少|几|什么|谁|哪[一个些家位种份条里年天]?")
_SKIP = set("是 叫 为 有 了 的 都 共 在 个 家 位 种 项 条 名 年 月 天 到 成 成为 做 包括 包含 属于".split())
#: Words that only say what kind of answer is wanted ("什么时候", "哪些方面"), not its topic.
_ANSWER_KINDS = frozenset(
    "名字 名称 时候 时期 时间 地方 方面 信息 程度 职务 职位 部门 环节 领域 单位 机构 类型 内容 样子 "
    "情况 作用 意义 特点 级别 区域 位置 方式 模式 东西 事情 措施 办法 目标".split()
)


def _focus_term(question: str, terms: list[str]) -> tuple[str | None, bool]:
    """The thing a question asks about: the word right after or before its question word,
    and whether it came before it.

    In "主任是谁" or "有多少注册用户", 主任 and 注册 name exactly what must be in the
    sources for an answer to exist; the rest of the question only locates it. A verb before
    the question word is only its predicate (担任 in "担任什么职务").
    """
    words = segment(normalise_query_text(question))
    for i, w in enumerate(words):
        if not _ASK.match(w):
            continue
        # Look past classifiers, verbs like 是/有 and codes ("多少个5G基站" asks about 基站).
        for step in (1, -1):
            j = i + step
            while 0 <= j < len(words) and (
                words[j] in _SKIP or _ASK.match(words[j]) or _NUMERIC.match(words[j]) or not words[j].strip()
            ):
                j += step
            if (
                0 <= j < len(words)
                and words[j] in terms
                and words[j] not in _ANSWER_KINDS
                and not re.match(r"[一二两三四五六七八九十百千万几]", words[j])
            ):
                return words[j], step < 0
        return None, False
    return None, False


_NUMERIC = re.compile(r"\d")  # codes: 5G, 2.0


def _question_terms(
    text: str, english: bool, retriever: Retriever, vocab: "_Vocabulary"
) -> tuple[list[str], dict[str, str], dict[str, bool]]:
    """The terms to look for in the sources, the resident's own word for each, and the
    terms that stand for Chinese names given in pinyin, with whether the sources write them.

    An English question is matched through the model's bilingual lexicon: each content
    word stands for the translation the sources use (or its first one); a word with no
    translation is kept as is and will usually count as not covered. A name in pinyin
    stands for the sources' own spelling ("Cheng Peng" → 程鹏), or for itself ("Chengdu").
    """
    if not (english and retriever.lexicon):
        return _content_terms(text), {}, {}
    terms: list[str] = []
    labels: dict[str, str] = {}
    names: dict[str, bool] = {}
    for name in _pinyin_names(text, retriever.lexicon):
        written = vocab.pinyin_word(name)
        term = written or name.lower()
        terms.append(term)
        labels[term] = name
        names[term] = written is not None
    named = {w.lower() for name in labels.values() for w in re.split(r"[ -]", name)}
    for word, chinese in translate_english(text, retriever.lexicon):
        if word in _GENERIC or word in named:
            continue
        term = next((zh for zh in chinese if vocab.mentions(zh)), chinese[0] if chinese else word)
        if term not in terms:
            terms.append(term)
            labels[term] = word
    # Numbers and codes ("2.0", "5G", "TACS") are written the same in both languages.
    for code in re.findall(r"\d+(?:\.\d+)?[a-z]*|\b[A-Z]{2,}\b", text):
        if code.lower() not in terms:
            terms.append(code.lower())
    return terms, labels, names


_ENGLISH_ANSWER_KINDS = frozenset(
    "total main number amount name kind type value percentage percent rate share level year date "
    "time period people person".split()
)


def _english_focus(terms: list[str], labels: dict[str, str]) -> str | None:
    """The first translated content word of an English question ("budget" in "What is the
    total budget…"): English puts what it asks about right after the question word."""
    for term in terms:
        word = labels.get(term)
        if word and term != word and word not in _ENGLISH_ANSWER_KINDS:
            return term
    return None


# ---------------------------------------------------------------------- term coverage


def _content_terms(question: str) -> list[str]:
    """The question's specific words, simplified and lower-cased, question words removed."""
    text = _QUESTION_WORDS.sub(" ", normalise_query_text(question))
    terms: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+|[a-z][a-z\-]+|\d+(?:\.\d+)?%?", text):
        words = segment(run) if _CJK.match(run) else [run]
        for w in words:
            if (
                w not in _GENERIC
                and w not in _SKIP
                and not _ASK.fullmatch(w)
                and (len(w) > 1 or w.isdigit())
                and w not in terms
            ):
                terms.append(w)
    return terms


class _Vocabulary:
    """What the indexed text contains, and how telling each question word is.

    A word's weight is its surprisal in general Chinese (jieba's dictionary frequencies),
    not in our corpus: "大概" or "一共" say little about any question, while "深圳" or
    "票价" name exactly what is asked — if the sources never mention it, they cannot
    answer.
    """

    def __init__(self, retriever: Retriever):
        import jieba

        segment("")  # initialises jieba's dictionary
        self.freq = jieba.dt.FREQ
        self.total = jieba.dt.total
        self.all_text = normalise_query_text("\n".join(d.text for d in retriever.documents.values()))
        self.bm25_vocab = retriever.data.bm25.vocab_dict
        self._mentions: dict[str, bool] = {}
        self._tags: dict[str, str] | None = None
        self._readings: dict[str, set[str]] | None = None  # pinyin syllable -> characters

    def weight(self, term: str) -> float:
        """Surprisal above that of everyday words; a word jieba only guessed (not in its
        dictionary, e.g. 挤进, 多派) weighs what its characters weigh on average. A verb
        weighs half: residents paraphrase what happened (采访 for 见证, 担任 for a title)
        far more often than the thing it happened to."""
        if term not in self.freq and len(term) > 1 and _CJK.match(term):
            return sum(self.weight(ch) for ch in term) / len(term)
        surprisal = -math.log((self.freq.get(term, 0) + 1) / self.total)
        if re.fullmatch(r"[a-z]{4,}", term) and term not in self.freq:
            return 3.0  # an English word the lexicon could not translate: a guess, not a fact
        return max(0.5, surprisal - 7.0) * (0.5 if self.tag(term) == "v" else 1.0)

    def tag(self, term: str) -> str | None:
        """jieba's part-of-speech tag for ``term``, if its dictionary has one."""
        if self._tags is None:
            import jieba.posseg

            jieba.posseg.dt.initialize()
            self._tags = jieba.posseg.dt.word_tag_tab
        return self._tags.get(term)

    def is_place(self, term: str) -> bool:
        """A city, province or country name, e.g. 深圳, 上海, 山东省, 美国.

        jieba tags many plain words "ns" (普及, 太多) and some places plain nouns (烟台),
        so a word counts as a place when the dictionary knows it with an administrative
        suffix (深圳 → 深圳市), or it is tagged a place and carries one itself or names a
        country (…国).
        """
        if term in _GENERIC_PLACES or len(term) < 2:
            return False
        if any(self.tag(term + suffix) == "ns" for suffix in _ADMIN_SUFFIXES):
            return True  # 烟台 is tagged a plain noun, but 烟台市 is a place
        if self.tag(term) != "ns":
            return False
        return (term[-1] in _ADMIN_SUFFIXES and len(term) > 2) or term[-1] == "国"

    def is_noun(self, term: str) -> bool:
        """Nouns name things a source must mention; the verb of a when-question (开始, 启动)
        is usually phrased differently in the source (以来, 全面启动)."""
        return (self.tag(term) or "n") in _NOUN_TAGS

    def pinyin_word(self, name: str) -> str | None:
        """The word of the sources that reads as ``name`` in pinyin ("Cheng Peng" → 程鹏,
        "Zhenqing" → 真情), or None ("Chengdu": the sources never write 成都)."""
        if self._readings is None:
            from pypinyin import Style, pinyin

            readings: dict[str, set[str]] = {}
            for ch in {c for c in set(self.all_text) if _CJK.match(c)}:  # no 6M-item list
                for syllable in pinyin(ch, style=Style.NORMAL, heteronym=True)[0]:
                    readings.setdefault(syllable, set()).add(ch)
            self._readings = readings
        for syllables in _pinyin_splits(name.lower().replace(" ", "").replace("-", "")):
            # Spell it character by character; neighbours must occur together in the index.
            words = sorted(self._readings.get(syllables[0], ()))
            for syllable in syllables[1:]:
                nexts = sorted(self._readings.get(syllable, ()))
                words = [w + c for w in words for c in nexts if w[-1] + c in self.bm25_vocab][:64]
            found = next((w for w in words if w in self.all_text), None)
            if found:
                return found
        return None

    def mentions(self, term: str) -> bool:
        """Whether the sources name ``term``, also without its suffix (山东省 → 山东)."""
        if term not in self._mentions:
            found = self._contains(term) or (
                term[-1] in _ADMIN_SUFFIXES and len(term) > 2 and self._contains(term[:-1])
            )
            self._mentions[term] = found
        return self._mentions[term]

    def _contains(self, term: str) -> bool:
        """A scan of the whole text, skipped when the chunks hold some character pair of
        ``term`` nowhere: BM25 indexes every CJK bigram of every chunk, so its vocabulary
        rules most unknown terms out at once (headings, outside chunks, are not scanned)."""
        pairs = (term[i : i + 2] for i in range(len(term) - 1))
        if any(_CJK_PAIR.fullmatch(p) and p not in self.bm25_vocab for p in pairs):
            return False
        return term in self.all_text


_CJK_PAIR = re.compile(r"[\u3400-\u9fff]{2}")
_ADMIN_SUFFIXES = "省市县区州"
#: jieba noun tags; "ns" is left out, as jieba puts it on many non-nouns (普及, 太多).
_NOUN_TAGS = frozenset("n nz nt nr ng nrt nrfg".split())
_GENERIC_PLACES = frozenset(
    "城市 全国 国家 全省 全市 地区 国内 国际 世界 中国 省内 市内 当地 本地 全球".split()
)
_vocab_cache: "weakref.WeakKeyDictionary[Retriever, _Vocabulary]" = weakref.WeakKeyDictionary()
_vocab_lock = threading.Lock()


_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*")


def _pinyin_names(question: str, lexicon: dict[str, tuple[str, ...]]) -> list[str]:
    """Capitalised words of an English question that are no English word the lexicon knows
    and read as two or more pinyin syllables: names of Chinese places, people or companies
    ("What rank did Chengdu get" → Chengdu; "Cheng Peng" is one name)."""
    names = []
    for m in _CAPITALISED_RUN.finditer(question):
        run: list[str] = []
        for word in [*re.split(r"[ -]", m.group()), ""]:
            lower = word.lower()
            # An English word is in the lexicon as written (not by a stem: "Peng" is no "pen").
            english = lower in lexicon or lower in ENGLISH_STOP_WORDS or lower in _GENERIC
            if lower and not english and _pinyin_splits(lower):
                run.append(word)
                continue
            if run and any(len(split) >= 2 for split in _pinyin_splits("".join(run).lower())):
                names.append(" ".join(run))
            run = []
    return names


@functools.lru_cache(maxsize=1024)
def _pinyin_splits(word: str) -> tuple[tuple[str, ...], ...]:
    """The ways ``word`` reads as a sequence of pinyin syllables, longest syllables first
    (xian → xian, xia-n, xi-an, …; at most 16 ways)."""
    syllables = _pinyin_syllables()

    @functools.lru_cache(maxsize=None)
    def rest(i: int) -> tuple[tuple[str, ...], ...]:
        if i == len(word):
            return ((),)
        out: list[tuple[str, ...]] = []
        for j in range(min(len(word), i + 6), i, -1):
            if word[i:j] in syllables:
                out += [(word[i:j], *tail) for tail in rest(j)]
        return tuple(out[:16])

    return rest(0)


@functools.lru_cache(maxsize=1)
def _pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable pypinyin knows with a vowel (~410: zhong, lv, …; not the
    interjections n, ng, hm, which would let "Xing" read as xi-ng)."""
    import unicodedata

    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            bare = "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))
            out.add(bare.replace("ü", "v"))
    return frozenset(s for s in out if re.search("[aeiouv]", s))


def _vocabulary(retriever: Retriever) -> _Vocabulary:
    """One vocabulary per loaded index version, dropped with it (hot reload)."""
    with _vocab_lock:
        vocab = _vocab_cache.get(retriever)
        if vocab is None:
            vocab = _vocab_cache[retriever] = _Vocabulary(retriever)
        return vocab


@dataclass
class _Coverage:
    ratio: float
    missing: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)


def _credits(
    terms: list[str], text: str, encoder, vocab: _Vocabulary, synonym_sim: float | None = None
) -> dict[str, float]:
    """How well ``text`` covers each term: 1 written or synonym, 0.5 related, 0 absent.

    A term counts in full when written in the text or when the model's word vectors call
    it a synonym of a word there (cosine >= SYNONYM_SIM, e.g. 孩子/儿童); half when it
    shares a character with a word there (机柜/机架, 延迟/时延), as Chinese compounds
    built on one morpheme are usually related. Place names count only when written
    exactly: to a word-vector model every city looks like every other city.
    """
    low = normalise_query_text(text)
    credit = {t: 1.0 for t in terms if t in low}
    # Latin words and codes must be written: the vectors of short Latin strings are noise
    # (gdp ~ abc at 0.61), and across languages the lexicon, not the vectors, is the bridge.
    soft = [t for t in terms if t not in credit and _CJK.match(t) and not vocab.is_place(t)]
    if not soft:
        return credit
    words = sorted({w for w in segment(low) if len(w) > 1 and re.match(r"[\u3400-\u9fffa-z]", w)})
    if words:
        sims = encoder.encode(soft) @ encoder.encode(words).T
        for t, row in zip(soft, sims):
            if row.max() >= (synonym_sim or config.SYNONYM_SIM):
                credit[t] = 1.0
            elif _CJK.match(t) and any(ch in w for w in words for ch in t):
                credit[t] = 0.5
    return credit


def _coverage(terms: list[str], text: str, encoder, vocab: _Vocabulary) -> _Coverage:
    """Weighted share of ``terms`` that ``text`` covers, and the terms it misses."""
    if not terms:
        return _Coverage(1.0)
    credit = _credits(terms, text, encoder, vocab)
    total = sum(vocab.weight(t) for t in terms)
    got = sum(vocab.weight(t) * credit.get(t, 0.0) for t in terms)
    partial = [t for t, c in credit.items() if c < 1.0]
    return _Coverage(got / total if total else 1.0, [t for t in terms if t not in credit], partial)


# -------------------------------------------------------------------- sentence choice


@dataclass
class _Candidate:
    passage: Passage
    start: int
    end: int
    text: str
    score: float = 0.0


def _candidates(passages: list[Passage], retriever: Retriever) -> list[_Candidate]:
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        doc = retriever.documents[p.doc_id]
        for s, e in split_sentences(doc.text[p.start : p.end], p.start):
            if (p.doc_id, s) in seen or not re.search(r"\w", doc.text[s:e]):
                continue
            seen.add((p.doc_id, s))
            out.append(_Candidate(p, s, e, doc.text[s:e]))
    return out


def _context(c: _Candidate, retriever: Retriever) -> str:
    """The best sentence with its surroundings: its passage, widened to CONTEXT_CHARS on
    each side, because the subject of a sentence is often named a sentence or two before."""
    text = retriever.documents[c.passage.doc_id].text
    start = min(c.passage.start, max(0, c.start - config.CONTEXT_CHARS))
    end = max(c.passage.end, min(len(text), c.end + config.CONTEXT_CHARS))
    return text[start:end]


def _score_sentences(
    cands: list[_Candidate],
    query: str,
    terms: list[str],
    kind: str,
    retriever: Retriever,
    context_terms: Sequence[str] = (),
) -> None:
    """Score = term coverage (the sentence, plus half credit from the one before it, which
    often holds the subject), semantic similarity, the asked-for kind of fact, and the
    passage's own retrieval score."""
    vocab = _vocabulary(retriever)
    qv = retriever.encoder.encode([normalise_query_text(query)])[0]
    sv = retriever.encoder.encode([normalise_query_text(c.text) for c in cands])
    dense = np.clip(sv @ qv, 0, 1)
    # Words carried over from the previous question weigh half as much as the new ones
    # together: they locate the topic, the new question says what is asked about it.
    weights = {t: vocab.weight(t) for t in terms}
    carried = {t: vocab.weight(t) for t in context_terms if t not in weights}
    if carried:
        scale = 0.5 * (sum(weights.values()) or 1.0) / sum(carried.values())
        weights |= {t: w * min(1.0, scale) for t, w in carried.items()}
    total = sum(weights.values()) or 1.0
    fact_pattern = _fact_pattern(query, kind)
    for c, d in zip(cands, dense):
        own = _credits(list(weights), c.text, retriever.encoder, vocab)
        doc_text = retriever.documents[c.passage.doc_id].text
        before = doc_text[max(c.passage.start, c.start - 120) : c.start]
        prev = _credits([t for t in weights if own.get(t, 0) < 1], before, retriever.encoder, vocab)
        lexical = sum(w * max(own.get(t, 0.0), 0.5 * prev.get(t, 0.0)) for t, w in weights.items()) / total
        fact = 1.0 if fact_pattern is None or fact_pattern.search(c.text) else 0.0
        score = 0.45 * lexical + 0.3 * float(d) + 0.15 * fact + 0.1 * c.passage.score
        # A fragment ("徐楠楠说。") repeats a name but tells nothing: prefer whole statements.
        c.score = score * min(1.0, 0.5 + len(c.text) / (2 * config.MIN_QUOTE_CHARS))


_PERCENT_ASK = re.compile(r"百分|比例|占比|率|percent|rate|share", re.I)


def _fact_pattern(question: str, kind: str) -> re.Pattern | None:
    """What a sentence must hold to answer this kind of question (None: anything)."""
    unit = _asked_unit(question)
    if kind == "number" and unit:
        return _quantity_pattern(unit)
    if kind == "number" and _PERCENT_ASK.search(question):
        return re.compile(r"\d%|百分之|成")
    return _KINDS[kind][1] if kind in _KINDS else None


# ------------------------------------------------------------------------- templates


def _source_line(c: Citation) -> str:
    parts = [f"《{c.title}》"] + [x for x in (c.section, c.source, c.date) if x]
    return f"[{c.n}] " + " · ".join(parts)


def _truncation_notice(english: bool, truncated: bool) -> list[str]:
    if not truncated:
        return []
    if english:
        return [f"(Your question was cut to its first {config.MAX_QUESTION_CHARS} characters.)"]
    return [f"（问题过长，只按前 {config.MAX_QUESTION_CHARS} 个字回答。）"]


def _render(quotes: list[Citation], kind: str, english: bool, truncated: bool) -> str:
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


def _render_refusal(missing: list[str], suggestions: list[str], english: bool, truncated: bool) -> str:
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


def _suggestions(retriever: Retriever, passages: list[Passage], n: int = 3) -> list[str]:
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


# ------------------------------------------------------------------------------- API


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
    vocab = _vocabulary(retriever)
    terms, labels, names = _question_terms(text, english, retriever, vocab)
    # The sources' own spelling of names given in pinyin helps find them.
    query = " ".join([query] + [t for t, written in names.items() if written])
    passages = retriever.search(query, k=config.ANSWER_PASSAGES)

    cands = _candidates(passages, retriever) if passages else []
    if cands:
        carried = [] if query == text or english else _content_terms(query)
        _score_sentences(cands, query, terms, kind, retriever, carried)
        cands.sort(key=lambda c: -c.score)
    best = cands[0] if cands else None

    # Refusal signals: term coverage by the best passage, places and names the sources
    # never write, and the kind of fact asked for (an amount, 元, a date…) missing from the quote.
    context = _context(best, retriever) if best is not None else ""
    cov = _coverage(terms, context, retriever.encoder, vocab) if best is not None else _Coverage(0.0, terms)
    # Terms whose absence alone means the sources cannot answer: unknown places, the focus.
    absent_terms = [t for t in terms if vocab.is_place(t) and not vocab.mentions(t)]
    # A year, phase or line the question names ("到2025年", "二期", "6号线") must be where the
    # answer is: a sentence about 一期 does not answer a question about 二期.
    absent_terms += [q for q in _QUALIFIER.findall(normalise_query_text(text)) if q not in context]
    absent_terms += [t for t, written in names.items() if not written]  # "Chengdu"
    focus, before = (_english_focus(terms, labels), False) if english else _focus_term(text, terms)
    # The thing asked about must be there: a noun written or a close synonym (票价 is not
    # covered by 订票), other words at least in part; a word jieba only guessed is no
    # reliable focus.
    noun = focus is not None and not english and vocab.is_noun(focus)
    absent = focus is not None and (focus in cov.missing or (noun and focus in cov.partial))
    if noun and not absent and best is not None:
        strict = _credits([focus], context, retriever.encoder, vocab, config.FOCUS_SYNONYM_SIM)
        absent = strict.get(focus, 0.0) < 1.0
    predicate = before and vocab.tag(focus) == "v"
    if absent and (english or focus in vocab.freq) and (kind != "date" or noun) and not predicate:
        absent_terms.append(focus)
    unit = _asked_unit(text)
    chosen = _chosen(cands)
    unit_ok = unit is None or any(_quantity_pattern(unit).search(c.text) for c in chosen)
    # A when-question needs a date among the best sentences; a how-many one needs a quote
    # that states some amount the question did not (not "6号线" or "4月" for "6号线有多少个车站").
    if kind == "number":
        fact_ok = any(_quantities(c.text, query) for c in chosen)
    elif kind in ("time", "where"):  # a time of day, a place the question does not name
        fact_ok = any(m.group() not in text for c in chosen for m in _KINDS[kind][1].finditer(c.text))
    elif kind == "list":  # "分别是哪几家" wants them named, not "4家企业入选"
        fact_ok = any(re.search(r"、|和|及|与|等", c.text) for c in chosen)
    else:
        fact_ok = kind != "date" or any(_KINDS["date"][1].search(c.text) for c in cands[:3])
    dense = best.passage.dense if best else 0.0
    if english and best is not None and terms:
        # Cross-language similarity runs lower than within Chinese; compare in Chinese too.
        pair = retriever.encoder.encode([" ".join(terms), best.passage.text])
        dense = max(dense, float(pair[0] @ pair[1]))
    confidence = _confidence(cov.ratio, dense, best.score if best else 0.0) if terms else 0.0
    if absent_terms or not unit_ok or not fact_ok:
        confidence = min(confidence, config.REFUSE_BELOW / 2)
    refused = best is None or confidence < config.REFUSE_BELOW

    version = retriever.version
    if refused:
        missing = list(dict.fromkeys(labels.get(t, t) for t in absent_terms + cov.missing))
        if not unit_ok:
            missing.append(unit)
        suggestions = _suggestions(retriever, passages)
        return Answer(
            question=text,
            text=_render_refusal(missing, suggestions, english, truncated),
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
        text=_render(citations, kind, english, truncated),
        citations=tuple(citations),
        refused=False,
        confidence=round(confidence, 3),
        truncated=truncated,
        index_version=version,
    )


_QUALIFIER = re.compile(
    r"(?<!\d)(?:19|20)\d\d(?!\d)|(?<![\d一二三四五六七八九十])[\d一二三四五六七八九十]+(?:期|号线)"
)


def _chosen(cands: list[_Candidate]) -> list[_Candidate]:
    """The sentences to quote, in document order: the best, and those scoring nearly as well."""
    chosen = cands[:1]
    for c in cands[1:]:
        if len(chosen) >= config.MAX_QUOTES or c.score < config.SECOND_QUOTE_RATIO * chosen[0].score:
            break
        chosen.append(c)
    return sorted(chosen, key=lambda c: (c.passage.doc_id, c.start))


_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零一二三四五六七八九十两百千万亿]+")
#: What may follow a number written in Chinese numerals for it to be an amount (三个, 五年, 两成).
_MEASURES = "个家项位次人条座辆名架批届年倍成万亿元米吨台部套张所栋多余"
#: Classifiers of counted things.
_COUNTERS = "个家项位条座辆名架批台部套张所栋"


def _quantities(sentence: str, question: str) -> list[str]:
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


def _confidence(coverage: float, dense: float, sentence: float) -> float:
    """One number in [0, 1]: mostly term coverage, tempered by semantic similarity."""
    return max(0.0, min(1.0, 0.6 * coverage + 0.25 * dense + 0.15 * min(1.0, sentence)))


def _asked_unit(question: str) -> str | None:
    """The measure in "全长多少公里" or "多少辆": asking for it means the answer must hold it.

    Generic classifiers (个, 家, 项…) are left out: "多少个机柜" is rightly answered by
    "5.2万架".
    """
    text = normalise_query_text(question)
    if _MONEY_ASK.search(text):
        return "元"
    if re.search(r"\bpopulation\b|人口[^，。？?]{0,4}(?:多少|几)", text):
        return "人"
    m = _UNIT_AFTER_ASK.search(text)
    return m.group(1) if m else None


def _quantity_pattern(unit: str) -> re.Pattern:
    """A number (digits or Chinese numerals) followed by ``unit``: "50公里", "七十多万人"."""
    return re.compile(r"[\d一二三四五六七八九十两百千万亿多余]\s*" + re.escape(unit))
