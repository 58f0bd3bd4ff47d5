"""Small talk over the committed index: each kind in Chinese, English and Traditional Chinese,
replies naming the loaded documents, and mixed messages answered as questions."""

import json
import subprocess
import sys

import pytest

from assistant import Answer, Turn, answer
from assistant.answering.smalltalk import talk_kind, without_small_talk
from assistant.evaluation import evaluate
from assistant.index import build_index
from assistant.lexical import to_simplified
from assistant.retrieval import Retriever

#: (message, kind, language): each kind in its usual variants, repeated, with emoji and particles.
MESSAGES = [
    ("你好", "greeting", "zh"),
    ("您好！", "greeting", "zh"),
    ("你好你好", "greeting", "zh"),
    ("哈喽~", "greeting", "zh"),
    ("早上好😊", "greeting", "zh"),
    ("hi", "greeting", "en"),
    ("Hello there!!", "greeting", "en"),
    ("哈囉，大家好", "greeting", "zh-Hant"),
    ("谢谢你", "thanks", "zh"),
    ("好的，谢谢谢谢！", "thanks", "zh"),
    ("非常感谢", "thanks", "zh"),
    ("Thanks so much!", "thanks", "en"),
    ("謝謝", "thanks", "zh-Hant"),
    ("再见", "goodbye", "zh"),
    ("拜拜~", "goodbye", "zh"),
    ("晚安", "goodbye", "zh"),
    ("bye", "goodbye", "en"),
    ("再見！", "goodbye", "zh-Hant"),
    ("你能做什么？", "help", "zh"),
    ("你都能做什么", "help", "zh"),
    ("怎么用", "help", "zh"),
    ("What can you do?", "help", "en"),
    ("請問你能做什麼？", "help", "zh-Hant"),
]


def ask(retriever, question, history=None) -> Answer:
    return answer(question, history, retriever=retriever)


@pytest.mark.parametrize("message,kind,language", MESSAGES)
def test_small_talk_is_recognised_by_kind(message, kind, language):
    assert talk_kind(message) == kind


@pytest.mark.parametrize("message,kind,language", MESSAGES)
def test_small_talk_gets_a_reply_naming_the_sources_in_the_residents_language(
    retriever, message, kind, language
):
    result = ask(retriever, message)
    data = result.to_dict()
    assert data["kind"] == "smalltalk" and not result.refused and not result.citations
    assert result.question == message and not result.missing_terms
    titles = [d.title for d in retriever.documents.values()]
    assert any(to_simplified(t) in to_simplified(result.text) for t in titles), result.text
    if language == "en":
        assert result.text[:40].isascii(), result.text
    elif language == "zh-Hant":
        assert to_simplified(result.text) != result.text, result.text  # written in Traditional
    else:
        assert to_simplified(result.text) == result.text, result.text
    # A greeting or a call for help offers the questions staff listed; thanks and goodbyes do not.
    listed = {to_simplified(q) for d in retriever.documents.values() for q in d.questions}
    offered = {to_simplified(q) for q in result.suggestions}
    assert offered <= listed
    assert bool(offered) == (kind in ("greeting", "help"))


def test_replies_name_the_titles_of_the_loaded_corpus_newest_first(tmp_path):
    """The titles come from the retriever's documents, whatever the corpus (fixture facts)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(1, 6):
        (corpus / f"doc{n}.md").write_text(
            f"---\ntitle: 测试资料第{n}篇\ndate: 2024-0{n}\nquestions: 测试线路{n}有多长？\n---\n\n"
            f"# 测试资料第{n}篇\n\n海湾测试新区第{n}号测试线路全长{n}0公里。\n",
            encoding="utf-8",
        )
    build_index(corpus, tmp_path / "index")
    retriever = Retriever.load(tmp_path / "index")
    zh = ask(retriever, "你好")
    assert "《测试资料第5篇》、《测试资料第4篇》、《测试资料第3篇》等 5 篇" in zh.text, zh.text
    assert "测试资料第1篇" not in zh.text
    assert zh.suggestions == ("测试线路5有多长？", "测试线路4有多长？", "测试线路3有多长？")
    en = ask(retriever, "hello")
    assert "《测试资料第5篇》, 《测试资料第4篇》, 《测试资料第3篇》 and 2 more" in en.text, en.text


@pytest.mark.parametrize(
    "message",
    [
        "青岛能做什么",  # a question about the sources, not about the assistant
        "你好，青岛有几个数据中心？",
        "How are you measuring 5G coverage?",
        "好的",  # fillers alone say nothing to reply to
        "8",
        "早期的数据中心有多少？",
        "你好" * 30,  # longer than any small talk
    ],
)
def test_questions_and_fillers_are_not_small_talk(message):
    assert talk_kind(message) is None


def test_small_talk_clauses_are_left_out_of_a_question():
    assert without_small_talk("你好，青岛有几个数据中心？") == "青岛有几个数据中心？"
    assert without_small_talk("谢谢！那5G呢？") == "那5G呢？"
    assert without_small_talk("青岛有几个数据中心？谢谢！") == "青岛有几个数据中心？"
    assert without_small_talk("Hi, how many data centers are there?") == "how many data centers are there?"
    assert without_small_talk("How are you measuring 5G?") == "How are you measuring 5G?"
    assert without_small_talk("你好！") == "你好！"  # nothing else: kept whole


def test_a_greeting_with_a_question_is_answered_as_the_question(retriever):
    plain = ask(retriever, "青岛有几个数据中心？")
    mixed = ask(retriever, "你好，青岛有几个数据中心？")
    assert mixed.kind == "answer" and mixed.to_dict()["kind"] == "answer"
    assert mixed.question == "你好，青岛有几个数据中心？"
    assert [c.quote for c in mixed.citations] == [c.quote for c in plain.citations]
    assert any("50个数据中心" in c.quote for c in mixed.citations), mixed.text


def test_thanks_with_a_follow_up_is_answered_as_the_follow_up(retriever):
    first = ask(retriever, "行政村5G覆盖率是多少？")
    history = [Turn(first.question, first.text)]
    plain = ask(retriever, "那市内网间时延呢？", history)
    mixed = ask(retriever, "谢谢！那市内网间时延呢？", history)
    assert mixed.kind == "answer"
    assert [c.quote for c in mixed.citations] == [c.quote for c in plain.citations]
    assert any("1.88毫秒" in c.quote for c in mixed.citations), mixed.text


def test_a_refused_question_after_a_greeting_lists_no_greeting(retriever):
    result = ask(retriever, "你好！青岛有几个机场？")
    assert result.kind == "refusal" and result.refused
    assert not {"你好", "你"} & set(result.missing_terms), result.missing_terms


def test_small_talk_in_the_history_lends_no_subject(retriever):
    """After "谢谢", a follow-up leans on the question before it, not on the thanks."""
    first = ask(retriever, "行政村5G覆盖率是多少？")
    thanks = ask(retriever, "谢谢")
    history = [Turn(first.question, first.text), Turn(thanks.question, thanks.text)]
    follow = ask(retriever, "那市内网间时延呢？", history)
    assert any("1.88毫秒" in c.quote for c in follow.citations), follow.text


def test_refusals_and_answers_say_their_kind(retriever):
    assert ask(retriever, "行政村5G覆盖率是多少？").to_dict()["kind"] == "answer"
    assert ask(retriever, "深圳的智慧城市排名第几？").to_dict()["kind"] == "refusal"
    with pytest.raises(ValueError, match="kind"):
        Answer("q", "t", (), False, 1.0, kind="chitchat")


def test_cli_ask_json_has_the_kind(index_copy):
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "谢谢", "--index", str(index_copy), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    assert data["kind"] == "smalltalk" and not data["refused"]


def test_eval_counts_small_talk_as_declined(tmp_path, index_copy):
    """A question file may hold small talk: it must not be answered from the sources."""
    questions = tmp_path / "q.jsonl"
    lines = [
        {"question": "你好", "answers": []},
        {"question": "谢谢", "answers": []},
        {"question": "行政村5G覆盖率是多少？", "answers": ["95.15%"]},
        {"question": "再见", "answers": ["95.15%"]},  # a wrong line: small talk has no answer
    ]
    questions.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    report = evaluate(questions, index_copy)
    assert report["smalltalk"] == 3
    assert report["refusal_recall"] == 1.0 and report["refusal_precision"] == 2 / 3
    assert report["answer_accuracy"] == 0.5
    assert [f["problem"] for f in report["failures"]] == ["small talk"]
