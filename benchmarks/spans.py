"""Short-answer quality given the gold sentence, on any SQuAD-style file (CMRC 2018 measures).

    python benchmarks/spans.py cmrc2018_trial.json
    python benchmarks/spans.py DRCD_dev.json --simplified --fold 2/5 --answer-model M.npz

For every question, the sentence holding its first gold answer (the product's sentence
splitter over the paragraph; the sentences a gold runs across, joined) is given to the span
stage (``assistant/answering/spans.py``) as if it were the only quote, and the likeliest
candidate span is the prediction. The question is analysed against the bundled index (its
words and kind; nothing else of the index is used).

Figures (CMRC 2018's definitions: punctuation and whitespace removed, best over the golds):

- F1: 2PR/(P+R) over the longest common substring of prediction and gold; EM: equal;
  over all questions, and over the short-fact ones (those ``spans.asks_explanation`` leaves
  the short answer to: no explanation, no yes/no);
- shown: share of short-fact questions whose best span clears the model's span threshold;
  shown match: share of those shown whose F1 >= 0.8.

``--fold K/N`` measures only the articles of fold K (``squad.fold_of``), for a model trained
without it (``python -m assistant.answering.train --exclude-fold K/N``). ``--json`` prints JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Retriever, config, squad
from assistant.answering.model import current_model
from assistant.answering.question import analyse
from assistant.answering.spans import Words, asks_explanation, candidate_spans, exact, f1, span_features
from assistant.chunking import split_sentences
from assistant.sentences import analyse as analyse_sentence
from benchmarks.open_domain import fold_filter, load_articles, parse_fold


def gold_sentence(context: str, start: int, length: int) -> str | None:
    """The sentence(s) of ``context`` holding ``[start, start + length)``."""
    spans = [(s, e) for s, e in split_sentences(context, 0) if s < start + length and e > start]
    return context[spans[0][0] : spans[-1][1]] if spans else None


def measure(articles: list[squad.Article], retriever: Retriever) -> dict:
    model = current_model()
    positive = config.ANSWERING.span_positive_f1
    rows = []
    for article in articles:
        for paragraph, qa in article.qas():
            golds = qa.golds
            if not golds or not qa.answer_starts or not qa.question.strip():
                continue
            sentence = gold_sentence(paragraph.context, qa.answer_starts[0], len(qa.answers[0]))
            if not sentence:
                continue
            q = analyse(qa.question, (), retriever)
            w = Words(0, sentence, *analyse_sentence(sentence))
            spans = candidate_spans(w)
            if spans:
                probs = model.span.probability(span_features(q, w, spans))
                best = int(probs.argmax())
                text, p = spans[best].text, float(probs[best])
            else:
                text, p = "", 0.0
            fact = not asks_explanation(q)
            score = f1(text, golds)
            rows.append((score, exact(text, golds), fact, fact and p >= model.span_threshold))

    def mean(values) -> float | None:
        values = list(values)
        return statistics.fmean(values) if values else None

    facts = [r for r in rows if r[2]]
    shown = [r for r in facts if r[3]]
    return {
        "questions": len(rows),
        "f1": mean(r[0] for r in rows),
        "em": mean(r[1] for r in rows),
        "fact_questions": len(facts),
        "fact_f1": mean(r[0] for r in facts),
        "fact_em": mean(r[1] for r in facts),
        "shown": len(shown) / len(facts) if facts else None,
        "shown_match": mean(r[0] >= positive for r in shown),
        "span_threshold": model.span_threshold,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("file", help="SQuAD-style JSON file")
    p.add_argument("--simplified", action="store_true", help="convert the file to Simplified Chinese first")
    p.add_argument("--fold", type=parse_fold, metavar="K/N", help="measure only the articles of fold K of N")
    p.add_argument("--answer-model", help="answerer artefact, passed on as $ASSISTANT_ANSWER_MODEL")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = p.parse_args(argv)
    articles = load_articles(args)
    in_fold = fold_filter(args.fold)
    figures = measure([a for a in articles if in_fold(a)], Retriever.load())
    figures |= {"file": str(args.file), "fold": list(args.fold) if args.fold else None}
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=1))
        return 0
    print(f"{args.file}" + (f", fold {args.fold[0]} of {args.fold[1]}" if args.fold else "") + ":")
    for key, value in figures.items():
        if key not in ("file", "fold"):
            print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
