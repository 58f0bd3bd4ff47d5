"""``assistant eval``: question files with and without a conversation history, over the real index."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant import Turn, answer
from assistant.evaluation import (
    EvalItem,
    QuestionFileError,
    _conversation,
    evaluate,
    gate_failures,
    read_questions,
)

# "它" needs the history: alone, nothing says which of the article's projects is meant.
FOLLOW_UP = {
    "question": "它有什么特别之处？",
    "history": ["青岛地铁6号线是什么时候开通的？"],
    "answers": ["全国第一条全自主运行系统"],
    "type": "pronoun",
}


def write_lines(path, *items) -> str:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return str(path)


def test_read_questions_types_history_and_keeps_plain_lines(tmp_path):
    plain = {"question": "行政村5G覆盖率是多少？", "answers": ["95.15%"]}
    items = read_questions(write_lines(tmp_path / "q.jsonl", plain, FOLLOW_UP))
    assert items == [
        EvalItem("行政村5G覆盖率是多少？", ("95.15%",)),
        EvalItem("它有什么特别之处？", ("全国第一条全自主运行系统",), ("青岛地铁6号线是什么时候开通的？",), "pronoun"),
    ]


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"history": "程鹏在哪家公司工作？"}, "history"),  # a string, not a list
        ({"history": ["程鹏在哪家公司工作？", 6]}, "history"),
        ({"history": [["程鹏在哪家公司工作？", "……"]]}, "history"),  # a pair, not a question
        ({"history": ["  "]}, "history"),
        ({"answers": "首席数据官"}, "answers"),  # would otherwise be read as single characters
        ({"question": ["他在公司担任什么职务？"]}, "question"),
    ],
)
def test_malformed_lines_name_file_line_and_field(tmp_path, bad, field):
    path = write_lines(
        tmp_path / "q.jsonl", {"question": "行政村5G覆盖率是多少？", "answers": []}, {**FOLLOW_UP, **bad}
    )
    with pytest.raises(QuestionFileError, match=rf"q\.jsonl:2: .*{field}"):
        read_questions(path)


@pytest.mark.parametrize("line", ["[1, 2]", "{not json", '{"question": "行政村5G覆盖率是多少？"}'])
def test_lines_that_are_no_question_object_are_rejected(tmp_path, line):
    (tmp_path / "q.jsonl").write_text(line + "\n", encoding="utf-8")
    with pytest.raises(QuestionFileError, match=r"q\.jsonl:1: expected"):
        read_questions(tmp_path / "q.jsonl")


def test_conversation_holds_the_assistants_own_answers_in_order(retriever):
    history = ("青岛地铁6号线是什么时候开通的？", "它有什么特别之处？")
    turns = _conversation(EvalItem("全线减少了多少站务人员？", ("85人次",), history), retriever)
    assert [t.question for t in turns] == list(history)
    assert turns[0].answer == answer(history[0], retriever=retriever).text
    assert (
        turns[1].answer == answer(history[1], [Turn(history[0], turns[0].answer)], retriever=retriever).text
    )


def test_history_changes_the_score(tmp_path, index_copy):
    alone = {key: value for key, value in FOLLOW_UP.items() if key != "history"}
    report = evaluate(write_lines(tmp_path / "q.jsonl", FOLLOW_UP, alone), index_dir=index_copy)
    assert report["answerable"] == 2
    assert report["answer_accuracy"] == 0.5, report["failures"]
    assert report["by_type"] == {"pronoun": {"right": 1, "total": 2}}
    [failure] = report["failures"]
    assert failure["question"] == FOLLOW_UP["question"] and "history" not in failure


def test_cli_eval_reports_a_malformed_history_and_exits_2(tmp_path, index_copy):
    path = write_lines(tmp_path / "q.jsonl", {**FOLLOW_UP, "history": "程鹏在哪家公司工作？"})
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", path, "--index", str(index_copy), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert '"history" must be a list of strings' in json.loads(run.stdout)["error"]


def test_gate_names_each_figure_below_its_minimum():
    figures = {"answer_accuracy": 0.8123, "refusal_recall": 0.95, "accuracy": None}
    assert gate_failures(figures, {"answer_accuracy": 0.85, "refusal_recall": 0.9}) == [
        "answer accuracy 0.812 < 0.85"
    ]
    assert gate_failures(figures, {"answer_accuracy": None, "refusal_recall": 0.95}) == []  # equal passes
    assert gate_failures(figures, {"accuracy": 0.7}) == ["accuracy not measured < 0.7"]
