"""Votes on answers and questions the sources could not answer, kept in SQLite for staff.

Staff need two lists: which answers residents found helpful or not (to tune the corpus
and the answering), and what residents ask that the sources do not cover (to know which
articles to add). Both live in one SQLite file under ``config.data_dir()``, because
SQLite needs no server, survives restarts and copes with a few concurrent writers.
Each operation opens its own short connection, so the store is safe to share between
the web server's worker threads.

Writes never make a resident wait: ``record_vote`` and ``log_unanswered`` put the write on
a queue and return. One writer thread per store applies them in order, each try waiting
at most ``FEEDBACK_BUSY_TIMEOUT`` for a lock (a staff member browsing the file with a write
transaction open holds one), retrying for ``FEEDBACK_RETRY_SECONDS``, and then logging the
write with its payload, so that it is never silently lost.
"""

from __future__ import annotations

import atexit
import csv
import json
import logging
import queue
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from . import config

log = logging.getLogger(__name__)

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
    index_version TEXT NOT NULL,
    reasons TEXT NOT NULL DEFAULT '[]'
);
"""

#: Columns added after a database may have been created: (table, column, definition).
_ADDED_COLUMNS = (("unanswered", "reasons", "TEXT NOT NULL DEFAULT '[]'"),)

#: Columns of the staff CSV: one row per vote or unanswered question, told apart by ``kind``.
CSV_COLUMNS = (
    "kind",
    "time",
    "vote",
    "question",
    "answer",
    "citations",
    "missing_terms",
    "reasons",
    "confidence",
    "index_version",
    "channel",
)


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A resident's text as a cell: a leading ``'`` makes Excel show ``=HYPERLINK(…)`` as text
    instead of running it. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to the current columns (old rows get the default)."""
    for table, column, definition in _ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            conn.commit()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FeedbackSummary:
    up: int
    down: int
    unanswered: int


@dataclass(frozen=True)
class _Write:
    """One queued write: what it does (for the log if it is given up) and its SQL."""

    what: str
    sql: str
    params: tuple
    queued: float


_INSERT_VOTE = (
    "INSERT INTO votes (time, answer_id, vote, question, answer, citations, refused,"
    " confidence, index_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (answer_id) DO UPDATE SET vote = excluded.vote, time = excluded.time"
)
_DELETE_VOTE = "DELETE FROM votes WHERE answer_id = ?"
_INSERT_UNANSWERED = (
    "INSERT INTO unanswered (time, channel, question, missing_terms, confidence, index_version, reasons)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class FeedbackStore:
    """One SQLite file; created with its folder on first use."""

    def __init__(
        self,
        path: Path | str | None = None,
        busy_timeout: float = config.FEEDBACK_BUSY_TIMEOUT,
        retry_seconds: float = config.FEEDBACK_RETRY_SECONDS,
    ):
        self.path = Path(path or config.feedback_db())
        self.busy_timeout = busy_timeout
        self.retry_seconds = retry_seconds
        self._queue: queue.Queue[_Write] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    def _connect(self, timeout: float = 10.0) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=timeout)
        conn.row_factory = sqlite3.Row
        # WAL lets staff read (export) while the server writes.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        _add_missing_columns(conn)
        return conn

    # ------------------------------------------------------------------- writes

    def record_vote(self, answer_id: str, vote: Vote | None, answer: dict[str, Any]) -> None:
        """Store (or replace) the vote on one answer shown to one resident; ``None`` withdraws it.

        ``answer`` is ``Answer.to_dict()`` plus ``index_version``. ``answer_id`` names that
        one answer on that one page, so changing one's mind replaces the vote instead of
        counting twice. Queued: returns at once.
        """
        if vote is None:
            self._enqueue(f"withdraw vote {answer_id}", _DELETE_VOTE, (answer_id,))
            return
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
        params = (
            _now(),
            answer_id,
            vote,
            answer.get("question", ""),
            answer.get("text", ""),
            json.dumps(answer.get("citations", []), ensure_ascii=False),
            int(bool(answer.get("refused"))),
            answer.get("confidence"),
            answer.get("index_version", ""),
        )
        self._enqueue(f"vote {vote} on {answer_id}", _INSERT_VOTE, params)

    def log_unanswered(self, answer: dict[str, Any], channel: str = "web") -> None:
        """Remember a refused question, so staff see what the sources do not cover. Queued."""
        params = (
            _now(),
            channel,
            answer.get("question", ""),
            json.dumps(list(answer.get("missing_terms", [])), ensure_ascii=False),
            answer.get("confidence"),
            answer.get("index_version", ""),
            json.dumps(list(answer.get("reasons", [])), ensure_ascii=False),
        )
        self._enqueue("unanswered question", _INSERT_UNANSWERED, params)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued write is stored or given up; False if ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def _enqueue(self, what: str, sql: str, params: tuple) -> None:
        self._queue.put(_Write(what, sql, params, time.monotonic()))
        with self._writer_lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(
                    target=self._write_forever, name="feedback-writer", daemon=True
                )
                self._writer.start()
                # A command that exits right after a vote still stores it.
                atexit.register(self.flush, self.retry_seconds + 1)

    def _write_forever(self) -> None:
        while True:
            write = self._queue.get()
            try:
                self._apply(write)
            finally:
                self._queue.task_done()

    def _apply(self, write: _Write) -> None:
        """One write, retried while the database is locked; logged with its payload if given up."""
        while True:
            try:
                with closing(self._connect(self.busy_timeout)) as conn, conn:
                    conn.execute(write.sql, write.params)
                return
            except (sqlite3.Error, OSError) as exc:
                locked = isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)
                if not locked or time.monotonic() - write.queued >= self.retry_seconds:
                    payload = json.dumps(write.params, ensure_ascii=False, default=str)
                    log.error("feedback not stored (%s: %s); payload: %s", write.what, exc, payload)
                    return
                time.sleep(self.busy_timeout)

    # -------------------------------------------------------------------- reads

    def _read(self) -> sqlite3.Connection:
        """A connection for reading, after this process's own queued writes are stored."""
        self.flush(self.retry_seconds + 1)
        return self._connect()

    def votes(self) -> list[dict[str, Any]]:
        with closing(self._read()) as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM votes ORDER BY time, id")]

    def unanswered(self) -> list[dict[str, Any]]:
        with closing(self._read()) as conn:
            return [dict(r) for r in conn.execute("SELECT * FROM unanswered ORDER BY time, id")]

    def summary(self) -> FeedbackSummary:
        with closing(self._read()) as conn:
            counts = dict(conn.execute("SELECT vote, COUNT(*) FROM votes GROUP BY vote").fetchall())
            (unanswered,) = conn.execute("SELECT COUNT(*) FROM unanswered").fetchone()
        return FeedbackSummary(counts.get("up", 0), counts.get("down", 0), unanswered)

    def export_csv(self, path: Path | str) -> int:
        """Write votes and unanswered questions to one CSV; returns the number of rows.

        UTF-8 with a byte-order mark, so that Excel on a staff PC shows the Chinese text.
        Text that a spreadsheet would run as a formula is defused (see ``_csv_cell``).
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
                    "reasons": "",
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
                    "reasons": " ".join(json.loads(u["reasons"])),
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
            writer.writerows({k: _csv_cell(v) for k, v in row.items()} for row in rows)
        return len(rows)
