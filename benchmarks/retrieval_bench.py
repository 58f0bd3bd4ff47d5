"""Which chunk size, overlap and fusion retrieve best? Prints passage hit@1 / hit@3 / MRR.

    python benchmarks/retrieval_bench.py [questions.jsonl ...]

Builds a real index per chunking setting in a temporary folder (bundled model), then
ranks every answerable question with each fusion. A hit is a passage that contains a
gold substring; larger chunks make hits easier, which is why the size is capped at 400.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import config  # noqa: E402
from assistant.index import build_index  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402

FILES = [ROOT / "eval" / "questions.jsonl", ROOT.parent / "shared" / "eval" / "dev_qa.jsonl"]
SETTINGS = [(150, 0), (200, 0), (300, 0), (300, 60), (400, 0), (400, 80)]
FUSIONS = [("score", 0.3), ("score", 0.5), ("score", 0.7), ("rrf", None), ("dense", 1.0), ("bm25", 0.0)]


def load_questions(paths):
    items = []
    for p in paths:
        if Path(p).is_file():
            items += [json.loads(line) for line in Path(p).read_text(encoding="utf-8").splitlines() if line.strip()]
    return [i for i in items if i["answers"]]


def measure(retriever, items):
    h1 = h3 = rr = 0.0
    for it in items:
        passages = retriever.search(it["question"], 10)
        ranks = [r for r, p in enumerate(passages, 1) if any(g in p.text for g in it["answers"])]
        first = ranks[0] if ranks else None
        h1 += first == 1
        h3 += bool(first and first <= 3)
        rr += 1 / first if first else 0
    n = len(items)
    return h1 / n, h3 / n, rr / n


def main() -> None:
    items = load_questions(sys.argv[1:] or FILES)
    print(f"{len(items)} answerable questions")
    print(f"{'size':>5} {'overlap':>7} {'chunks':>6} {'fusion':>10} {'hit@1':>6} {'hit@3':>6} {'MRR':>6}")
    base = config.PIPELINE
    for size, overlap in SETTINGS:
        config.PIPELINE = dataclasses.replace(base, chunk_size=size, chunk_overlap=overlap)
        with tempfile.TemporaryDirectory() as tmp:
            build_index(ROOT / "corpus", Path(tmp))
            retriever = Retriever.load(tmp)
            for method, weight in FUSIONS:
                config.FUSION = "rrf" if method == "rrf" else "score"
                if weight is not None:
                    config.DENSE_WEIGHT = weight
                h1, h3, mrr = measure(retriever, items)
                label = method if weight is None or method in ("dense", "bm25") else f"{method} {weight}"
                print(
                    f"{size:>5} {overlap:>7} {len(retriever.chunks):>6} {label:>10} {h1:>6.3f} {h3:>6.3f} {mrr:>6.3f}"
                )
    config.PIPELINE = base


if __name__ == "__main__":
    main()
