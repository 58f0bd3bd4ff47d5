"""Question analysis (``answering/question.py``): follow-ups resolved by subject, not by word order."""

from __future__ import annotations

import pytest

from assistant import Turn
from assistant.answering.question import analyse, follow_up_form

METRO = "青岛地铁6号线是什么时候开通的？"
FIVE_G = "青岛行政村5G覆盖率是多少？"


@pytest.mark.parametrize(
    ("question", "body", "form"),
    [
        ("那时延呢？", "时延呢？", "ellipsis"),  # a lead-in and no question of its own
        ("时延呢？", "时延呢？", "ellipsis"),
        ("What about Shanghai?", "Shanghai?", "ellipsis"),
        ("And the network latency within the city?", "the network latency within the city?", "ellipsis"),
        ("它有什么特别之处？", "它有什么特别之处？", "refers"),  # a pronoun, its own question
        ("那它有什么特别的？", "它有什么特别的？", "refers"),
        ("那6号线有什么特别的？", "6号线有什么特别的？", "refers"),  # a lead-in, its own question
        ("这个系统有自主知识产权吗？", "这个系统有自主知识产权吗？", "refers"),
        ("那家公司的平台是什么级别？", "那家公司的平台是什么级别？", "refers"),  # 那家 is a demonstrative
        ("What is special about it?", "What is special about it?", "refers"),
        ("海洋数据交易平台累计交易额是多少？", "海洋数据交易平台累计交易额是多少？", None),
        ("青岛有几个数据中心呢？", "青岛有几个数据中心呢？", None),  # 呢 after its own question word
        ("其他城市有几个数据中心？", "其他城市有几个数据中心？", None),  # 其他 is no pronoun
    ],
)
def test_follow_up_form(question, body, form):
    assert follow_up_form(question) == (body, form)


def _after(retriever, question, *earlier):
    return analyse(question, [Turn(q, "") for q in earlier], retriever)


def test_a_pronoun_carries_the_subject_not_what_was_asked_of_it(retriever):
    q = _after(retriever, "它是全国第一条什么线路？", "青岛地铁6号线的票价是多少？")
    assert {"地铁", "号线"} <= set(q.carried)
    assert "票价" not in q.carried  # what the previous question asked, and no source writes
    assert q.kind == "what"  # its own kind, not the previous question's "number"
    assert q.anchor in q.carried


def test_an_own_question_keeps_its_kind_and_drops_the_previous_predicate(retriever):
    q = _after(retriever, "那它有什么特别的？", METRO)
    assert q.kind == "what"  # "有什么特别的" asks a description, not a date
    assert q.text == "它有什么特别的？"  # the lead-in is no part of the question
    q = _after(retriever, "它的业务覆盖哪些领域？", "中车集团大数据中心致力于打造什么？")
    assert q.kind == "list" and "打造" not in q.carried
    assert "数据中心" in q.carried and q.anchor == "中车"  # a name is the most telling word


def test_an_ellipsis_swaps_its_words_in_and_keeps_the_previous_kind(retriever):
    q = _after(retriever, "那时延呢？", FIVE_G)
    assert q.kind == "number"
    assert "时延" in q.terms and "覆盖率" not in q.carried  # 时延 takes the asked thing's place
    assert "行政村" in q.carried
    q = _after(retriever, "那济南呢？", FIVE_G)
    assert "青岛" not in q.carried and "覆盖率" in q.carried  # a place for a place
    assert "济南" in q.names
    q = _after(retriever, "程鹏呢？", "徐楠楠在哪家公司？")
    assert not any("徐楠" in t for t in q.carried)  # a name for a name


def test_the_subject_carries_through_the_conversation(retriever):
    q = _after(retriever, "这个指数是谁评的？", "青岛智慧城市建设水平排全国第几？", "数字政府呢？", "一体化政务服务能力总体指数呢？")
    assert q.kind == "who"
    assert "数字政府" not in q.carried  # swapped out one turn before


def test_a_question_with_its_own_subject_carries_nothing(retriever):
    q = _after(retriever, "海洋数据交易平台累计交易额是多少？", METRO)
    assert q.carried == () and q.anchor is None
    assert q.query == q.text


def test_small_talk_in_the_history_is_no_subject(retriever):
    q = _after(retriever, "它有什么特别之处？", METRO, "谢谢！")
    assert "地铁" in q.carried
    assert _after(retriever, "它有什么特别之处？", "谢谢！").carried == ()


def test_an_english_follow_up_leans_on_a_chinese_subject(retriever):
    q = _after(retriever, "What is special about it?", "青岛地铁6号线是什么时候开通的？")
    assert q.terms == ()  # "special" translates to 特殊, which says what kind of answer, not about what
    assert {"地铁", "号线"} <= set(q.carried) and q.kind == "what"


def test_a_question_that_stands_alone_starts_the_subject_afresh(retriever):
    q = _after(retriever, "它是哪一年上线的？", METRO, "海洋数据交易平台累计交易额是多少？")
    assert "海洋" in q.carried and "地铁" not in q.carried
