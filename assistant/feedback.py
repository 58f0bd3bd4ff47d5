"""Votes on answers and questions the sources could not answer, kept in SQLite for staff.

Staff need two lists: which answers residents found helpful or not (to tune the corpus
and the answering), and what residents ask that the sources do not cover (to know which
articles to add). Both live in one SQLite file under ``config.data_dir()``, because
SQLite needs no server, survives restarts and copes with a few concurrent writers.
Each operation opens its own short connection, so the store is safe to share between
the web server's worker threads.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from . import config

Vote = Literal["up", "down"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    answer_id TEXT NOT NULL UNIQUE,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    refused INTEGER NOT NULL,
    confidence REAL,
    index_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    missing_terms TEXT NOT NULL,
    confidence REAL,
    index_version TEXT NOT NULL
);
"""

#: Columns of the staff CSV: one row per vote or unanswered question, told apart by ``kind``.
CSV_COLUMNS = (
    "kind",
    "time",
    "vote",
    "question",
    "answer",
    "citations",
    "missing_terms",
    "confidence",
    "index_version",
    "channel",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FeedbackSummary:
    up: int
    down: int
    unanswered: int


class FeedbackStore:
    """One SQLite file; created with its folder on first use."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or config.feedback_db())

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        conn.row_factory = sqlite3.Row
        # WAL lets staff read (export) while the server writes.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        return conn

    def record_vote(self, answer_id: str, vote: Vote | None, answer: dict[str, Any]) -> None:
        """Store (or replace) the vote on one answer shown to one resident; ``None`` withdraws it.

        ``answer`` is ``Answer.to_dict()`` plus ``index_version``. ``answer_id`` names that
        one answer on that one page, so changing one's mind replaces the vote instead of
        counting twice.
        """
        with closing(self._connect()) as conn, conn:
            if vote is None:
                conn.execute("DELETE FROM votes WHERE answer_id = ?", (answer_id,))
                return
            if vote not in ("up", "down"):
                raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
            conn.execute(
                "INSERT INTO votes (time, answer_id, vote, question, answer, citations, refused,"
                " confidence, index_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (answer_id) DO UPDATE SET vote = excluded.vote, time = excluded.time",
                (
                    _now(),
                    answer_id,
                    vote,
                    answer.get("question", ""),
                    answer.get("text", ""),
                    json.dumps(answer.get("citations", []), ensure_ascii=False),
                    int(bool(answer.get("refused"))),
                    answer.get("confidence"),
                    answer.get("index_version", ""),
                ),
            )

    def log_unanswered(self, answer: dict[str, Any], channel: str = "web") -> None:
        """Remember a refused question, so staff see what the sources do not cover."""
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO unanswered (time, channel, question, missing_terms, confidence, index_version)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    channel,
                    answer.get("question", ""),
                    json.dumps(list(answer.get("missing_terms", [])), ensure_ascii=False),
                    answer.get("confidence"),
                    answer.get("index_version", ""),
                ),
            )

    def votes(self) -> list[dict[str, Any]]:
        with closing(self._connect()) as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM votes ORDER BY time, id")]

    def unanswered(self) -> list[dict[str, Any]]:
        with closing(self._connect()) as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM unanswered ORDER BY time, id")]

    def summary(self) -> FeedbackSummary:
        with closing(self._connect()) as conn:
            counts = dict(conn.execute("SELECT vote, COUNT(*) FROM votes GROUP BY vote").fetchall())
            (unanswered,) = conn.execute("SELECT COUNT(*) FROM unanswered").fetchone()
        return FeedbackSummary(counts.get("up", 0), counts.get("down", 0), unanswered)

    def export_csv(self, path: Path | str) -> int:
        """Write votes and unanswered questions to one CSV; returns the number of rows.

        UTF-8 with a byte-order mark, so that Excel on a staff PC shows the Chinese text.
        """
        rows: list[dict[str, Any]] = []
        for v in self.votes():
            rows.append(
                {
                    "kind": "vote",
                    "time": v["time"],
                    "vote": v["vote"],
                    "question": v["question"],
                    "answer": v["answer"],
                    "citations": v["citations"],
                    "missing_terms": "",
                    "confidence": v["confidence"],
                    "index_version": v["index_version"],
                    "channel": "web",
                }
            )
        for u in self.unanswered():
            rows.append(
                {
                    "kind": "unanswered",
                    "time": u["time"],
                    "vote": "",
                    "question": u["question"],
                    "answer": "",
                    "citations": "",
                    "missing_terms": "、".join(json.loads(u["missing_terms"])),
                    "confidence": u["confidence"],
                    "index_version": u["index_version"],
                    "channel": u["channel"],
                }
            )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        return len(rows)
