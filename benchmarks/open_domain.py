"""Open-domain measurement on any SQuAD-style file: answers, refusals, calibration, speed.

    python benchmarks/open_domain.py FILE.json                    # seeds 0, 1, 2 and their mean
    python benchmarks/open_domain.py FILE.json --seed 0 --min-accuracy 0.70 --min-refusal 0.80
    python benchmarks/open_domain.py DRCD_dev.json --simplified --fold 2/5 --answer-model M.npz

A reading-comprehension file asks about a paragraph the annotator could see; the product
meets questions against a whole index, and some about things the index does not hold. So, per
seed (``assistant/squad.py`` does the bookkeeping):

1. a share of the articles (``--hold-out``, 0.2) is held out of the index: their questions must
   be refused;
2. the other articles are written as Markdown files and indexed by the real ``assistant
   reindex`` (a subprocess) in a temporary folder (``--index-dir`` keeps it);
3. the questions asked are every question of the indexed articles plus must-refuse questions
   sampled from the held-out ones, 25 % of all asked. With ``--hold-out 0.2`` the held-out
   articles rarely have enough: then all of theirs are asked and the answerable questions are
   sampled down, so that the share stays 25 % (refusal precision depends on it). Blank
   questions are skipped and counted. ``--fold K/N`` asks only the questions of the articles of
   fold K (0-based) of N (``squad.fold_of``, a hash of the article id; the index still holds
   every indexed article): a model trained on the other folds never saw them;
4. every question goes through ``assistant.answer()`` with a loaded ``Retriever``.

Figures (an answerable question's gold is its answer strings, blanks at the ends dropped):

- passage hit@1 / hit@3: ``Retriever.search(question, 3)`` puts a passage holding a gold
  string first / among the three (answerable questions);
- accuracy: share of all questions asked answered right. An answerable question is right when
  it is not refused, some quoted sentence holds a gold string and the answer quotes at most 2
  sentences (counted by the product's sentence splitter); a must-refuse question is right when
  refused. "answerable accuracy" is the same over answerable questions only (what ``assistant
  eval`` calls answer accuracy);
- wrongly refused: share of answerable questions refused; refusal recall: share of must-refuse
  questions refused; refusal precision: share of refusals that were must-refuse questions;
- ECE (expected calibration error) of ``Answer.confidence``, over the answered (not refused)
  questions, the outcome being "right" as above (a must-refuse question answered is wrong):
  10 equal-width bins of confidence, ECE = Σ (bin count / answered) × |share right − mean
  confidence|. The reliability table (pooled over the seeds) shows each bin;
- mean quoted characters: characters of all quotes of an answer, mean over answered questions;
- answer() p50 / p95: wall time of each ``answer()`` call (warm process: one untimed question
  first), nearest-rank percentiles; also its CPU time (``time.process_time``), which other
  processes on a shared machine disturb far less than wall time;
- why refusals fired: ``Answer.reasons``, counted, when answers carry them;
- short answers (``Answer.short_answer``), by CMRC 2018's F1 (``spans.f1``: longest common
  substring after removing punctuation and whitespace, best over the golds): span F1 over the
  answerable questions (0 for no short answer or a refusal); "short answer shown": share of the
  right answers whose shortest gold has at most 20 characters that show one (goal >= 0.5);
  "shown matches gold": share of those shown with F1 >= 0.8 (goal >= 0.9); "shown matches gold
  (all answers)": the same over every answer that shows one.

``--min-accuracy`` / ``--min-refusal`` exit 1 when accuracy / refusal recall (the mean over
the seeds, or the single seed) is below them. ``--json`` prints every figure as JSON instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Retriever, answer, calibration, config, squad
from assistant.answering.spans import f1
from assistant.chunking import split_sentences
from assistant.cli import print_and_gate
from assistant.evaluation import gate_failures
from benchmarks.run import assistant_command, blas_info, machine, percentile

DEFAULT_SEEDS = (0, 1, 2)
#: At most this many sentences may be quoted for an answer to count as right (issue 12).
MAX_RIGHT_SENTENCES = 2


@dataclass(frozen=True)
class Outcome:
    """What happened to one question."""

    must_refuse: bool
    refused: bool
    right: bool
    confidence: float
    quoted_chars: int
    hit1: bool
    hit3: bool
    ms: float
    cpu_ms: float
    reasons: tuple[str, ...]
    span_f1: float | None = None  # CMRC F1 of the short answer (None: none shown)
    short_gold: bool = False  # the shortest gold has at most ``span_short_gold`` characters


# ------------------------------------------------------------------------- one seed


def run_seed(articles: list[squad.Article], seed: int, args: argparse.Namespace, work: Path) -> dict:
    """Hold out, write, reindex, ask; the figures of one seed (plus its outcomes)."""
    started = time.perf_counter()
    split = squad.split_articles(articles, args.hold_out, seed)
    corpus_map = squad.write_corpus(split.indexed, work / "corpus")
    reindex_s = reindex(work / "corpus", work / "index")
    retriever = Retriever.load(work / "index")
    if len(retriever.documents) != len(corpus_map.articles):
        missing = sorted(set(corpus_map.articles) - set(retriever.documents))
        raise SystemExit(f"error: reindex left out {len(missing)} written articles: {missing[:5]}")
    in_fold = fold_filter(args.fold)
    questions = squad.build_questions(
        [a for a in split.indexed if in_fold(a)],
        [a for a in split.held_out if in_fold(a)],
        seed,
        args.refuse_share,
    )
    if not questions.questions:
        raise SystemExit("error: no questions to ask (is the file or the fold empty?)")

    from tqdm import tqdm

    answer(questions.questions[0].qa.question, retriever=retriever)  # loads jieba & co. untimed
    asked_at = time.perf_counter()
    outcomes = [ask(q, retriever) for q in tqdm(questions.questions, desc=f"seed {seed}", disable=None)]
    figures = {
        "seed": seed,
        "fold": args.fold,
        "answerable": len(questions.answerable),
        "answerable_available": questions.answerable_available,
        "must_refuse": len(questions.must_refuse),
        "must_refuse_available": questions.must_refuse_available,
        "skipped_empty": questions.skipped_empty,
        "skipped_no_answer": questions.skipped_no_answer,
        "indexed_articles": len(split.indexed),
        "held_out_articles": len(split.held_out),
        "chunks": len(retriever.chunks),
        **summarise(outcomes),
        "reindex_s": reindex_s,
        "ask_s": time.perf_counter() - asked_at,
        "wall_s": time.perf_counter() - started,
    }
    return {"figures": figures, "outcomes": outcomes}


def fold_filter(fold: tuple[int, int] | None):
    if fold is None:
        return lambda article: True
    k, n = fold
    return lambda article: squad.fold_of(article, n) == k


def reindex(corpus: Path, index: Path) -> float:
    """The real ``assistant reindex`` over ``corpus`` into ``index``; its seconds."""
    env = dict(os.environ, ASSISTANT_CORPUS=str(corpus), ASSISTANT_INDEX=str(index), HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    # Its summary goes to stderr with the progress bar, so that --json keeps stdout clean.
    proc = subprocess.run(
        assistant_command() + ["reindex", "--index", str(index)], env=env, stdout=sys.stderr, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: `assistant reindex` failed with exit code {proc.returncode}")
    return time.perf_counter() - started


def ask(q: squad.AskedQuestion, retriever: Retriever) -> Outcome:
    started, cpu_started = time.perf_counter(), time.process_time()
    result = answer(q.qa.question, retriever=retriever)
    ms, cpu_ms = (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000
    golds = q.golds
    quotes = [c.quote for c in result.citations]
    sentences = sum(len(split_sentences(quote)) for quote in quotes)
    if q.must_refuse:
        right, hit1, hit3 = result.refused, False, False
    else:
        holds = [any(g in p.text for g in golds) for p in retriever.search(q.qa.question, 3)]
        hit1, hit3 = bool(holds[:1] and holds[0]), any(holds)
        quoted = any(g in quote for g in golds for quote in quotes)
        right = not result.refused and quoted and sentences <= MAX_RIGHT_SENTENCES
    return Outcome(
        must_refuse=q.must_refuse,
        refused=result.refused,
        right=right,
        confidence=float(result.confidence),
        quoted_chars=sum(len(quote) for quote in quotes),
        hit1=hit1,
        hit3=hit3,
        ms=ms,
        cpu_ms=cpu_ms,
        reasons=tuple(getattr(result, "reasons", None) or ()),
        span_f1=None if result.short_answer is None or q.must_refuse else f1(result.short_answer.text, golds),
        short_gold=bool(golds) and min(map(len, golds)) <= config.ANSWERING.span_short_gold,
    )


# ---------------------------------------------------------------------------- figures


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summarise(outcomes: list[Outcome]) -> dict:
    answerable = [o for o in outcomes if not o.must_refuse]
    must_refuse = [o for o in outcomes if o.must_refuse]
    answered = [o for o in outcomes if not o.refused]
    refusals = sum(o.refused for o in outcomes)
    refused_ok = sum(o.refused for o in must_refuse)
    times, cpu_times = [o.ms for o in outcomes], [o.cpu_ms for o in outcomes]
    short_right = [o for o in answerable if o.right and o.short_gold]
    shown = [o for o in short_right if o.span_f1 is not None]
    shown_all = [o for o in answerable if o.span_f1 is not None]
    match = config.ANSWERING.span_positive_f1
    return {
        "hit@1": _share(sum(o.hit1 for o in answerable), len(answerable)),
        "hit@3": _share(sum(o.hit3 for o in answerable), len(answerable)),
        "accuracy": _share(sum(o.right for o in outcomes), len(outcomes)),
        "answerable_accuracy": _share(sum(o.right for o in answerable), len(answerable)),
        "wrongly_refused": _share(sum(o.refused for o in answerable), len(answerable)),
        "refusal_recall": _share(refused_ok, len(must_refuse)),
        "refusal_precision": _share(refused_ok, refusals),
        "answered": len(answered),
        "ece": calibration.expected_calibration_error((o.confidence, o.right) for o in answered),
        "mean_quoted_chars": statistics.fmean(o.quoted_chars for o in answered) if answered else None,
        "answer_p50_ms": percentile(times, 50),
        "answer_p95_ms": percentile(times, 95),
        "answer_cpu_p50_ms": percentile(cpu_times, 50),
        "answer_cpu_p95_ms": percentile(cpu_times, 95),
        "span_f1": statistics.fmean(o.span_f1 or 0.0 for o in answerable) if answerable else None,
        "span_shown": _share(len(shown), len(short_right)),
        "span_shown_match": _share(sum(o.span_f1 >= match for o in shown), len(shown)),
        "span_shown_match_all": _share(sum(o.span_f1 >= match for o in shown_all), len(shown_all)),
    }


def reliability(outcomes: list[Outcome]) -> list[dict]:
    """The answered questions in 10 equal-width bins of confidence: count, mean confidence, share right."""
    return calibration.reliability((o.confidence, o.right) for o in outcomes if not o.refused)


def mean_figures(runs: list[dict]) -> dict:
    """Each numeric figure's mean over the seeds (left out where a seed has none)."""
    out = {}
    for key, value in runs[0].items():
        if key == "seed":
            continue
        values = [r[key] for r in runs]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and None not in values:
            out[key] = statistics.fmean(values)
    return out


# --------------------------------------------------------------------------- printing

ROWS = [
    (
        "questions: answerable (of available)",
        lambda f: f"{f['answerable']:.0f} ({f['answerable_available']:.0f})",
    ),
    (
        "questions: must-refuse (of held out)",
        lambda f: f"{f['must_refuse']:.0f} ({f['must_refuse_available']:.0f})",
    ),
    ("questions skipped: empty", lambda f: f"{f['skipped_empty']:.0f}"),
    ("articles indexed / held out", lambda f: f"{f['indexed_articles']:.0f} / {f['held_out_articles']:.0f}"),
    ("chunks", lambda f: f"{f['chunks']:,.0f}"),
    ("passage hit@1", "hit@1"),
    ("passage hit@3", "hit@3"),
    ("accuracy (all questions)", "accuracy"),
    ("accuracy (answerable only)", "answerable_accuracy"),
    ("wrongly refused", "wrongly_refused"),
    ("refusal recall", "refusal_recall"),
    ("refusal precision", "refusal_precision"),
    ("ECE of confidence (answered)", "ece"),
    ("mean quoted characters", lambda f: _num(f.get("mean_quoted_chars"), "{:.1f}")),
    ("span F1 (answerable)", "span_f1"),
    ("short answer shown (right, gold <= 20 chars)", "span_shown"),
    ("shown matches gold (F1 >= 0.8)", "span_shown_match"),
    ("shown matches gold (all answers)", "span_shown_match_all"),
    ("answer() p50 / p95 ms", lambda f: f"{f['answer_p50_ms']:.1f} / {f['answer_p95_ms']:.1f}"),
    (
        "answer() CPU time p50 / p95 ms",
        lambda f: f"{f['answer_cpu_p50_ms']:.1f} / {f['answer_cpu_p95_ms']:.1f}",
    ),
    (
        "reindex s / questions s / wall s",
        lambda f: f"{f['reindex_s']:.0f} / {f['ask_s']:.0f} / {f['wall_s']:.0f}",
    ),
]


def _num(value: float | None, fmt: str = "{:.3f}") -> str:
    return "–" if value is None else fmt.format(value)


def format_table(runs: list[dict], mean: dict | None) -> str:
    columns = [f"seed {r['seed']}" for r in runs] + (["mean"] if mean else [])
    values = runs + ([mean] if mean else [])
    lines = ["| figure | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for label, how in ROWS:
        cells = [how(v) if callable(how) else _num(v.get(how)) for v in values]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reason_counts(outcomes: list[Outcome]) -> list[dict]:
    """How often each refusal reason fired, on answerable (wrong) and must-refuse (right) questions."""
    counts: Counter[tuple[str, bool]] = Counter(
        (reason, o.must_refuse) for o in outcomes if o.refused for reason in o.reasons
    )
    names = sorted({name for name, _ in counts}, key=lambda n: -(counts[n, True] + counts[n, False]))
    return [{"reason": n, "answerable": counts[n, False], "must_refuse": counts[n, True]} for n in names]


# ------------------------------------------------------------------------------- main


def parse_fold(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 0/5, got {text!r}") from None
    if not 0 <= k < n:
        raise argparse.ArgumentTypeError(f"fold K/N needs 0 <= K < N, got {text!r}")
    return k, n


def load_articles(args: argparse.Namespace) -> list[squad.Article]:
    """The file's articles (``--simplified``), with ``--answer-model`` in force; exit 2 on a bad file."""
    if args.answer_model:
        os.environ["ASSISTANT_ANSWER_MODEL"] = str(Path(args.answer_model).resolve())
    try:
        return squad.load(args.file, simplified=args.simplified)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", help="SQuAD-style JSON file")
    p.add_argument("--hold-out", type=float, default=0.2, help="share of articles left out of the index")
    p.add_argument("--refuse-share", type=float, default=0.25, help="share of must-refuse questions asked")
    p.add_argument("--seed", type=int, help="one seed (default: seeds 0, 1, 2 and their mean)")
    p.add_argument("--simplified", action="store_true", help="convert the file to Simplified Chinese first")
    p.add_argument("--fold", type=parse_fold, metavar="K/N", help="ask only the questions of fold K of N")
    p.add_argument("--answer-model", help="answerer artefact, passed on as $ASSISTANT_ANSWER_MODEL")
    p.add_argument("--index-dir", help="keep corpus and index here (one folder per seed), not in /tmp")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--min-accuracy", type=float, help="exit 1 if accuracy is below this")
    p.add_argument("--min-refusal", type=float, help="exit 1 if refusal recall is below this")
    args = p.parse_args(argv)

    articles = load_articles(args)
    seeds = DEFAULT_SEEDS if args.seed is None else (args.seed,)
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="qa-open-domain-") as tmp:
        root = Path(args.index_dir) if args.index_dir else Path(tmp)
        for seed in seeds:
            work = root / f"seed{seed}"
            if (work / "corpus").exists():  # a kept folder from an earlier run: its split may differ
                shutil.rmtree(work / "corpus")
            results.append(run_seed(articles, seed, args, work))
    runs = [r["figures"] for r in results]
    pooled = [o for r in results for o in r["outcomes"]]
    mean = mean_figures(runs) if len(runs) > 1 else None
    headline = mean or runs[0]
    report = {
        "file": str(args.file),
        "simplified": args.simplified,
        "hold_out": args.hold_out,
        "refuse_share": args.refuse_share,
        "fold": list(args.fold) if args.fold else None,
        "answer_model": os.environ.get("ASSISTANT_ANSWER_MODEL"),
        "runs": runs,
        "mean": mean,
        "reliability": reliability(pooled),
        "reasons": reason_counts(pooled),
        "machine": machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "blas": blas_info(),
        "total_s": time.perf_counter() - started,
    }
    minimums = {"accuracy": args.min_accuracy, "refusal_recall": args.min_refusal}
    return print_and_gate(report, format_report(report), args.json, gate_failures(headline, minimums))


def format_report(report: dict) -> str:
    fold = report["fold"]
    lines = [
        f"{report['file']}{' (converted to Simplified)' if report['simplified'] else ''}: "
        f"{report['hold_out']:.0%} of articles held out, {report['refuse_share']:.0%} of questions "
        f"must be refused" + (f", fold {fold[0]} of {fold[1]}" if fold else ""),
        "",
        format_table(report["runs"], report["mean"]),
        "",
        (
            "Reliability of confidence over the answered questions of all seeds "
            "(right = quote holds a gold, <= 2 sentences):"
        ),
        "",
        calibration.format_reliability(report["reliability"]),
        "",
    ]
    if report["reasons"]:
        lines += [
            "Why refusals fired (all seeds):",
            "",
            "| reason | answerable | must-refuse |",
            "|---|---|---|",
        ]
        lines += [f"| {r['reason']} | {r['answerable']} | {r['must_refuse']} |" for r in report["reasons"]]
    else:
        lines.append("Why refusals fired: answers carry no `reasons` yet.")
    lines += ["", f"machine: {report['machine']}, load average at the end {report['load_average']}"]
    for b in report["blas"]:
        lines.append(
            f"BLAS: {b.get('internal_api')} {b.get('version')} kernel={b.get('architecture')} "
            f"threads={b.get('num_threads')}"
        )
    lines.append(f"total wall time: {report['total_s']:.0f} s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
