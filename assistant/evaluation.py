"""``assistant eval``: passage hits, answer accuracy and refusal quality over a question file.

A gold answer is a list of substrings; an answer is right when it was not refused and
one of its quoted sentences contains one of them. An empty list means the question
must be refused; a small-talk reply ("你好") counts as a refusal, since it claims nothing
from the sources, and is also counted apart (``smalltalk``). A line may carry the
resident's earlier questions as ``history``: they are asked first, in order, and the
assistant's own answers become the conversation the scored question follows, as in the chat.

Short answers (``Answer.short_answer``): of the answerable questions whose ``type`` (or, in a
file without types, whose analysed kind) asks a fact (``FACT_TYPES``: a number, a date or time,
a person, a place), the share whose short answer is
the right fact: shown and ``spans.right_fact`` (CMRC F1 >= 0.8 against a gold, or within a gold
and writing all of its numbers) (goal >= 0.85).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .answering import Turn, answer
from .answering.question import analyse
from .answering.spans import right_fact
from .calibration import expected_calibration_error, format_reliability, reliability
from .retrieval import Retriever

_LINE_SHAPE = '{"question": ..., "answers": [...], "history": [...] (optional), "type": ... (optional)}'


class QuestionFileError(ValueError):
    """A question file line that is not a well-formed question; the message names file and line."""


@dataclass(frozen=True)
class EvalItem:
    """One scored question of a question file, with the earlier questions it follows."""

    question: str
    answers: tuple[str, ...]  # empty: the question must be refused
    history: tuple[str, ...] = ()
    type: str = ""


def _strings(value, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError(f'"{field}" must be a list of strings, got {json.dumps(value, ensure_ascii=False)}')
    return tuple(value)


def _item(line: str) -> EvalItem:
    item = json.loads(line)
    if not isinstance(item, dict):
        raise TypeError("a line must be one JSON object")
    question = item["question"]
    if not isinstance(question, str):
        raise TypeError('"question" must be a string')
    history = _strings(item.get("history", []), "history")
    if not all(h.strip() for h in history):
        raise ValueError('"history" entries must be non-empty questions')
    return EvalItem(question, _strings(item["answers"], "answers"), history, str(item.get("type", "")))


def read_questions(path: Path) -> list[EvalItem]:
    """The file's questions; a malformed line raises ``QuestionFileError`` naming the file and line."""
    items = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(_item(line))
        except (ValueError, KeyError, TypeError) as exc:
            raise QuestionFileError(f"{path}:{lineno}: expected {_LINE_SHAPE} ({exc})") from exc
    return items


def _conversation(item: EvalItem, retriever: Retriever) -> list[Turn]:
    """The turns before ``item.question``: each earlier question with the answer it got."""
    turns: list[Turn] = []
    for question in item.history:
        turns.append(Turn(question, answer(question, turns, retriever=retriever).text))
    return turns


#: Question types (the ``type`` field) that ask for one fact a short answer should state.
FACT_TYPES = frozenset({"number", "date", "time", "who", "where", "person", "place"})


def evaluate(path: Path, index_dir: str | Path | None = None) -> dict:
    """Score every question of ``path``; ``by_type`` counts right answers and refusals per ``type``.

    Passage hits search with the query a follow-up resolves to, as ``answer`` does.
    """
    items = read_questions(path)
    retriever = Retriever.load(index_dir)
    hit1 = hit3 = answered_ok = wrongly_refused = 0
    refused_ok = refused_total = smalltalk = 0
    failures = []
    type_total: Counter[str] = Counter()
    type_right: Counter[str] = Counter()
    # Which refusal units fired, on questions that must be answered and on those that must not.
    reasons: dict[str, Counter[str]] = {"answerable": Counter(), "must_refuse": Counter()}
    answerable = [i for i in items if i.answers]
    must_refuse = [i for i in items if not i.answers]
    calibrated: list[tuple[float, bool]] = []  # (confidence, right) of each answered question
    facts = fact_right = 0
    for item in items:
        turns = _conversation(item, retriever)
        result = answer(item.question, turns, retriever=retriever)
        declined = result.kind != "answer"
        refused_total += declined
        smalltalk += result.kind == "smalltalk"
        reasons["answerable" if item.answers else "must_refuse"].update(result.reasons)
        type_total[item.type] += 1
        gold = list(item.answers)
        asked = {"question": item.question, "type": item.type}
        if item.history:
            asked["history"] = list(item.history)
        quotes = " ".join(c.quote for c in result.citations)
        right = bool(gold) and any(g in quotes for g in gold)  # what accuracy and calibration count
        if not result.refused:
            calibrated.append((result.confidence, right))
        if not gold:
            refused_ok += declined
            type_right[item.type] += declined
            if not declined:
                failures.append(
                    {
                        **asked,
                        "problem": "answered, should refuse",
                        "got": [c.quote for c in result.citations],
                    }
                )
            continue
        asked_as = analyse(item.question, turns, retriever)
        if (item.type or asked_as.kind) in FACT_TYPES:
            facts += 1
            sa = result.short_answer
            fact_right += sa is not None and right_fact(sa.text, gold)
        passages = retriever.search(asked_as.query, 3)
        ranks = [any(g in p.text for g in gold) for p in passages]
        hit1 += bool(ranks[:1] and ranks[0])
        hit3 += any(ranks)
        if declined:
            wrongly_refused += 1
            failures.append(
                {
                    **asked,
                    "problem": "refused" if result.refused else "small talk",
                    "gold": gold,
                    "missing": list(result.missing_terms),
                }
            )
        elif right:
            answered_ok += 1
            type_right[item.type] += 1
        else:
            failures.append(
                {
                    **asked,
                    "problem": "wrong quote",
                    "gold": gold,
                    "got": [c.quote for c in result.citations],
                }
            )
    n_ans, n_ref = len(answerable) or 1, len(must_refuse)
    return {
        "questions": len(items),
        "answerable": len(answerable),
        "must_refuse": len(must_refuse),
        "passage_hit@1": hit1 / n_ans,
        "passage_hit@3": hit3 / n_ans,
        "answer_accuracy": answered_ok / n_ans,
        "wrongly_refused": wrongly_refused / n_ans,
        "refusal_recall": refused_ok / n_ref if n_ref else 1.0,
        "refusal_precision": refused_ok / refused_total if refused_total else 1.0,
        "smalltalk": smalltalk,
        "by_type": {t: {"right": type_right[t], "total": n} for t, n in sorted(type_total.items()) if t},
        "refusal_reasons": {side: dict(sorted(c.items())) for side, c in reasons.items()},
        "fact_questions": facts,
        "short_answer_right": fact_right / facts if facts else None,
        "ece": expected_calibration_error(calibrated),
        "reliability": reliability(calibrated),
        "failures": failures,
    }


def gate_failures(figures: dict, minimums: dict[str, float | None]) -> list[str]:
    """Each figure below its minimum, as "answer accuracy 0.812 < 0.85" (a None minimum gates
    nothing; a figure that could not be measured fails its gate)."""
    failed = []
    for key, minimum in minimums.items():
        value = figures.get(key)
        if minimum is not None and (value is None or value < minimum):
            shown = "not measured" if value is None else f"{value:.3f}"
            failed.append(f"{key.replace('_', ' ')} {shown} < {minimum}")
    return failed


def format_report(report: dict) -> str:
    lines = [f"{len(report['failures'])} failures:"] if report["failures"] else []
    for f in report["failures"]:
        detail = f.get("gold") or ""
        got = f.get("got") or f.get("missing") or ""
        asked = " → ".join([*f.get("history", []), f["question"]])
        kind = f" ({f['type']})" if f.get("type") else ""
        lines.append(f"  - {asked}{kind}  [{f['problem']}] gold={detail} got={got}")
    r = report
    lines += [
        f"questions: {r['questions']} ({r['answerable']} answerable, {r['must_refuse']} must refuse)",
        f"passage hit@1: {r['passage_hit@1']:.3f}   hit@3: {r['passage_hit@3']:.3f}",
        f"answer accuracy: {r['answer_accuracy']:.3f}   wrongly refused: {r['wrongly_refused']:.3f}",
        f"refusal recall: {r['refusal_recall']:.3f}   refusal precision: {r['refusal_precision']:.3f}",
    ]
    if r.get("smalltalk"):
        lines.append(f"answered as small talk: {r['smalltalk']}")
    if r["by_type"]:
        lines.append(
            "right per type: " + "  ".join(f"{t} {c['right']}/{c['total']}" for t, c in r["by_type"].items())
        )
    if r.get("fact_questions"):
        lines.append(
            f"short answer is the right fact: {r['short_answer_right']:.3f} "
            f"of {r['fact_questions']} number/date/person/place questions"
        )
    for side, counts in r["refusal_reasons"].items():
        if counts:
            lines.append(
                f"refusals on {side.replace('_', '-')} questions: "
                + ", ".join(f"{name} {n}" for name, n in counts.items())
            )
    if r["ece"] is not None:
        lines.append(f"calibration of confidence (answered questions): ECE {r['ece']:.3f}")
        lines.append(format_reliability(r["reliability"]))
    return "\n".join(lines)
