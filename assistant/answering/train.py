"""``python -m assistant.answering.train``: rebuild the committed answer model.

One deterministic command (same data, same model, on any machine; ~10 min on 2 cores).
It learns from:

- ``DRCD_dev.json`` converted to Simplified Chinese, used open-domain as
  ``benchmarks/open_domain.py`` uses it: 20 % of its articles are held out of an index
  (seed 0), so their questions are must-refuse examples, the rest answerable ones;
- ``eval/questions.jsonl`` against the bundled index (answerable and must-refuse).

``cmrc2018_trial.json`` and ``eval/holdout*.jsonl`` are never read here: they measure.
``--exclude-fold K/N`` leaves out the DRCD articles of one fold, so that fold can be
measured by a model that never saw it (``benchmarks/open_domain.py --fold K/N``).

The answer model learns from the sentences an out-of-fold sentence model chose, as at
answer time. The threshold then follows the stated objective: the most accurate
threshold on out-of-fold predictions, each source weighted by its share.

The span model learns from the candidate spans (``spans.py``) of the sentences that hold a
gold answer: a span is positive when its CMRC F1 against a gold reaches
``span_positive_f1``. Its threshold follows its own objective (``choose_span_threshold``),
on the spans an out-of-fold span model picks in the quotes an out-of-fold sentence model chose.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import config, squad
from ..calibration import expected_calibration_error
from ..evaluation import read_questions
from ..retrieval import Retriever
from .decision import decide
from .evidence import Candidate
from .features import ANSWER_FEATURES, SENTENCE_FEATURES
from .model import AnswerModel, Logistic, schema_hash
from .pipeline import Evidence, assess, gather
from .question import analyse
from .spans import SPAN_FEATURES, asks_explanation, best_span, f1, spans_of

log = logging.getLogger(__name__)

DRCD = config.PROJECT_DIR.parent / "shared" / "eval" / "external" / "DRCD_dev.json"
OWN_QUESTIONS = config.PROJECT_DIR / "eval" / "questions.jsonl"
HOLD_OUT, SEED = 0.2, 0


@dataclass
class Example:
    """One question's evidence, with what a right answer must quote."""

    group: int  # its fold (DRCD: by article)
    weight: float  # each source gets its share of the training weight
    golds: tuple[str, ...]  # empty: must be refused
    labels: np.ndarray  # 1 where an eligible candidate holds a gold answer
    ev: Evidence
    retriever: Retriever


def _example(question: str, golds: tuple[str, ...], group: int, retriever: Retriever) -> Example:
    ev = gather(analyse(question, (), retriever), retriever)
    labels = np.array([any(g in c.text for g in golds) for c in ev.eligible], dtype=np.float64)
    return Example(group, 1.0, golds, labels, ev, retriever)


def _drcd_examples(path: Path, workdir: Path, exclude: tuple[int, int] | None) -> list[Example]:
    from ..index import build_index

    folds = config.ANSWERING.folds
    articles = squad.load(path, simplified=True)
    split = squad.split_articles(articles, HOLD_OUT, SEED)
    squad.write_corpus(split.indexed, workdir / "corpus")
    build_index(workdir / "corpus", workdir / "index")
    retriever = Retriever.load(workdir / "index")
    out = []
    for q in _progress(squad.build_questions(split.indexed, split.held_out, SEED).questions, "DRCD"):
        fold = squad.fold_of(q.article, folds)
        if exclude is None or fold != exclude[0]:
            out.append(_example(q.qa.question, q.golds, fold, retriever))
    return out


def _own_examples() -> list[Example]:
    retriever = Retriever.load()
    out = []
    for item in _progress(read_questions(OWN_QUESTIONS), OWN_QUESTIONS.name):
        group = int(hashlib.sha256(item.question.encode()).hexdigest(), 16) % config.ANSWERING.folds
        out.append(_example(item.question, tuple(item.answers), group, retriever))
    return out


def _progress(items, label: str):
    from tqdm import tqdm

    return tqdm(list(items), desc=label, unit="q", disable=not sys.stderr.isatty())


def _standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and spread; a constant column keeps scale 1, so it stays 0, not NaN."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return mean, scale


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> Logistic:
    from sklearn.linear_model import LogisticRegression

    mean, scale = _standardisation(x)
    lr = LogisticRegression(C=config.ANSWERING.regularisation_c, max_iter=5000)
    lr.fit((x - mean) / scale, y, sample_weight=w)
    return Logistic(mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))


def _span_rows(ex: Example) -> tuple[np.ndarray, np.ndarray]:
    """The candidate spans of the (first few) sentences holding a gold answer, and their labels."""
    if not ex.golds or asks_explanation(ex.ev.question):
        return np.zeros((0, len(SPAN_FEATURES))), np.zeros(0)
    holding = [c for c, label in zip(ex.ev.eligible, ex.labels) if label][
        : config.ANSWERING.span_gold_sentences
    ]
    pairs, x = spans_of(ex.ev.question, holding, ex.retriever)
    positive = config.ANSWERING.span_positive_f1
    return x, np.array([float(f1(s.text, ex.golds) >= positive) for _, s in pairs])


def _span_model(examples: list[Example], rows: list[tuple[np.ndarray, np.ndarray]]) -> Logistic:
    """A ranking of each question's spans, then calibrated: what matters is which of one question's
    candidates is the answer, so the weights maximise the likelihood of the right spans under a
    softmax over the question's candidates (a conditional logit, L2 as in ``_fit``); a Platt scaling
    of the score, fitted on whether each question's top span is right, makes it a probability.
    A constant model where a (small) training set has nothing to rank."""
    from scipy.optimize import minimize
    from sklearn.linear_model import LogisticRegression

    ranked = [(x, y, ex.weight) for ex, (x, y) in zip(examples, rows) if 0 < y.sum() < len(y)]
    if not ranked:
        return _NO_SPAN
    x = np.vstack([x for x, _, _ in ranked])
    mean, scale = _standardisation(x)
    z = (x - mean) / scale
    y = np.concatenate([y for _, y, _ in ranked])
    sizes = np.array([len(y) for _, y, _ in ranked])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    group = np.repeat(np.arange(len(ranked)), sizes)
    w = np.array([weight for _, _, weight in ranked])
    c = config.ANSWERING.regularisation_c

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        s = z @ beta
        top = np.maximum.reduceat(s, starts)
        e = np.exp(s - top[group])
        everything = np.add.reduceat(e, starts)
        right = np.add.reduceat(e * y, starts)
        value = c * float(w @ (np.log(everything) - np.log(right))) + 0.5 * float(beta @ beta)
        pull = e / everything[group] - e * y / right[group]  # softmax over all minus over the right ones
        return value, c * (z.T @ (pull * w[group])) + beta

    beta = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    s = z @ beta
    best = np.array([a + int(np.argmax(s[a : a + n])) for a, n in zip(starts, sizes)])
    platt = LogisticRegression(C=c, max_iter=1000).fit(s[best, None], y[best], sample_weight=w)
    return Logistic(mean, scale, beta * platt.coef_[0, 0], float(platt.intercept_[0]))


def _sentence_model(examples: list[Example]) -> Logistic:
    kept = [ex for ex in examples if len(ex.labels)]
    return _fit(
        np.vstack([ex.ev.x for ex in kept]),
        np.concatenate([ex.labels for ex in kept]),
        np.concatenate([np.full(len(ex.labels), ex.weight) for ex in kept]),
    )


def _constant(n: int) -> Logistic:
    return Logistic(np.zeros(n), np.ones(n), np.zeros(n), 0.0)


_NO_ANSWER, _NO_SPAN = _constant(len(ANSWER_FEATURES)), _constant(len(SPAN_FEATURES))


@dataclass
class Outcome:
    """What ``answer`` would do with one question before the answer model speaks."""

    row: np.ndarray | None  # None: a named unit refuses whatever the confidence
    right: bool  # the quotes hold a gold answer
    quotes: list[Candidate]


def _outcome(ex: Example, sentence: Logistic) -> Outcome:
    a = assess(ex.ev, AnswerModel(sentence, _NO_ANSWER, 0.0, _NO_SPAN, 1.0, {}), ex.retriever)
    hard = a.row is None or bool(decide(a.case.with_confidence(1.0))[0])
    right = bool(ex.golds) and any(g in c.text for c in a.quotes for g in ex.golds)
    return Outcome(None if hard else a.row, right, a.quotes)


def _answer_data(
    examples: list[Example], outcomes: list[Outcome]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    which = np.array([k for k, o in enumerate(outcomes) if o.row is not None], dtype=int)
    rows = np.array([outcomes[k].row for k in which]).reshape(len(which), len(ANSWER_FEATURES))
    labels = np.array([float(outcomes[k].right) for k in which])
    weights = np.array([examples[k].weight for k in which])
    return rows, labels, weights, which


def _out_of_fold(examples: list[Example]) -> tuple[np.ndarray, list[Outcome]]:
    """Each question's answer confidence from models that never saw its fold (-1: refused by a unit)."""
    folds = config.ANSWERING.folds
    groups = np.array([ex.group for ex in examples])
    outcomes: list[Outcome] = [Outcome(None, False, [])] * len(examples)
    for f in range(folds):
        sentence = _sentence_model([ex for ex in examples if ex.group != f])
        for k in np.flatnonzero(groups == f):
            outcomes[k] = _outcome(examples[k], sentence)
    rows, labels, weights, which = _answer_data(examples, outcomes)
    conf = np.full(len(examples), -1.0)
    for f in range(folds):
        test = groups[which] == f
        conf[which[test]] = _fit(rows[~test], labels[~test], weights[~test]).probability(rows[test])
    return conf, outcomes


@dataclass
class SpanOutcome:
    """One question's span figures out of fold."""

    eligible: bool  # a right answer to a short-fact question: a span should be shown
    shown_p: float  # the probability of the best span of the chosen quotes
    shown_f1: float  # … and its F1 against the golds
    given_f1: float  # F1 of the best span of the first sentence holding a gold (-1: none)
    given_em: float


def _span_out_of_fold(
    examples: list[Example], outcomes: list[Outcome], rows: list[tuple[np.ndarray, np.ndarray]]
) -> list[SpanOutcome]:
    """Spans picked by span models that never saw the question's fold: in the gold sentence, and
    in the quotes the out-of-fold sentence model chose."""
    folds, short = config.ANSWERING.folds, config.ANSWERING.span_short_gold
    out = [SpanOutcome(False, 0.0, 0.0, -1.0, 0.0)] * len(examples)
    for f in range(folds):
        train = [(ex, r) for ex, r in zip(examples, rows) if ex.group != f]
        model = _span_model([ex for ex, _ in train], [r for _, r in train])
        for k, ex in enumerate(examples):
            if ex.group != f or not ex.golds or asks_explanation(ex.ev.question):
                continue
            q, o = ex.ev.question, outcomes[k]
            holding = [c for c, label in zip(ex.ev.eligible, ex.labels) if label][:1]
            given = best_span(q, holding, model, ex.retriever) if holding else None
            shown = best_span(q, o.quotes, model, ex.retriever) if o.quotes else None
            out[k] = SpanOutcome(
                eligible=o.right and o.row is not None and min(map(len, ex.golds)) <= short,
                shown_p=shown[2] if shown else 0.0,
                shown_f1=f1(shown[1].text, ex.golds) if shown else 0.0,
                given_f1=f1(given[1].text, ex.golds) if given else (0.0 if holding else -1.0),
                given_em=float(given is not None and f1(given[1].text, ex.golds) == 1.0),
            )
    return out


def choose_span_threshold(p: np.ndarray, good: np.ndarray, weights: np.ndarray) -> dict:
    """The span objective: the highest share of shown spans that match the gold (``good``), among
    thresholds that show a span on at least ``span_min_shown`` of the eligible answers; of equals,
    the lowest threshold (the most shown)."""
    minimum = config.ANSWERING.span_min_shown
    best: dict = {
        "span_threshold": 0.0,
        "shown": 1.0,
        "shown_match": float(np.average(good, weights=weights)),
    }
    for t in np.unique(np.round(p, 4)):
        shown = p >= t
        share = float(np.average(shown, weights=weights))
        if share < minimum or not shown.any():
            continue
        match = float(np.average(good[shown], weights=weights[shown]))
        if match > best["shown_match"]:
            best = {"span_threshold": float(t), "shown": share, "shown_match": match}
    return best


def choose_threshold(
    conf: np.ndarray, right: np.ndarray, must_refuse: np.ndarray, weights: np.ndarray
) -> dict:
    """The objective: the threshold of highest out-of-fold accuracy, each source weighted by its
    share, answering a question right or refusing a must-refuse one counting alike.

    Requiring refusal precision >= 0.85 as well was measured: with the named units refusing
    first, no threshold reaches it on DRCD (a sixth of its answerable questions have no right
    sentence among the candidates, and refusing those counts against precision)."""
    best: dict = {}
    for t in np.unique(np.concatenate([[0.0, 1.0], np.round(conf[conf >= 0], 4)])):
        refused = conf < t
        accuracy = float(np.average(np.where(refused, must_refuse, right), weights=weights))
        if best and accuracy <= best["accuracy"]:
            continue
        precision = np.average(must_refuse[refused], weights=weights[refused]) if refused.any() else 1.0
        recall = np.average(refused[must_refuse], weights=weights[must_refuse]) if must_refuse.any() else 1.0
        best = {
            "threshold": float(t),
            "accuracy": accuracy,
            "refusal_precision": float(precision),
            "refusal_recall": float(recall),
        }
    return best


def train(out: Path, drcd: Path = DRCD, exclude: tuple[int, int] | None = None) -> AnswerModel:
    with tempfile.TemporaryDirectory(prefix="answer-train-") as tmp:
        reading = _drcd_examples(drcd, Path(tmp), exclude)
        own = _own_examples()
        share = config.ANSWERING.own_questions_share
        for ex in own:
            ex.weight = share / (1 - share) * len(reading) / len(own)
        examples = reading + own
        conf, outcomes = _out_of_fold(examples)
        right = np.array([o.right for o in outcomes])
        must_refuse = np.array([not ex.golds for ex in examples])
        weights = np.array([ex.weight for ex in examples])
        chosen = choose_threshold(conf, right, must_refuse, weights)
        answered = conf >= chosen["threshold"]
        sentence = _sentence_model(examples)
        final = [_outcome(ex, sentence) for ex in examples]
        rows, labels, w, _ = _answer_data(examples, final)
        answer = _fit(rows, labels, w)
        span_rows = [_span_rows(ex) for ex in examples]
        span_oof = _span_out_of_fold(examples, outcomes, span_rows)
        span = _span_model(examples, span_rows)
        eligible = [(so, ex) for so, ex in zip(span_oof, examples) if so.eligible]
        span_chosen = choose_span_threshold(
            np.array([so.shown_p for so, _ in eligible]),
            np.array([so.shown_f1 >= config.ANSWERING.span_positive_f1 for so, _ in eligible]),
            np.array([ex.weight for _, ex in eligible]),
        )
        own_ids = {id(ex) for ex in own}
        given = {
            source: [
                so for so, ex in zip(span_oof, examples) if so.given_f1 >= 0 and (id(ex) in own_ids) == is_own
            ]
            for source, is_own in ((drcd.name, False), (OWN_QUESTIONS.name, True))
        }
    info = {
        "trained_on": [
            f"{drcd.name} (Simplified, {HOLD_OUT:.0%} of articles held out, seed {SEED})",
            OWN_QUESTIONS.name,
        ],
        "excluded_fold": f"{exclude[0]}/{exclude[1]}" if exclude else None,
        "questions": len(examples),
        "must_refuse": int(must_refuse.sum()),
        "sentence_rows": int(sum(len(ex.labels) for ex in examples)),
        "objective": f"highest out-of-fold accuracy, own questions weighted {share:.0%}",
        "out_of_fold": chosen
        | {"calibration_error": expected_calibration_error(zip(conf[answered], right[answered]))},
        "span_objective": (
            f"highest share of shown spans with F1 >= {config.ANSWERING.span_positive_f1} out of fold, "
            f"showing on >= {config.ANSWERING.span_min_shown:.0%} of right answers with a gold of "
            f"<= {config.ANSWERING.span_short_gold} characters"
        ),
        "span_out_of_fold": span_chosen | {"eligible": len(eligible)},
        "span_given_sentence": {
            source: {
                "questions": len(items),
                "f1": float(np.mean([so.given_f1 for so in items])) if items else None,
                "em": float(np.mean([so.given_em for so in items])) if items else None,
            }
            for source, items in given.items()
        },
        "span_rows": int(sum(len(y) for _, y in span_rows)),
        "sentence_features": list(SENTENCE_FEATURES),
        "answer_features": list(ANSWER_FEATURES),
        "span_features": list(SPAN_FEATURES),
        "schema": schema_hash(),
    }
    model = AnswerModel(sentence, answer, chosen["threshold"], span, span_chosen["span_threshold"], info)
    model.save(out)
    log.info("answer model written to %s", out)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.answering.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=config.DEFAULT_ANSWER_MODEL)
    parser.add_argument("--drcd", type=Path, default=DRCD)
    parser.add_argument("--exclude-fold", metavar="K/N", help="leave out DRCD fold K of N (to measure it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not args.drcd.is_file():
        parser.error(f"{args.drcd}: not found (the shared DRCD_dev.json is needed to train)")
    exclude = None
    if args.exclude_fold:
        folds = config.ANSWERING.folds
        try:
            k, n = (int(v) for v in args.exclude_fold.split("/"))
        except ValueError:
            parser.error(f"--exclude-fold must be K/{folds}")
        if n != folds or not 0 <= k < n:
            parser.error(f"--exclude-fold must be K/{folds} with 0 <= K < {folds}")
        exclude = (k, n)
    model = train(args.out, args.drcd, exclude)
    figures = {k: model.info[k] for k in ("out_of_fold", "span_out_of_fold", "span_given_sentence")}
    print(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
