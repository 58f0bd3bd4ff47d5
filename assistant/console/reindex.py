"""A reindex started from the page: ``build_index`` in a background thread, followed by polling.

The build is the CLI's own, lock included: while ``assistant reindex`` runs, the page's
build fails at once with the lock's message, and the other way round. A failed build
leaves ``CURRENT`` (the live version) as it was; the chat switches by itself after a
successful one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..index import BuildReport, index_stats

log = logging.getLogger(__name__)


@dataclass
class ReindexState:
    status: str = "idle"  # idle | running | done | failed
    stage: str = ""
    done: int = 0
    total: int = 0
    started_by: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    error: str = ""
    report: BuildReport | None = None
    stats: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "error": self.error,
        }


class ReindexJob:
    """At most one build at a time from this console; the index lock guards against all others."""

    def __init__(self, corpus_dir: Path, index_dir: Path):
        self.corpus_dir = Path(corpus_dir)
        self.index_dir = Path(index_dir)
        self.state = ReindexState()
        self._lock = threading.Lock()

    def start(self, staff: str) -> bool:
        """Start a build; False if this console is already building."""
        with self._lock:
            if self.state.status == "running":
                return False
            self.state = ReindexState("running", "读取文件", started_by=staff, started_at=time.time())
        threading.Thread(target=self._run, name="console-reindex", daemon=True).start()
        return True

    def _progress(self, documents):
        documents = list(documents)
        self.state.total, self.state.stage = len(documents), "切分与向量化"
        for i, doc in enumerate(documents):
            self.state.done = i
            yield doc
        self.state.done, self.state.stage = len(documents), "写入新版本"

    def _run(self) -> None:
        from ..index import build_index

        s = self.state
        try:
            s.report = build_index(self.corpus_dir, self.index_dir, progress=self._progress)
            s.stats = index_stats(self.index_dir)
            s.status = "done"
            log.info(
                "staff=%s action=reindex result=done version=%s documents=%d chunks=%d skipped=%d s=%.1f",
                s.started_by,
                s.report.version,
                s.report.documents,
                s.report.chunks,
                len(s.report.skipped),
                s.report.seconds,
            )
        except Exception as exc:  # any failure is shown to staff; the live index is untouched
            s.error = str(exc) or exc.__class__.__name__
            s.status = "failed"
            log.warning("staff=%s action=reindex result=failed error=%s", s.started_by, s.error)
        finally:
            s.finished_at = time.time()
