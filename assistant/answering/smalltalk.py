"""Small talk: greetings, thanks, goodbyes and "what can you do", answered as such.

"你好" is no question about the sources, and refusing it as a gap in them ("资料中没有
提到：你好") both puzzles the resident and fills the staff's unanswered-questions log. So a
message that is nothing but small talk gets a short friendly reply, in the resident's
language, that says what the assistant covers: the titles of the documents it has loaded
(never words written here). A message that also asks something ("你好，青岛有几个数据中心？")
is a question: its small-talk clauses are only left out of the analysis.

Small talk is a closed class of phrases, unlike the facts of a corpus, so it is recognised
by the one table below (``PHRASES``), not learned: a message is small talk when, after its
punctuation, emoji and spaces are dropped, Traditional folded to Simplified and repeated
letters folded ("你好你好", "谢谢谢谢", "hiii"), it is a run of those phrases and of
``FILLERS`` (particles, addressees) with at least one phrase.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from .. import config
from ..corpus import Document
from ..lexical import to_simplified, to_traditional
from ..retrieval import Retriever
from .types import Answer

#: Phrases per kind, Chinese (in Simplified) and English. A message holding phrases of several
#: kinds is answered as the first of them here.
PHRASES: dict[str, tuple[str, ...]] = {
    "help": (
        *"你能做什么 你可以做什么 你会做什么 你会什么 你能干什么 你能干嘛 能做什么 可以做什么 能干什么 "
        "你是谁 你是什么 你是机器人吗 你叫什么 你叫什么名字 你有什么用 你有什么功能 有什么功能 "
        "怎么用 如何使用 怎么使用 怎么提问 怎么问 该怎么问 如何提问 我可以问什么 我能问什么 能问什么 "
        "可以问什么 问什么 你知道什么 你懂什么 你能回答什么 能回答什么 可以回答什么 你能回答哪些问题 "
        "帮助 求助 使用说明".split(),
        *"help|what can you do|what can i ask|what do you know|who are you|what are you|how do i use this|"
        "how does this work|how to use this|how to use".split("|"),
    ),
    "goodbye": (
        *"再见 再会 拜拜 拜 回见 下次见 明天见 回头见 晚安 先走了 我走了 告辞 不聊了 没事了 没有了 "
        "88 886".split(),
        *"bye|bye bye|goodbye|good bye|see you|see ya|see you later|good night|farewell|cya".split("|"),
    ),
    "thanks": (
        *"谢谢 谢谢你 谢谢您 谢谢你们 多谢 感谢 感谢你 感谢您 谢了 谢啦 辛苦了 辛苦你了 麻烦你了 3q".split(),
        *"thanks|thank you|thank u|thx|ty|cheers|much appreciated|appreciate it|many thanks".split("|"),
    ),
    "greeting": (
        *"你好 您好 妳好 你们好 大家好 嗨 哈喽 哈啰 哈罗 嗨喽 嘿 喂 早 早上好 早安 上午好 中午好 午安 下午好 "
        "晚上好 在吗 在不在 有人吗 你好吗 您好吗 最近好吗 很高兴认识你 认识你很高兴 幸会 初次见面".split(),
        *"hi|hello|hey|hallo|hiya|howdy|greetings|good morning|good afternoon|good evening|morning|"
        "how are you|how do you do|nice to meet you".split("|"),
    ),
}
#: Words that may come with any phrase without making it a question: particles, degree words,
#: addressees ("你好呀", "非常感谢", "hi there", "thanks so much", "好的，谢谢").
FILLERS: tuple[str, ...] = (
    *"啊 呀 吖 哦 噢 喔 啦 哈 嗯 呢 吧 哇 咯 嘛 呐 哟 了 的 好 好的 请问 非常 太 真 真的 十分 很 "
    "你 您 妳 你们 都 还 些 问题 请 我 先 也 大家 小助手 助手 机器人 客服 朋友".split(),
    *"ok|okay|oh|ah|um|well|so|very|much|a lot|really|there|everyone|all|guys|again|please|me|you|"
    "bot|assistant|friend".split("|"),
)


def _fold(text: str) -> str:
    """Simplified, lower case, a repeated letter once (within a word), then letters and digits
    only: the form matched."""
    text = re.sub(r"(\D)\1+", r"\1", to_simplified(unicodedata.normalize("NFKC", text)).lower())
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


@cache
def _vocabulary() -> dict[str, str | None]:
    """Each folded phrase with its kind, and each folded filler with None."""
    vocab: dict[str, str | None] = dict.fromkeys(map(_fold, FILLERS))
    for kind in reversed(PHRASES):  # the first kind listed wins a phrase listed twice
        vocab.update(dict.fromkeys(map(_fold, PHRASES[kind]), kind))
    return vocab


def talk_kind(message: str) -> str | None:
    """The kind of small talk ``message`` is ("greeting", "thanks", "goodbye" or "help"), or
    None when it is anything more."""
    folded = _fold(message)
    if not folded or len(folded) > config.SMALLTALK_MAX_CHARS:
        return None
    vocab = _vocabulary()
    longest = max(map(len, vocab))
    # reach[i]: the kinds of phrase met on the ways of reading folded[:i] as phrases and fillers
    # (None: there is no such way).
    reach: list[frozenset[str] | None] = [frozenset()] + [None] * len(folded)
    for i in range(len(folded)):
        if reach[i] is None:
            continue
        for j in range(i + 1, min(len(folded), i + longest) + 1):
            word = folded[i:j]
            if word in vocab:
                kind = vocab[word]
                reach[j] = (reach[j] or frozenset()) | reach[i] | ({kind} if kind else set())
    kinds = reach[-1]
    return next((k for k in PHRASES if kinds and k in kinds), None)


#: Where one clause of a message ends: punctuation, symbols (emoji), or a space beside Chinese.
#: A space between English words is none: "How are you" opens "How are you counting 5G sites?".
_CLAUSE_END = re.compile(r"[^\w\s]+\s*|(?<=[\u3400-\u9fff])\s+|\s+(?=[\u3400-\u9fff])")


def without_small_talk(message: str) -> str:
    """``message`` without the small-talk clauses it opens or closes with ("你好，…", "…谢谢！"),
    which are no words of its question; all of it when it is nothing else."""
    reach = 2 * config.SMALLTALK_MAX_CHARS
    breaks = list(_CLAUSE_END.finditer(message))
    start = max((m.end() for m in breaks if m.end() <= reach and talk_kind(message[: m.end()])), default=0)
    end = min(
        (m.end() for m in breaks if len(message) - m.end() <= reach and talk_kind(message[m.end() :])),
        default=len(message),
    )
    rest = message[start:end].strip()
    return rest if rest and start < end else message


# ------------------------------------------------------------------------------ replies

#: The replies, per kind and language; the line naming the documents follows each.
_REPLIES = {
    "zh": {
        "greeting": "你好！我从资料原文中找出回答问题的句子，原样引用并注明出处；"
        "资料里没有的，我会直接告诉你。",
        "thanks": "不客气！还有想了解的，随时问我。",
        "goodbye": "再见！有问题欢迎随时回来问。",
        "help": "直接输入你的问题就行：我会从资料原文中找出回答它的句子，原样引用并注明出处；资料里没有的，"
        "我会直接告诉你，不会编造。也可以接着上一个问题追问，比如“那……呢？”。",
    },
    "en": {
        "greeting": "Hello! I answer questions by quoting the sentences of the sources that answer them, "
        "each with its source; when the sources do not say, I tell you so.",
        "thanks": "You're welcome! Ask me anything else, any time.",
        "goodbye": "Goodbye! Come back any time with a question.",
        "help": "Just type your question, in Chinese or English: I find the sentences of the sources that "
        "answer it and quote them with their source; when the sources do not say, I tell you so rather than "
        "guess. You can also follow up on the last question, as in “what about …?”.",
    },
}
_COVERS = {"zh": "现有资料：{titles}{more}。", "en": "The sources (in Chinese): {titles}{more}."}
_MORE = {"zh": "等 {n} 篇", "en": " and {rest} more"}
_EXAMPLES = {"zh": "你可以这样问：", "en": "You could ask:"}
#: Only these kinds offer example questions: a thank-you or goodbye does not call for more.
_OFFERS_EXAMPLES = ("greeting", "help")


def _language(message: str) -> str:
    """The reply's language: English for a message in Latin letters only ("hi" too, which
    ``is_english`` finds too short), else Chinese."""
    return "en" if re.search(r"[A-Za-z]", message) and not re.search(r"[\u3400-\u9fff]", message) else "zh"


def _newest_first(retriever: Retriever) -> list[Document]:
    return sorted(retriever.documents.values(), key=lambda d: (d.date or "", d.doc_id), reverse=True)


def reply(kind: str, message: str, retriever: Retriever) -> Answer:
    """A short reply to small talk of ``kind``, naming what the loaded documents cover: the
    newest titles and, for a greeting or a call for help, questions staff listed for them."""
    language = _language(message)
    documents = _newest_first(retriever)
    shown = documents[: config.SMALLTALK_TITLES]
    titles = ("、" if language == "zh" else ", ").join(f"《{d.title}》" for d in shown)
    more = (
        _MORE[language].format(n=len(documents), rest=len(documents) - len(shown))
        if len(documents) > len(shown)
        else ""
    )
    paragraphs = [_REPLIES[language][kind], _COVERS[language].format(titles=titles, more=more)]
    examples: list[str] = []
    if kind in _OFFERS_EXAMPLES:
        examples = list(dict.fromkeys(q for d in documents for q in d.questions))[: config.SMALLTALK_EXAMPLES]
    if examples:
        paragraphs.append("\n".join([_EXAMPLES[language], *(f"- {q}" for q in examples)]))
    text = "\n\n".join(paragraphs)
    if language == "zh" and to_simplified(message) != message:
        text, examples = to_traditional(text), [to_traditional(q) for q in examples]
    return Answer(
        question=message,
        text=text,
        citations=(),
        refused=False,
        confidence=1.0,  # sure that it is small talk; nothing is claimed from the sources
        suggestions=tuple(examples),
        index_version=retriever.version,
        kind="smalltalk",
    )
