"""The feedback store: votes replace and withdraw, refused questions are kept, CSV for staff."""

from __future__ import annotations

import csv
import json
import sqlite3

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
    "reasons": ["place_not_in_sources", "name_not_in_context"],
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
    assert json.loads(row["reasons"]) == ["place_not_in_sources", "name_not_in_context"]
    assert row["channel"] == "web" and row["index_version"] == "v-test"
    assert store.summary().unanswered == 1


def test_a_database_from_before_reasons_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with sqlite3.connect(path) as conn:  # the table as the previous version created it
        conn.execute(
            "CREATE TABLE unanswered (id INTEGER PRIMARY KEY, time TEXT NOT NULL,"
            " channel TEXT NOT NULL, question TEXT NOT NULL, missing_terms TEXT NOT NULL,"
            " confidence REAL, index_version TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO unanswered VALUES"
            " (1, '2000-01-01T00:00:00+00:00', 'web', '旧问题', '[]', 0.1, 'v-old')"
        )
    store = FeedbackStore(path)
    store.log_unanswered(REFUSED)
    store.flush()
    old, new = store.unanswered()
    assert old["question"] == "旧问题" and json.loads(old["reasons"]) == []
    assert json.loads(new["reasons"]) == REFUSED["reasons"]


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
    writer = FeedbackStore()
    writer.log_unanswered(REFUSED)
    writer.flush()  # queued: another store (the command's) sees it once written
    assert main(["feedback"]) == 0
    assert "1 unanswered" in capsys.readouterr().out
    target = tmp_path / "staff.csv"
    assert main(["feedback", "--export", str(target)]) == 0
    assert "深圳的智慧城市排名第几？" in target.read_text(encoding="utf-8-sig")


@pytest.fixture
def locked(store):
    """Another connection holding a write transaction, as a staff member browsing the file might."""
    store.log_unanswered(REFUSED)  # creates the file and its tables
    store.flush()
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    yield conn
    conn.rollback()
    conn.close()


def test_a_locked_database_does_not_block_the_caller_and_the_write_lands_later(store, locked):
    """Issue 13, failure 3: a refused question failed with 'database is locked' after 10.2 s."""
    store.record_vote("a1", "up", ANSWER)
    store.log_unanswered(REFUSED | {"question": "上海的地铁有多长？"})
    assert not store.flush(timeout=0.5)  # both calls returned; their writes are still waiting
    locked.rollback()
    assert store.flush(timeout=30)
    assert [v["answer_id"] for v in store.votes()] == ["a1"]
    assert [u["question"] for u in store.unanswered()][-1] == "上海的地铁有多长？"


def test_a_write_locked_out_past_the_retry_time_is_logged_with_its_payload(store, locked, caplog):
    late = FeedbackStore(store.path, retry_seconds=0.3)
    late.log_unanswered(REFUSED | {"question": "锁住时的问题"})
    assert late.flush(timeout=30)
    (record,) = [r for r in caplog.records if r.name == "assistant.feedback"]
    assert record.levelname == "ERROR" and "锁住时的问题" in record.getMessage()
    locked.rollback()
    assert "锁住时的问题" not in [u["question"] for u in late.unanswered()]


def test_csv_export_defuses_formula_like_cells(store, tmp_path):
    """Issue 13, failure 4: questions starting with = + - @ were exported for Excel verbatim."""
    risky = ['=HYPERLINK("http://x","点我")', "+1+2", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"]
    for question in risky + ["青岛有多少个数据中心？"]:
        store.log_unanswered(REFUSED | {"question": question, "confidence": -0.5})
    target = tmp_path / "feedback.csv"
    store.export_csv(target)
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["question"] for r in rows] == ["'" + q for q in risky] + ["青岛有多少个数据中心？"]
    assert {r["confidence"] for r in rows} == {"-0.5"}  # a number stays a number


def test_feedback_command_prints_control_characters_escaped(tmp_path, monkeypatch, capsys):
    """Issue 13, failure 5: a question holding terminal escapes was printed raw."""
    monkeypatch.setenv("ASSISTANT_DATA", str(tmp_path / "data"))
    writer = FeedbackStore()
    writer.log_unanswered(REFUSED | {"question": "\x1b[2J\x1b]0;pwned\x07问\u202e题"})
    writer.flush()
    assert main(["feedback"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[2J\\x1b]0;pwned\\x07问\\u202e题" in out
