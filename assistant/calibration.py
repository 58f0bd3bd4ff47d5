"""How well ``Answer.confidence`` is calibrated: a reliability table and its expected error.

One definition for ``assistant eval``, ``benchmarks/open_domain.py`` and the answerer's
training: answered questions in 10 equal-width bins of confidence; ECE = Σ (bin count /
answered) × |share right − mean confidence|.
"""

from __future__ import annotations

import statistics
from typing import Iterable

BINS = 10


def reliability(pairs: Iterable[tuple[float, bool]]) -> list[dict]:
    """(confidence, right) of each answered question → per bin: count, mean confidence, share right."""
    bins: list[list[tuple[float, bool]]] = [[] for _ in range(BINS)]
    for confidence, right in pairs:
        bins[min(BINS - 1, max(0, int(confidence * BINS)))].append((confidence, right))
    return [
        {
            "bin": f"{i / BINS:.1f}–{(i + 1) / BINS:.1f}",
            "answered": len(b),
            "mean_confidence": statistics.fmean(c for c, _ in b) if b else None,
            "share_right": statistics.fmean(r for _, r in b) if b else None,
        }
        for i, b in enumerate(bins)
    ]


def expected_calibration_error(pairs: Iterable[tuple[float, bool]]) -> float | None:
    """None when nothing was answered."""
    rows = [r for r in reliability(pairs) if r["answered"]]
    total = sum(r["answered"] for r in rows)
    if not total:
        return None
    return sum(r["answered"] / total * abs(r["share_right"] - r["mean_confidence"]) for r in rows)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def format_reliability(rows: list[dict]) -> str:
    lines = ["| confidence | answered | mean confidence | share right |", "|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['bin']} | {r['answered']} | {_num(r['mean_confidence'])} | {_num(r['share_right'])} |"
        )
    return "\n".join(lines)
