"""Questions cleaned before analysis, over the committed index: markup, entities and control
characters are no words of a question, and a long paste is answered by its last question."""

import pytest

from assistant import Answer, QuestionError, answer, config
from assistant.answering.cleaning import clean, last_question

QUESTION = "青岛有几个数据中心？"
#: Invented filler for pastes: sentences that ask nothing.
PROSE = "我在报纸上看到很多关于城市建设的报道，觉得写得很好。"


def ask(retriever, question, history=None) -> Answer:
    return answer(question, history, retriever=retriever)


def quotes(result: Answer) -> list[str]:
    return [c.quote for c in result.citations]


@pytest.mark.parametrize(
    "dirty",
    [
        f"<img src=x onerror=alert(1)>{QUESTION}",
        f"<script>alert('深圳有几个机场')</script>{QUESTION}",
        "<p><b>青岛</b>有几个<i>数据中心</i>？</p>",
        f"&lt;img src=x onerror=alert(1)&gt;{QUESTION}",
        f"<!-- 注释 -->{QUESTION}<style>p {{ color: red }}</style>",
        "青岛\u200b有几个\x00数据\u202e中心\x07？",  # zero-width space, NUL, a direction mark, a bell
        f"\t{QUESTION}\r\n",
    ],
)
def test_markup_and_control_characters_do_not_change_the_answer(retriever, dirty):
    clean_result = ask(retriever, QUESTION)
    result = ask(retriever, dirty)
    assert not result.refused and quotes(result) == quotes(clean_result), result.text
    assert result.text == clean_result.text


def test_refusal_never_lists_markup_as_missing(retriever):
    result = ask(retriever, "<img src=x onerror=alert(1)>青岛有几个机场？")
    assert result.refused
    assert not {"img", "src", "onerror", "alert", "x", "1"} & {t.lower() for t in result.missing_terms}
    assert "机场" in result.missing_terms


def test_what_was_typed_is_kept_for_the_page(retriever):
    typed = f"<img src=x onerror=alert(1)>{QUESTION}"
    assert ask(retriever, typed).question == typed  # the page escapes it (tests/test_web.py)
    assert ask(retriever, "青岛\u200b有几个数据中心\x00？").question == QUESTION  # invisible: dropped


@pytest.mark.parametrize("empty", ["<img src=x onerror=alert(1)>", "\u200b\u200d", "<script>x()</script>"])
def test_a_message_of_markup_only_is_an_error_that_says_so(retriever, empty):
    with pytest.raises(QuestionError, match="markup"):
        ask(retriever, empty)


def test_a_follow_up_after_a_question_with_markup_leans_on_its_words_only(retriever):
    from assistant import Turn

    first = ask(retriever, "<img src=x onerror=alert(1)>行政村5G覆盖率是多少？")
    follow = ask(retriever, "那市内网间时延呢？", [Turn(first.question, first.text)])
    assert any("1.88毫秒" in q for q in quotes(follow)), follow.text


def test_a_long_paste_is_answered_by_its_last_question_and_says_so(retriever):
    paste = PROSE * 40 + "行政村5G覆盖率是多少？" + "谢谢！"
    assert len(paste) > config.MAX_QUESTION_CHARS
    result = ask(retriever, paste)
    assert not result.refused and any("95.15%" in q for q in quotes(result)), result.text
    assert result.truncated and result.to_dict()["truncated"]
    assert "最后一个问句" in result.text.split("\n\n")[0]
    # The page shows what was answered: the question with the sentence before it.
    assert result.question == PROSE + "行政村5G覆盖率是多少？"


def test_a_long_paste_keeps_the_context_its_question_leans_on(retriever):
    paste = PROSE * 40 + "数字青岛建设中，市内网间时延降了很多。它降到了多少毫秒？"
    result = ask(retriever, paste)
    assert result.question == "数字青岛建设中，市内网间时延降了很多。它降到了多少毫秒？"
    assert any("1.88毫秒" in q for q in quotes(result)), result.text


def test_a_long_paste_in_english_says_so_in_english(retriever):
    paste = "Qingdao is building a digital city. " * 20 + "How many data centers has Qingdao built?"
    result = ask(retriever, paste)
    assert result.truncated and "last question" in result.text.split("\n\n")[0]
    assert any("50个数据中心" in q for q in quotes(result)), result.text


def test_the_last_question_is_found_by_its_mark_then_by_its_question_word():
    limit = config.MAX_QUESTION_CHARS
    # A question mark wins over a later sentence that only holds a question word.
    text = PROSE * 30 + "第一句。青岛有几个数据中心？后来我想知道什么叫数字城市。"
    assert last_question(text, limit) == "第一句。青岛有几个数据中心？"
    # Without a question mark, the last sentence with a question word.
    text = PROSE * 30 + "开头。青岛有多少个数据中心\n结尾的话。"
    assert last_question(text, limit) == "开头。青岛有多少个数据中心"
    # Nothing asks: the last sentence.
    assert last_question(PROSE * 30 + "结尾的话。", limit) == PROSE + "结尾的话。"
    # A question longer than the limit keeps its end, where the question word is.
    long = "啊" * (2 * limit) + "行政村5G覆盖率是多少？"
    assert last_question(long, limit) == long[-limit:]


def test_a_paste_short_without_its_markup_is_not_cut():
    pasted = "<div class='x'>" * 100 + QUESTION + "</div>" * 100
    cleaned = clean(pasted)
    assert not cleaned.cut and cleaned.text == QUESTION and cleaned.shown == QUESTION


def test_text_that_only_looks_like_markup_is_kept():
    assert clean("时延<2毫秒的城市有几个？").text == "时延<2毫秒的城市有几个？"
    assert clean("A & B 是什么？").text == "A & B 是什么？"
