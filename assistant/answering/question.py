"""Question analysis: what kind of fact is asked, about which words, and follow-ups."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Sequence

from .. import config
from ..lexical import normalise_query_text, segment, to_simplified
from ..retrieval import ENGLISH_STOP_WORDS, Retriever, is_english, translate_english
from .cleaning import clean, visible, without_markup
from .smalltalk import talk_kind, without_small_talk
from .types import Turn
from .vocabulary import CJK, Vocabulary, pinyin_splits, vocabulary

KINDS: dict[str, tuple[re.Pattern, re.Pattern]] = {
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

QUESTION_WORDS = re.compile(
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

#: Words that say nothing specific about the topic of a question in this domain.
_GENERIC = frozenset(
    "我市 问题 资料 文章 报道 目前 现在 请问 一下 介绍 情况 有关 关于 方面 主要 "
    # Words about the article itself, which no sentence of it states.
    "文中 文末 本文 全文 原文 这篇 那篇 本篇 该文 此文 读者 作者 article page text photo photos story "
    "一个 哪 年 个 们 一共 总共 大概 大约 已经 还 还是 都 是不是 能够 可以 应该 具体 一般 多少钱 "
    # Words of conversation, not of the topic ("听说…到底排第几", "那会儿…还有别的…吗").
    "听说 到底 究竟 那会儿 当时 那时 后来 之后 以后 如今 那个 这个 别的 其他 其它 "
    # What kind of answer is wanted, not about what ("有什么特别的").
    "特别 特殊 厉害 不一样 特别之处 "
    # English function words and question words carry no topic.
    "city china chinese the a an of in on at to for from by with and or is are was were be "
    "been being has have had do does did what which who whom whose when where why how many much "
    "its it this that these those there their they name called so far per".split()
)


def question_kind(question: str) -> str:
    """The kind of fact asked for; the first matching kind wins (date before number)."""
    for kind, (asks, _) in KINDS.items():
        if asks.search(question):
            return kind
    return "what"


_ASK = re.compile(r"多少|几|什么|谁|哪[一个些家位种份条里年天]?")
_SKIP = set("是 叫 为 有 了 的 都 共 在 个 家 位 种 项 条 名 年 月 天 到 成 成为 做 包括 包含 属于".split())
#: Words that only say what kind of answer is wanted ("什么时候", "哪些方面"), not its topic.
_ANSWER_KINDS = frozenset(
    "名字 名称 时候 时期 时间 地方 方面 信息 程度 职务 职位 部门 环节 领域 单位 机构 类型 内容 样子 "
    "情况 作用 意义 特点 级别 区域 位置 方式 模式 东西 事情 措施 办法 目标".split()
)


def focus_term(question: str, terms: list[str]) -> tuple[str | None, bool]:
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


def question_terms(
    text: str, english: bool, retriever: Retriever, vocab: "Vocabulary"
) -> tuple[list[str], dict[str, str], dict[str, bool]]:
    """The terms to look for in the sources, the resident's own word for each, and the
    terms that stand for Chinese names given in pinyin, with whether the sources write them.

    An English question is matched through the model's bilingual lexicon: each content
    word stands for the translation the sources use (or its first one); a word with no
    translation is kept as is and will usually count as not covered. A name in pinyin
    stands for the sources' own spelling ("Cheng Peng" → 程鹏), or for itself ("Chengdu").
    """
    if not (english and retriever.lexicon):
        return content_terms(text), {}, {}
    terms: list[str] = []
    labels: dict[str, str] = {}
    names: dict[str, bool] = {}
    for name in pinyin_names(text, retriever.lexicon):
        written = vocab.pinyin_word(name)
        term = written or name.lower()
        terms.append(term)
        labels[term] = name
        names[term] = written is not None
    named = {w.lower() for name in labels.values() for w in re.split(r"[ -]", name)}
    # A capitalised word inside the sentence that is also an English word ("Qingdao" is in the
    # lexicon, with a poor translation) is still a name when the sources write its pinyin.
    for m in re.finditer(r"(?<=\s)[A-Z][a-z]+\b", text):
        word = m.group().lower()
        if word in named or word not in retriever.lexicon or word in ENGLISH_STOP_WORDS:
            continue
        if any(len(split) >= 2 for split in pinyin_splits(word)) and (written := vocab.pinyin_word(word)):
            terms.append(written)
            labels[written] = m.group()
            names[written] = True
            named.add(word)
    for word, chinese in translate_english(text, retriever.lexicon):
        if word in _GENERIC or word in named:
            continue
        term = next((zh for zh in chinese if vocab.mentions(zh)), chinese[0] if chinese else word)
        if term not in terms and term not in _GENERIC:  # "special" says no more than 特殊
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


def english_focus(terms: list[str], labels: dict[str, str]) -> str | None:
    """The first translated content word of an English question ("budget" in "What is the
    total budget…"): English puts what it asks about right after the question word."""
    for term in terms:
        word = labels.get(term)
        if word and term != word and word not in _ENGLISH_ANSWER_KINDS:
            return term
    return None


# ---------------------------------------------------------------------- term coverage


def content_terms(question: str) -> list[str]:
    """The question's specific words, simplified and lower-cased, question words removed."""
    text = QUESTION_WORDS.sub(" ", normalise_query_text(question))
    terms: list[str] = []
    for run in re.findall(r"[\u3400-\u9fff]+|[a-z][a-z\-]+|\d+(?:\.\d+)?%?", text):
        words = segment(run) if CJK.match(run) else [run]
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


_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*")


def pinyin_names(question: str, lexicon: dict[str, tuple[str, ...]]) -> list[str]:
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
            if lower and not english and pinyin_splits(lower):
                run.append(word)
                continue
            if run and any(len(split) >= 2 for split in pinyin_splits("".join(run).lower())):
                names.append(" ".join(run))
            run = []
    return names


def asked_unit(question: str) -> str | None:
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


QUALIFIER = re.compile(
    r"(?<!\d)(?:19|20)\d\d(?!\d)|(?<![\d一二三四五六七八九十哪几])[\d一二三四五六七八九十]+(?:期|号线)"
)


_QUOTED_NAME = re.compile(r"《([^》]{1,40})》|“([^”]{1,40})”|\"([^\"]{1,40})\"")


@dataclass(frozen=True)
class Question:
    """What a question asks, analysed once; every later stage reads only this."""

    text: str  # as analysed: without markup, control characters and small-talk clauses (cleaning.py)
    truncated: bool  # a long paste, of which only the last question (with its context) is kept
    english: bool
    query: str  # what retrieval searches: with the words a follow-up carries
    kind: str  # date, number, who, list, … or "what"
    terms: tuple[str, ...]  # its specific words, in the sources' language
    carried: tuple[str, ...]  # words of the conversation's subject a follow-up leans on (carried_terms)
    labels: dict[str, str]  # the resident's own word for a translated or pinyin term
    names: tuple[str, ...]  # what must be written where the answer is: places, people, titles, codes
    unwritten: tuple[str, ...]  # names in pinyin the sources never write ("Chengdu")
    focus: str | None  # the thing asked about ("票价" in "票价多少钱")
    focus_is_predicate: bool  # a verb before the question word ("担任什么职务")
    unit: str | None  # the measure the answer must carry ("公里", "元")
    shown: str = ""  # what the resident typed, for the page (``CleanQuestion.shown``)
    talk: str | None = None  # the message is only small talk of this kind ("greeting", …)
    anchor: str | None = None  # a follow-up's subject (its most telling carried word) a quote must follow


def name_terms(text: str, terms: Sequence[str], vocab: Vocabulary) -> tuple[str, ...]:
    """The question's names: each names one thing, so only a sentence whose context writes
    it can be about it. Only names told reliably count: places (``Vocabulary.is_place``),
    titles in 《》 or quotes, codes and years; jieba's person and organisation tags fall on
    too many plain words (大儒, 美术馆) to refuse on. A word-vector neighbour or a shared
    character is another thing (烟台 is not 青岛, 佩特里奇 is not 佩特鲁齐)."""
    low = normalise_query_text(text)
    names = [t for t in terms if vocab.is_place(t)]
    names += QUALIFIER.findall(low)
    # A quoted name is matched verbatim, so only one in the sources' script ("Double 12" is not).
    quoted = (next(g for g in m.groups() if g) for m in _QUOTED_NAME.finditer(low))
    names += [n for n in quoted if CJK.search(n)]
    return tuple(dict.fromkeys(n.strip() for n in names if n.strip()))


# ------------------------------------------------------------------------ follow-ups

#: What opens a follow-up without being part of its question ("那6号线呢？", "And the latency?");
#: 那 before a classifier is a demonstrative ("那家公司"), which ``_POINTER`` reads.
_LEAD_IN = re.compile(
    r"^(?:那么|那(?![个些家位条种项座所款次会里边样])|还有|and|what about|how about)[\s,，、]*", re.I
)
#: Words that point back at what the conversation is about: the closed class of third-person
#: pronouns and demonstratives (它, 这个, 该, 那家, it, this, his).
_POINTER = re.compile(
    r"[它他她]们?|[这那该此其](?:个|些|家|位|条|种|项|座|所|款)?|"
    r"it|its|they|their|them|he|his|him|she|her|this|that|these|those",
    re.I,
)
#: A question word of the follow-up's own: it then asks its own kind of fact.
_OWN_ASK = re.compile(
    r"多少|几|什么|谁|哪|怎么|怎样|如何|为什么|为何|是否|吗|能否|有没有|是不是|"
    r"\b(?:what|when|where|who|whom|which|why|how|is|are|does|do|did|can|has|have)\b",
    re.I,
)
_ELLIPSIS = re.compile(r"呢\s*[？?]?\s*$")


@dataclass(frozen=True)
class Subject:
    """What one turn of the conversation was about, its own follow-up resolved: the next turn
    leans on it ("它" is its subject, "那X呢？" swaps X into it)."""

    terms: tuple[str, ...]  # its words and those it carried
    names: tuple[str, ...]
    focus: str | None
    kind: str
    unit: str | None

    @classmethod
    def of(cls, q: "Question") -> "Subject":
        return cls(tuple(dict.fromkeys(q.terms + q.carried)), q.names, q.focus, q.kind, q.unit)


def follow_up_form(question: str) -> tuple[str, str | None]:
    """The question without its lead-in, and how it leans on the conversation, if it does.

    "ellipsis": no question of its own ("那时延呢？", "6号线呢？", "What about Shanghai?"); it
    swaps its words in for their match in the previous question and asks what that asked.
    "refers": it asks its own question of the previous subject, named by a pronoun or a
    demonstrative ("它有什么特别之处？", "这个系统…", "What is special about it?") or after a
    lead-in ("那6号线有什么特别的？"). Any other question has its own subject and stands alone.
    """
    body = _LEAD_IN.sub("", question.strip(), count=1).strip() or question.strip()
    led = body != question.strip()
    if not _OWN_ASK.search(to_simplified(body)) and (led or _ELLIPSIS.search(body)):
        return body, "ellipsis"
    if led or any(_POINTER.fullmatch(w) for w in segment(normalise_query_text(body))):
        return body, "refers"
    return question, None


def carried_terms(
    form: str, terms: Sequence[str], previous: Subject, retriever: Retriever, vocab: Vocabulary
) -> list[str]:
    """The previous subject's words a follow-up leans on.

    An ellipsis keeps everything the previous question said but what its own words replace:
    the words they resemble (a shared character, a close vector, place for place: 济南 for 青岛,
    1号线 for 6号线), else the thing that was asked about (时延 for 覆盖率). A follow-up asking
    its own question keeps only the things talked about: not what was asked of them (票价 in
    "6号线的票价是多少"), nor what happened to them (开通). A word no source writes cannot help
    find the answer and would only count as missing (the asked 票价 of a refused question).
    """
    said = [t for t in previous.terms if t not in terms]
    own = [t for t in terms if t not in previous.terms]
    replaced = _resembled(own, said, retriever, vocab, loose=form == "ellipsis" or not terms)
    gone = {p for ps in replaced.values() for p in ps}
    # The thing asked about, unless it is part of a name (号线 of 6号线 in "6号线是什么时候开通的").
    asked = {previous.focus} - {t for t in said if any(t in n for n in previous.names)}
    if form == "ellipsis" or not terms:
        # Nothing of its own but the question ("它有什么特别之处？"): it asks for more on all that
        # was said, as an ellipsis does.
        matched = all(replaced.get(t) for t in own)  # else the new words replace the asked thing
        kept = [t for t in said if t not in gone and (matched or t not in asked)]
    else:
        kept = [
            t
            for t in said
            if t not in gone and t not in asked and t not in _ANSWER_KINDS and vocab.tag(t) not in ("v", "vn")
        ]
    return [t for t in kept if vocab.mentions(t)]


def _resembled(
    own: Sequence[str], said: Sequence[str], retriever: Retriever, vocab: Vocabulary, loose: bool
) -> dict[str, list[str]]:
    """For each new word, the previous words it takes the place of. ``loose``: also those it
    shares a character with, as the words an ellipsis swaps in do (1号线 for 6号线, 企业 for 个人
    全生命周期); a question of its own often shares one by chance (线路 is no 号线)."""
    if not own or not said:
        return {}
    sims = retriever.encoder.encode(list(own)) @ retriever.encoder.encode(list(said)).T
    out: dict[str, list[str]] = {}
    for t, row in zip(own, sims):
        sort = _name_sort(t, vocab)
        out[t] = [
            p
            for p, sim in zip(said, row)
            if sim >= config.ANSWERING.synonym_sim
            or (loose and CJK.search(t) and set(t) & set(p))
            or (sort is not None and sort == _name_sort(p, vocab))
        ]
    return out


def _name_sort(term: str, vocab: Vocabulary) -> str | None:
    """What sort of name a word is, if it is one: a place, or another name (a word jieba's
    dictionary does not hold, its guess at a person or a company: 程鹏, 檬豆; or one it tags a
    proper noun). A name swaps in for a name of its sort ("那济南呢？" after 青岛, "程鹏呢？"
    after 徐楠楠)."""
    if vocab.is_place(term):
        return "place"
    if CJK.match(term) and len(term) > 1 and (not vocab.freq.get(term) or vocab.tag(term) in _PROPER_TAGS):
        return "name"
    return None


#: jieba's tags of people's and organisations' names and other proper nouns.
_PROPER_TAGS = frozenset("nr nrfg nrt nt nz".split())


def analyse(question: str, history: Sequence[Turn], retriever: Retriever) -> Question:
    """Raises ``QuestionError`` for an empty question.

    Each earlier question is read in turn, its own follow-up resolved, so that the
    conversation's subject carries through ("6号线…" → "它…" → "全线…"); small talk has none.
    """
    cleaned = clean(question)
    talk = talk_kind(cleaned.text)
    earlier = [
        without_small_talk(visible(without_markup(t.question))) for t in history if not talk_kind(t.question)
    ]
    # A question that stands alone starts the subject afresh: read from the last one.
    alone = [i for i, said in enumerate(earlier) if follow_up_form(said)[1] is None]
    previous = None
    for said in earlier[alone[-1] if alone else 0 :]:
        previous = Subject.of(read(said, previous, retriever))
    q = read(without_small_talk(cleaned.text), previous, retriever)
    return replace(q, truncated=cleaned.cut, shown=cleaned.shown, talk=talk)


def read(text: str, previous: Subject | None, retriever: Retriever) -> Question:
    """The analysis of one question of a conversation, after ``previous``."""
    body, form = follow_up_form(text) if previous else (text, None)
    english = is_english(body)
    vocab = vocabulary(retriever)
    terms, labels, pinyin = question_terms(body, english, retriever, vocab)
    if form:
        terms = [t for t in terms if not _POINTER.fullmatch(t)]
    carried = carried_terms(form, terms, previous, retriever, vocab) if form and previous else []
    ellipsis = form == "ellipsis" and previous is not None
    # The sources' own spelling of names given in pinyin helps find them (a place only
    # locates: every passage of a city's article is about that city).
    found = [t for t, written in pinyin.items() if written and not vocab.is_place(t)]
    names = name_terms(body, terms, vocab) + tuple(t for t, written in pinyin.items() if written)
    if form and previous and not names:
        names = previous.names  # still what the conversation is about
    # "这个平台" is the one just talked about: only a sentence that writes its most telling word
    # (a name first), or follows it closely, can be about it (海洋 of 海洋数据交易平台).
    anchor = (
        max(carried, key=lambda t: (_name_sort(t, vocab) is not None, vocab.weight(t)))
        if form == "refers" and carried and terms
        else None
    )
    # In English the first translated word is the focus, unless it is a place ("Qingdao"):
    # a place locates what is asked, it is not what is asked.
    focus, before = (
        (english_focus([t for t in terms if not vocab.is_place(t)], labels), False)
        if english
        else focus_term(body, terms)
    )
    return Question(
        text=body,
        truncated=False,
        english=english,
        query=" ".join([body, *found, *carried]),
        kind=previous.kind if ellipsis else question_kind(to_simplified(body)),
        terms=tuple(terms),
        carried=tuple(carried),
        labels=labels,
        names=tuple(dict.fromkeys(names)),
        unwritten=tuple(t for t, written in pinyin.items() if not written),
        focus=focus,
        focus_is_predicate=bool(before and focus and vocab.tag(focus) == "v"),
        unit=asked_unit(body) or (previous.unit if ellipsis else None),
        shown=text,
        anchor=anchor,
    )
