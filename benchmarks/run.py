"""Performance benchmark: build, incremental reindex, query latency, memory, cold start.

    python benchmarks/run.py                      # bundled corpus + ~30, ~3,000, ~30,000 chunks + 1,000 docs
    python benchmarks/run.py --sizes 30,3000 --docs 0 --cold-runs 3
    python benchmarks/run.py --json results.json  # also write the rows as JSON

Every corpus and index lives in a temporary folder; the project's ``corpus/`` and ``index/``
are only read. The larger corpora are synthetic but built from the seed article's own
sentences and headings (``corpus/000_digital-qingdao.md``), so word and sentence statistics
stay realistic: deterministic documents of 3,000–10,000 characters with front matter, a title,
``##`` sections and paragraphs of 2–5 sentences, numbers varied so that not every document is a
permutation of the same tokens. The seed article itself is always document 0, so the real
questions of ``eval/questions.jsonl`` still find their answers.

Each corpus is measured in its own worker process (``--worker``), so the peak RSS of a row is
that corpus's alone. Per row:

- full build: ``build_index`` into an empty index folder, in process; the encoder and jieba are
  loaded before the clock starts (one-time costs, visible in the cold start instead);
  chars/s = characters of the corpus files / build seconds; its CPU seconds too (all threads
  of the process), a fairer before/after comparison on a machine that others share;
- index load: ``Retriever.load`` of the built index, wall and CPU seconds;
- incremental: one document edited (a sentence appended), ``build_index`` again;
- retrieve: ``Retriever.search(q, 5)`` (what ``retrieve()`` runs) over the 156 questions of
  ``eval/questions.jsonl``, after a warm-up with four other questions; p50 / p95;
- answer: ``answer(q, retriever=r)``, each question new to a warm process: the library's
  memo caches (jieba segmentations, word vectors) are cleared, filled by answering the other
  half of the questions, then this half is timed (and the other way round). "cold-cache":
  the caches are cleared before every question (nothing remembered from earlier ones);
- peak RSS of the worker (build + queries), size of the live index version on disk;
- cold ``assistant ask "…" --index <that index>``: wall time of the whole process, median of
  ``--cold-runs`` runs, and that process's peak RSS.

The "1,000 docs" row is issue 7's measurement: 1,000 documents of 3,000–10,000 characters,
full build versus a one-file-changed build, both in process (target: <= 5 %).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED_ARTICLE = ROOT / "corpus" / "000_digital-qingdao.md"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
COLD_QUESTION = "青岛有多少个数据中心？"
#: Asked before measuring (not in eval/questions.jsonl): one-time costs stay out of the percentiles.
WARM_UP = ("数字青岛是什么？", "What is Digital Qingdao?", "青島的5G基站有多少？", "上海有几条地铁？")

#: Targets of issue 8 (2-core machine); printed next to the table, never asserted.
TARGETS = {
    "answer_p95_bundled_ms": 10.0,
    "answer_p95_30k_ms": 50.0,
    "build_chars_per_s": 50_000,
    "cold_ask_s": 2.5,
    "incremental_pct_1000_docs": 5.0,
}

SOURCES = ("青岛日报", "青岛早报 / 观海新闻", "青岛政务网", "半岛都市报", "大众日报")


# ------------------------------------------------------------------- synthetic corpus


def _seed_material() -> tuple[list[str], list[str], list[str]]:
    """Sentences, section headings and suggested questions of the seed article."""
    from assistant.chunking import split_sentences
    from assistant.corpus import read_document

    doc = read_document(SEED_ARTICLE)
    text = doc.text
    sentences = []
    for line in text.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        sentences += [line[s:e] for s, e in split_sentences(line) if e - s >= 6]
    headings = [h.title for h in doc.headings if h.level >= 2]
    # Bare subtitle lines (no sentence punctuation) read like headings too.
    headings += [
        ln.strip()
        for ln in text.split("\n")
        if 4 <= len(ln.strip()) <= 24 and not re.search(r"[。，,！？!?：:“”#►]", ln)
    ]
    return sentences, sorted(set(headings)), list(doc.questions)


def _vary_numbers(sentence: str, rng: random.Random) -> str:
    """Replace each number by another of the same length (keeps the shape, varies the tokens)."""

    def repl(m: re.Match) -> str:
        digits = m.group()
        first = str(rng.randint(1, 9)) if len(digits) > 1 else str(rng.randint(0, 9))
        return first + "".join(str(rng.randint(0, 9)) for _ in digits[1:])

    return re.sub(r"\d+", repl, sentence)


def synthetic_document(i: int, material, rng: random.Random) -> str:
    """One Markdown article of 3,000–10,000 characters, deterministic for ``rng``."""
    sentences, headings, questions = material
    target = rng.randint(3000, 10000)
    title = f"{rng.choice(headings)}：{rng.choice(headings)}（第{i}期）"
    date = f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    asked = " | ".join(rng.sample(questions, k=min(2, len(questions)))) if questions else ""
    head = f"---\ntitle: {title}\nsource: {rng.choice(SOURCES)}\ndate: {date}\n"
    head += (f"questions: {asked}\n" if asked else "") + "---\n\n"
    parts = [head, f"# {title}\n\n"]
    size = sum(map(len, parts))
    while size < target:
        section = [f"## {rng.choice(headings)}\n\n"]
        section_target = rng.randint(800, 2500)
        section_size = 0
        while section_size < section_target and size + section_size < target:
            n = rng.randint(2, 5)
            para = "".join(
                _vary_numbers(s, rng) if rng.random() < 0.5 else s
                for s in (rng.choice(sentences) for _ in range(n))
            )
            section.append(para + "\n\n")
            section_size += len(para) + 2
        parts += section
        size += sum(map(len, section))
    return "".join(parts).rstrip("\n") + "\n"


def make_corpus(
    target: Path, *, chunks: int | None = None, documents: int | None = None, seed: int = 8
) -> dict:
    """Write the seed article plus synthetic documents to ``target``.

    ``chunks``: add documents until about that many chunks (estimated from characters);
    ``documents``: exactly that many documents, all synthetic (issue 7's 1,000-doc corpus).
    """
    target.mkdir(parents=True, exist_ok=True)
    material = _seed_material()
    rng = random.Random(seed)
    chars = 0
    n_docs = 0
    if documents is None:
        seed_text = SEED_ARTICLE.read_text(encoding="utf-8")
        (target / SEED_ARTICLE.name).write_text(seed_text, encoding="utf-8")
        chars += len(seed_text)
        n_docs += 1
        chars_per_chunk = 205.0  # measured on synthetic documents with the default chunking
        want_chars = (chunks or 0) * chars_per_chunk
        i = 1
        while chars < want_chars:
            text = synthetic_document(i, material, rng)
            (target / f"syn_{i:05d}.md").write_text(text, encoding="utf-8")
            chars += len(text)
            n_docs += 1
            i += 1
    else:
        for i in range(1, documents + 1):
            text = synthetic_document(i, material, rng)
            (target / f"syn_{i:05d}.md").write_text(text, encoding="utf-8")
            chars += len(text)
            n_docs += 1
    return {"documents": n_docs, "chars": chars}


def corpus_chars(corpus: Path) -> int:
    return sum(len(p.read_text(encoding="utf-8", errors="replace")) for p in corpus.glob("*.md"))


def edit_one_document(corpus: Path) -> Path:
    """Append one sentence to the middle document: one content hash changes."""
    files = sorted(corpus.glob("*.md"))
    victim = files[len(files) // 2]
    with victim.open("a", encoding="utf-8") as fh:
        fh.write("\n本段为基准测试追加的一句话，用于测量增量重建索引的时间。\n")
    return victim


# ------------------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, int(round(q / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[min(rank, len(ordered)) - 1]


def load_questions(limit: int | None = None) -> list[str]:
    items = [
        json.loads(line)["question"]
        for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return items[:limit] if limit else items


def blas_info() -> list[dict]:
    """The BLAS libraries loaded in this process and the kernel each runs (threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    return [
        {k: d.get(k) for k in ("internal_api", "architecture", "version", "num_threads", "filepath")}
        for d in threadpool_info()
        if d.get("user_api") == "blas"
    ]


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def clear_caches(retriever) -> None:
    """Forget what the library remembers between questions (segmentations, word vectors)."""
    import assistant.lexical as lexical

    for clear in (
        getattr(lexical, "clear_text_caches", None),
        getattr(retriever.encoder, "clear_cache", None),
    ):
        if clear is not None:
            clear()


def worker(args: argparse.Namespace) -> dict:
    """Build, reindex and query one corpus; print one JSON row."""
    import numpy as np  # noqa: F401  (loads numpy's BLAS before threadpoolctl looks)

    from assistant.embedding import load_encoder
    from assistant.index import build_index, current_version_dir
    from assistant.lexical import lexical_tokens

    work = Path(args.workdir)
    corpus, index = work / "corpus", work / "index"
    if args.kind == "bundled":
        shutil.copytree(ROOT / "corpus", corpus)
        made = {"documents": len(list(corpus.glob("*"))), "chars": corpus_chars(corpus)}
    elif args.kind == "docs":
        made = make_corpus(corpus, documents=args.n)
    else:
        made = make_corpus(corpus, chunks=args.n)

    # One-time costs (model files, jieba's dictionary) stay out of the build clock.
    load_encoder()
    lexical_tokens("青岛数字")

    t, cpu = time.perf_counter(), time.process_time()
    full = build_index(corpus, index)
    full_s, full_cpu_s = time.perf_counter() - t, time.process_time() - cpu
    edit_one_document(corpus)
    t = time.perf_counter()
    incr = build_index(corpus, index)
    incr_s = time.perf_counter() - t
    row = {
        "label": args.label,
        "documents": full.documents,
        "chunks": full.chunks,
        "chars": made["chars"],
        "build_s": full_s,
        "build_cpu_s": full_cpu_s,
        "chars_per_s": made["chars"] / full_s,
        "incr_s": incr_s,
        "incr_pct": 100 * incr_s / full_s,
        "incr_embedded_chunks": incr.embedded_chunks,
        "incr_reused_documents": incr.reused_documents,
        "index_bytes": dir_bytes(current_version_dir(index)),
        "cache_bytes": dir_bytes(index / ".cache"),
    }
    if not args.no_queries:
        from assistant.answering import answer
        from assistant.retrieval import Retriever

        questions = load_questions(args.questions)
        t, cpu = time.perf_counter(), time.process_time()
        retriever = Retriever.load(index)
        row["load_s"], row["load_cpu_s"] = time.perf_counter() - t, time.process_time() - cpu
        # Warm-up with questions outside the measured set: one-time costs (the vocabulary over
        # the whole corpus, jieba's POS table) stay out of the percentiles.
        t = time.perf_counter()
        for q in WARM_UP:
            answer(q, retriever=retriever)
        row["first_answer_s"] = time.perf_counter() - t
        search_ms, new_ms, cold_ms = [], [], []
        half = len(questions) // 2
        halves = [(questions[half:], questions[:half]), (questions[:half], questions[half:])]
        for _ in range(args.passes):
            for q in questions:
                t = time.perf_counter()
                retriever.search(q, 5)
                search_ms.append(1000 * (time.perf_counter() - t))
            # A new question to a server that has been answering others: what the library
            # remembers (segmentations, word vectors) comes from the other half only.
            for warm, measured in halves:
                clear_caches(retriever)
                for q in warm:
                    answer(q, retriever=retriever)
                for q in measured:
                    t = time.perf_counter()
                    answer(q, retriever=retriever)
                    new_ms.append(1000 * (time.perf_counter() - t))
            # Cold: nothing remembered from any earlier question.
            for q in questions:
                clear_caches(retriever)
                t = time.perf_counter()
                answer(q, retriever=retriever)
                cold_ms.append(1000 * (time.perf_counter() - t))
        row.update(
            {
                "queries": len(new_ms),
                "retrieve_p50_ms": percentile(search_ms, 50),
                "retrieve_p95_ms": percentile(search_ms, 95),
                "answer_p50_ms": percentile(new_ms, 50),
                "answer_p95_ms": percentile(new_ms, 95),
                "answer_cold_p50_ms": percentile(cold_ms, 50),
                "answer_cold_p95_ms": percentile(cold_ms, 95),
            }
        )
    row["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    row["blas"] = blas_info()
    return row


def assistant_command() -> list[str]:
    exe = Path(sys.executable).with_name("assistant")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "assistant.cli"]


def cold_ask(index: Path, runs: int) -> dict:
    """Wall time and peak RSS of whole ``assistant ask`` processes over ``index``."""
    walls = []
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.Popen(
            assistant_command() + ["ask", COLD_QUESTION, "--index", str(index)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        _, err = proc.communicate()
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"assistant ask failed ({proc.returncode}): {err.decode()[-2000:]}")
        walls.append(wall)
    return {"cold_ask_s": statistics.median(walls), "cold_ask_runs_s": walls}


def run_worker(label: str, kind: str, n: int, args: argparse.Namespace, tmp_root: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"bench-{label}-", dir=tmp_root))
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--kind",
        kind,
        "--n",
        str(n),
        "--label",
        label,
        "--workdir",
        str(work),
        "--passes",
        str(args.passes),
    ]
    if args.questions:
        cmd += ["--questions", str(args.questions)]
    if kind == "docs":
        cmd.append("--no-queries")
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {label} failed:\n{proc.stderr[-4000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    if kind != "docs" and args.cold_runs:
        row.update(cold_ask(work / "index", args.cold_runs))
        row["cold_ask_rss_bytes"] = _ask_rss(work / "index")
    row["worker_wall_s"] = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return row


def _ask_rss(index: Path) -> int:
    """Peak RSS of one ``assistant ask`` process (wait4 reports that child's own maximum)."""
    proc = subprocess.Popen(
        assistant_command() + ["ask", COLD_QUESTION, "--index", str(index)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
    )
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return usage.ru_maxrss * 1024


# ---------------------------------------------------------------------------- report


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def format_table(rows: list[dict]) -> str:
    head = (
        "| corpus | docs | chunks | chars | full build s (CPU s) | chars/s | 1-file reindex s (% of full) "
        "| index load s (CPU s) | retrieve p50/p95 ms | answer p50/p95 ms | answer cold-cache p50/p95 ms | peak RSS MB | index MB | ask cold s (RSS MB) |"
    )
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        q = "retrieve_p50_ms" in r
        lines.append(
            f"| {r['label']} | {r['documents']:,} | {r['chunks']:,} | {r['chars']:,} | {r['build_s']:.2f} "
            f"({r['build_cpu_s']:.2f}) | {r['chars_per_s']:,.0f} | {r['incr_s']:.2f} ({r['incr_pct']:.1f} %) "
            + (
                f"| {r['load_s']:.2f} ({r['load_cpu_s']:.2f}) "
                f"| {r['retrieve_p50_ms']:.2f} / {r['retrieve_p95_ms']:.2f} "
                f"| {r['answer_p50_ms']:.2f} / {r['answer_p95_ms']:.2f} "
                f"| {r['answer_cold_p50_ms']:.2f} / {r['answer_cold_p95_ms']:.2f} "
                if q
                else "| – | – | – | – "
            )
            + f"| {_mb(r['peak_rss_bytes'])} | {_mb(r['index_bytes'])} "
            + (
                f"| {r['cold_ask_s']:.2f} ({_mb(r['cold_ask_rss_bytes'])}) |"
                if "cold_ask_s" in r
                else "| – |"
            )
        )
    return "\n".join(lines)


def check_targets(rows: list[dict]) -> list[str]:
    out = []
    by = {r["label"]: r for r in rows}

    def line(ok: bool, text: str) -> None:
        out.append(f"[{'met' if ok else 'MISSED'}] {text}")

    if "bundled" in by and "answer_p95_ms" in by["bundled"]:
        v = by["bundled"]["answer_p95_ms"]
        line(
            v <= TARGETS["answer_p95_bundled_ms"],
            f"answer() p95 on the bundled corpus: {v:.2f} ms (<= 10 ms)",
        )
    big = [r for r in rows if "answer_p95_ms" in r and r["chunks"] >= 20_000]
    for r in big:
        v = r["answer_p95_ms"]
        line(
            v <= TARGETS["answer_p95_30k_ms"],
            f"answer() p95 at {r['chunks']:,} chunks: {v:.2f} ms (<= 50 ms)",
        )
    for r in rows:
        if r["chars"] >= 500_000:
            v = r["chars_per_s"]
            line(v >= TARGETS["build_chars_per_s"], f"full build, {r['label']}: {v:,.0f} chars/s (>= 50,000)")
    if "bundled" in by and "cold_ask_s" in by["bundled"]:
        v = by["bundled"]["cold_ask_s"]
        line(v <= TARGETS["cold_ask_s"], f"`assistant ask` cold start, bundled index: {v:.2f} s (<= 2.5 s)")
    for r in rows:
        if r["label"].endswith("docs"):
            v = r["incr_pct"]
            line(
                v <= TARGETS["incremental_pct_1000_docs"],
                f"one-file reindex at {r['documents']:,} docs: {r['incr_s']:.2f} s = {v:.1f} % of "
                f"{r['build_s']:.1f} s (<= 5 %)",
            )
    return out


def machine() -> str:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {
        k: os.environ[k]
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")
        if k in os.environ
    }
    return f"{os.cpu_count()} CPUs ({model}), Python {sys.version.split()[0]}, env {env or '{}'}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="30,3000,30000", help="approximate chunk counts (comma-separated)")
    p.add_argument("--docs", type=int, default=1000, help="documents of the issue-7 row (0: skip it)")
    p.add_argument("--no-bundled", action="store_true", help="skip the bundled-corpus row")
    p.add_argument("--cold-runs", type=int, default=5, help="`assistant ask` runs per row (median)")
    p.add_argument("--passes", type=int, default=2, help="passes over the questions per row")
    p.add_argument("--questions", type=int, default=0, help="use only the first N questions (0: all)")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    # worker mode (internal)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--kind", choices=["bundled", "chunks", "docs"], help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--label", default="", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    p.add_argument("--no-queries", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    plan: list[tuple[str, str, int]] = []
    if not args.no_bundled:
        plan.append(("bundled", "bundled", 0))
    for s in (x.strip() for x in args.sizes.split(",") if x.strip()):
        plan.append((f"~{int(s):,} chunks", "chunks", int(s)))
    if args.docs:
        plan.append((f"{args.docs:,} docs", "docs", args.docs))

    print(f"machine: {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        for label, kind, n in plan:
            print(f"measuring {label} …", file=sys.stderr, flush=True)
            rows.append(run_worker(label, kind, n, args, Path(tmp)))
    blas = rows[0]["blas"] if rows else []
    for b in blas:
        print(
            f"BLAS: {b.get('internal_api')} {b.get('version')} kernel={b.get('architecture')} "
            f"threads={b.get('num_threads')} ({Path(str(b.get('filepath'))).name})"
        )
    print()
    print(format_table(rows))
    print()
    for line in check_targets(rows):
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
