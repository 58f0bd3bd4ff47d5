"""The first step of question analysis: from what a resident sent to the text analysed.

What arrives is not always a question as typed. A paste from a web page brings markup,
entities and invisible control characters; none of them is a word of the question, yet
each would be searched for and, missing from the sources, listed back to the resident
("资料中没有提到：img、src、onerror"). A long paste brings paragraphs around the question;
cutting it to its first characters kept the paragraphs and dropped the question, which
comes last. So the analysed text has no markup and no control characters, and from a long
paste it keeps the last question with the sentence before it (its context). The page still
shows what was typed, escaped as text (``CleanQuestion.shown``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .. import config
from ..retrieval import QuestionError, require_question

#: Elements whose content is code or styling, never prose: dropped with their content.
_HIDDEN = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.I | re.S)
#: An opening, closing or declaration tag; "<" before a digit or a space ("<5毫秒") is text.
_TAG = re.compile(r"</?[a-z][^<>]*>|<![^<>]*>", re.I)
#: What a removed tag leaves behind until it is known whether it stood between Chinese characters.
_GAP = "\x00"
_GAP_IN_CHINESE = re.compile("(?<=[\u3400-\u9fff])\x00+(?=[\u3400-\u9fff，。？！、；：])")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029\x85\x0b\x0c")
#: Where a sentence ends: its closing punctuation (and any closing quote), or a line break.
_SENTENCE_END = re.compile(r"[。！？!?；;…]+[”’\"」』）)]*|\.(?=\s)|\n")
#: A sentence asks when it ends in a question mark; failing any, when it holds a question word
#: (the closed class of Chinese and English interrogatives).
_QUESTION_MARK = re.compile(r"[？?]")
_QUESTION_WORD = re.compile(
    r"吗|呢|什么|怎么|怎样|如何|为什么|为何|多少|几[个家位项年月天号点次条座种]|哪|谁|是否|能否|有没有|是不是|"
    r"请问|\b(?:what|when|where|who|whom|which|why|how)\b",
    re.I,
)


@dataclass(frozen=True)
class CleanQuestion:
    """A message made ready for analysis."""

    shown: str  # what was typed, on one line, without invisible characters (a long paste: ``text``)
    text: str  # what is analysed: no markup, no control characters, at most MAX_QUESTION_CHARS
    cut: bool  # a long paste: only its last question, with the sentence before it, is kept


def without_markup(text: str) -> str:
    """``text`` without tags, script or style content and comments, entities decoded.
    Markup written as entities ("&lt;img …&gt;") is markup too."""
    text = html.unescape(_TAG.sub(_GAP, _HIDDEN.sub(_GAP, text)))
    text = _TAG.sub(_GAP, _HIDDEN.sub(_GAP, text))
    # Chinese writes no spaces: a tag between two Chinese characters (<b>青岛</b>有几个) joins
    # them, as the page shows them; elsewhere it separates words as a space does.
    return _GAP_IN_CHINESE.sub("", text).replace(_GAP, " ")


def visible(text: str) -> str:
    """``text`` without control and format characters, which no page shows: a line break
    stays one, any other space is a space, the rest (NUL, zero-width spaces, direction
    marks, lone surrogates) goes, so it cannot split a word."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else "\n" if ch in _LINE_BREAKS else " " if ch.isspace() else "" for ch in text
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order, each on one line."""
    out, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    out.append(text[start:])
    return [line for line in map(_one_line, out) if line]


def last_question(text: str, limit: int) -> str:
    """The last sentence that asks (see ``_QUESTION_MARK``; the last sentence if none does),
    with up to ``LONG_PASTE_CONTEXT_SENTENCES`` sentences before it, within ``limit`` characters.

    A question too long on its own keeps its end, where Chinese puts the question word.
    """
    parts = sentences(text)
    asking = [i for i, s in enumerate(parts) if _QUESTION_MARK.search(s)] or [
        i for i, s in enumerate(parts) if _QUESTION_WORD.search(s)
    ]
    last = asking[-1] if asking else len(parts) - 1
    kept = parts[last][-limit:]
    for before in reversed(parts[max(0, last - config.LONG_PASTE_CONTEXT_SENTENCES) : last]):
        if len(before) + 1 + len(kept) > limit:
            break
        kept = before + (" " if before[-1].isascii() and kept[0].isascii() else "") + kept
    return kept


def clean(question: str) -> CleanQuestion:
    """The message ready for analysis; raises ``QuestionError`` when no text is left."""
    shown = _one_line(visible(require_question(question)))
    plain = visible(without_markup(question))
    text = _one_line(plain)
    if not text:
        raise QuestionError(
            "问题里只有网页标记或控制字符，没有文字，请输入一个问题"
            " (the question holds only markup or control characters: please type a question)"
        )
    if len(text) <= config.MAX_QUESTION_CHARS:
        # Markup can make a short question long: then the page shows the question alone.
        return CleanQuestion(shown if len(shown) <= config.MAX_QUESTION_CHARS else text, text, False)
    kept = last_question(plain, config.MAX_QUESTION_CHARS)
    return CleanQuestion(kept, kept, True)
