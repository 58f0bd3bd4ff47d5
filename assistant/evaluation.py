"""``assistant eval``: passage hits, answer accuracy and refusal quality over a question file.

A gold answer is a list of substrings; an answer is right when it was not refused and
one of its quoted sentences contains one of them. An empty list means the question
must be refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from .answering import answer
from .retrieval import Retriever


def read_questions(path: Path) -> list[dict]:
    items = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            question, gold = item["question"], item["answers"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f'{path}:{lineno}: expected {{"question": ..., "answers": [...]}} ({exc})'
            ) from exc
        items.append({"question": question, "answers": list(gold)})
    return items


def evaluate(path: Path, index_dir: str | Path | None = None) -> dict:
    retriever = Retriever.load(index_dir)
    items = read_questions(path)
    hit1 = hit3 = answered_ok = wrongly_refused = 0
    refused_ok = refused_total = 0
    failures = []
    answerable = [i for i in items if i["answers"]]
    must_refuse = [i for i in items if not i["answers"]]
    for item in items:
        result = answer(item["question"], retriever=retriever)
        refused_total += result.refused
        gold = item["answers"]
        if not gold:
            refused_ok += result.refused
            if not result.refused:
                failures.append(
                    {
                        "question": item["question"],
                        "problem": "answered, should refuse",
                        "got": [c.quote for c in result.citations],
                    }
                )
            continue
        passages = retriever.search(item["question"], 3)
        ranks = [any(g in p.text for g in gold) for p in passages]
        hit1 += bool(ranks[:1] and ranks[0])
        hit3 += any(ranks)
        quotes = " ".join(c.quote for c in result.citations)
        if result.refused:
            wrongly_refused += 1
            failures.append(
                {
                    "question": item["question"],
                    "problem": "refused",
                    "gold": gold,
                    "missing": list(result.missing_terms),
                }
            )
        elif any(g in quotes for g in gold):
            answered_ok += 1
        else:
            failures.append(
                {
                    "question": item["question"],
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
        lines.append(f"  - {f['question']}  [{f['problem']}] gold={detail} got={got}")
    r = report
    lines += [
        f"questions: {r['questions']} ({r['answerable']} answerable, {r['must_refuse']} must refuse)",
        f"passage hit@1: {r['passage_hit@1']:.3f}   hit@3: {r['passage_hit@3']:.3f}",
        f"answer accuracy: {r['answer_accuracy']:.3f}   wrongly refused: {r['wrongly_refused']:.3f}",
        f"refusal recall: {r['refusal_recall']:.3f}   refusal precision: {r['refusal_precision']:.3f}",
    ]
    return "\n".join(lines)
