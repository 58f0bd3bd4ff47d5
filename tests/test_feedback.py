"""The feedback store: votes replace and withdraw, refused questions are kept, CSV for staff."""

from __future__ import annotations

import csv
import json

import pytest

from assistant.cli import main
from assistant.feedback import CSV_COLUMNS, FeedbackStore

ANSWER = {
    "question": "行政村5G覆盖率是多少？",
    "text": "资料中的相关数字如下：\n\n> 行政村5G覆盖率达95.15%。 [1]",
    "refused": False,
    "confidence": 0.91,
    "citations": [{"n": 1, "doc_id": "000", "title": "“数字青岛”", "quote": "行政村5G覆盖率达95.15%。"}],
    "index_version": "v-test",
}
REFUSED = {
    "question": "深圳的智慧城市排名第几？",
    "text": "抱歉，现有资料没有涉及这个问题。",
    "refused": True,
    "confidence": 0.2,
    "missing_terms": ["深圳"],
    "suggestions": ["青岛地铁6号线有什么特别之处？"],
    "citations": [],
    "index_version": "v-test",
}


@pytest.fixture
def store(tmp_path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "data" / "feedback.sqlite3")


def test_vote_keeps_question_answer_citations_and_index_version(store):
    store.record_vote("a1", "up", ANSWER)
    (vote,) = store.votes()
    assert vote["vote"] == "up"
    assert vote["question"] == ANSWER["question"]
    assert vote["answer"] == ANSWER["text"]
    assert json.loads(vote["citations"]) == ANSWER["citations"]
    assert vote["index_version"] == "v-test"
    assert vote["time"]


def test_changing_or_withdrawing_a_vote_does_not_count_twice(store):
    store.record_vote("a1", "up", ANSWER)
    store.record_vote("a1", "down", ANSWER)
    store.record_vote("a2", "up", ANSWER)
    assert store.summary().down == 1 and store.summary().up == 1
    store.record_vote("a2", None, ANSWER)
    assert [v["answer_id"] for v in store.votes()] == ["a1"]
    with pytest.raises(ValueError):
        store.record_vote("a3", "meh", ANSWER)  # type: ignore[arg-type]


def test_refused_questions_are_logged_with_missing_terms(store):
    store.log_unanswered(REFUSED, channel="web")
    (row,) = store.unanswered()
    assert row["question"] == REFUSED["question"]
    assert json.loads(row["missing_terms"]) == ["深圳"]
    assert row["channel"] == "web" and row["index_version"] == "v-test"
    assert store.summary().unanswered == 1


def test_export_csv_has_votes_and_unanswered_questions_readable_by_excel(store, tmp_path):
    store.record_vote("a1", "down", ANSWER)
    store.log_unanswered(REFUSED, channel="api")
    target = tmp_path / "out" / "feedback.csv"
    assert store.export_csv(target) == 2
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel then reads UTF-8
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["kind"], r["question"]) for r in rows] == [
        ("vote", ANSWER["question"]),
        ("unanswered", REFUSED["question"]),
    ]
    assert rows[0]["vote"] == "down" and "95.15%" in rows[0]["answer"]
    assert rows[1]["missing_terms"] == "深圳" and rows[1]["channel"] == "api"


def test_feedback_command_exports_from_the_configured_data_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ASSISTANT_DATA", str(tmp_path / "data"))
    FeedbackStore().log_unanswered(REFUSED)
    assert main(["feedback"]) == 0
    assert "1 unanswered" in capsys.readouterr().out
    target = tmp_path / "staff.csv"
    assert main(["feedback", "--export", str(target)]) == 0
    assert "深圳的智慧城市排名第几？" in target.read_text(encoding="utf-8-sig")
