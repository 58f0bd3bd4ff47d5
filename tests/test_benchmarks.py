"""Benchmarks stay runnable, and the library's fast paths stay exact.

No timing is asserted here (benchmarks are not tests): the smoke tests run
``benchmarks/run.py`` at its smallest size and ``benchmarks/load.py`` for a few seconds and
check that they report what they should. The other tests pin each performance shortcut in
the library to the slow code it replaces, value for value.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

PROJECT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------ smoke tests


def test_benchmark_runs_at_the_smallest_size(tmp_path):
    out = tmp_path / "rows.json"
    index_before = sorted((p.name, p.stat().st_mtime_ns) for p in (PROJECT / "index").rglob("*"))
    proc = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "benchmarks" / "run.py"),
            "--sizes",
            "30",
            "--docs",
            "3",
            "--no-bundled",
            "--cold-runs",
            "1",
            "--passes",
            "1",
            "--questions",
            "8",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "BLAS:" in proc.stdout and "kernel=" in proc.stdout
    assert "| corpus |" in proc.stdout
    rows = json.loads(out.read_text())
    assert [r["label"] for r in rows] == ["~30 chunks", "3 docs"]
    small, docs = rows
    assert small["chunks"] >= 30 and small["documents"] >= 2
    assert small["incr_embedded_chunks"] > 0 and small["incr_reused_documents"] == small["documents"] - 1
    for key in (
        "retrieve_p95_ms",
        "answer_p95_ms",
        "answer_cold_p95_ms",
        "cold_ask_s",
        "peak_rss_bytes",
        "index_bytes",
        "chars_per_s",
    ):
        assert small[key] > 0, key
    assert docs["documents"] == 3 and docs["incr_reused_documents"] == 2
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (PROJECT / "index").rglob("*")) == index_before


def test_load_script_drives_a_live_server(tmp_path):
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "benchmarks" / "load.py"),
            "--residents",
            "3",
            "--duration",
            "2",
            "--saturation",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert "| closed loop |" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    closed, saturation = result["rows"]
    assert closed["served"] > 0 and saturation["served"] > 0
    assert closed["errors"] == 0 and saturation["errors"] == 0
    assert result["rss_before"] > 0 and result["rss_after"] > 0


def test_load_script_compares_the_rest_route_with_gradios(tmp_path):
    out = tmp_path / "compare.json"
    args = ["--compare", "--clients", "2", "--residents", "3", "--duration", "2", "--saturation", "1"]
    proc = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "load.py"), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert "| saturated, api |" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = json.loads(out.read_text())["rows"]
    assert [r["phase"] for r in rows] == ["saturated, gradio", "saturated, api", "residents, api"]
    assert all(r["served"] > 0 and r["errors"] == 0 and r["generator_cpu_pct"] > 0 for r in rows), rows


def _invented_squad_file(path: Path) -> Path:
    """Twelve articles about invented lakes, three questions each (one blank), SQuAD-style."""
    names = ["青梧", "白鹭", "石岭", "云溪", "松涛", "银杏", "赤霞", "墨川", "金沙", "碧落", "苍山", "紫陌"]
    data = []
    for i, name in enumerate(names):
        context = (
            f"{name}湖位于虚构的第{i + 3}区，湖面面积为{20 + i}平方公里。"
            f"{name}湖的灯塔建于{1850 + 7 * i}年，由工匠{name}明设计。"
        )
        qas = [
            (f"{name}湖的面积是多少？", f"{20 + i}平方公里"),
            (f"{name}湖的灯塔是哪一年建的？", f"{1850 + 7 * i}年"),
            (" ", "灯塔"),
        ]
        data.append(
            {
                "id": f"L{i}",
                "title": f"{name}湖",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": f"L{i}-{j}",
                                "question": q,
                                "answers": [{"text": a, "answer_start": context.find(a)}],
                            }
                            for j, (q, a) in enumerate(qas)
                        ],
                    }
                ],
            }
        )
    path.write_text(json.dumps({"data": data}, ensure_ascii=False), encoding="utf-8")
    return path


def _open_domain(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "open_domain.py"), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_open_domain_benchmark_measures_a_squad_file(tmp_path):
    from assistant import squad

    source = _invented_squad_file(tmp_path / "lakes.json")
    proc = _open_domain(
        str(source), "--seed", "0", "--hold-out", "0.25", "--json", "--min-accuracy", "1.01", cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stderr[-3000:]  # no answerer is that good: the gate must fire
    assert "quality gate failed: accuracy" in proc.stderr
    report = json.loads(proc.stdout)
    (run,) = report["runs"]
    # 9 indexed articles (18 answerable questions), 3 held out (6): 25 % means 6 must-refuse + 18.
    assert (run["indexed_articles"], run["held_out_articles"]) == (9, 3)
    assert (run["answerable"], run["must_refuse"], run["skipped_empty"]) == (18, 6, 12)
    assert run["chunks"] >= 9
    assert run["hit@3"] >= 0.5  # each answer is written in exactly one small article
    for key in ("accuracy", "wrongly_refused", "refusal_recall", "answer_p95_ms", "mean_quoted_chars"):
        assert run[key] is not None, key
    assert sum(r["answered"] for r in report["reliability"]) == run["answered"]
    assert report["mean"] is None

    articles = squad.load(source)
    split = squad.split_articles(articles, 0.25, 0)
    fold0 = [a for a in split.indexed if squad.fold_of(a, 2) == 0]
    from assistant import config

    shutil.copy(config.DEFAULT_ANSWER_MODEL, tmp_path / "m.npz")
    proc = _open_domain(
        str(source), "--seed", "0", "--hold-out", "0.25", "--fold", "0/2", "--json", "--answer-model", "m.npz",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    (run,) = report["runs"]
    assert run["answerable_available"] == 2 * len(fold0) and run["chunks"] >= 9  # the whole index
    assert report["answer_model"] == str(tmp_path / "m.npz")


def test_open_domain_benchmark_names_a_malformed_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [{"title": "x", "paragraphs": [{"context": "c", "qas": [{"id": 1}]}]}]}')
    proc = _open_domain(str(bad), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f'error: {bad}: data[0].paragraphs[0].qas[0]: missing "question"'


def test_load_script_dos_mode_attacks_and_measures_every_route(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "load.py"), "--dos", "--probes", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    out = proc.stdout
    assert "| API /gradio_api/call/ask | 2 | 0 |" in out, out[-3000:] + proc.stderr[-3000:]
    assert "| page /gradio_api/queue/join | 2 | 0 |" in out
    assert "'http 413'" in out and "'answered'" not in out  # no huge request got through


# ------------------------------------------------------------------ exact fast paths


def _article() -> str:
    return (PROJECT / "corpus" / "000_digital-qingdao.md").read_text(encoding="utf-8")


def test_t2s_shortcut_equals_opencc():
    from opencc import OpenCC

    from assistant.lexical import _t2s

    reference = OpenCC("t2s")
    s2t = OpenCC("s2t")
    lines = [line for line in _article().splitlines() if line.strip()]
    samples = (
        lines
        + [s2t.convert(line) for line in lines[:20]]
        + ["沈默的沈先生", "反覆", "瞭解", "乾隆", "後來", ""]
    )
    keys = sorted({k for group in reference._dict_chain_data for _, _, m in group for k in m})
    phrases = [k for k in keys if len(k) > 1]
    pool = sorted({c for k in keys for c in k}) + list("，。 \n“”（）ab12青岛数字")
    rng = random.Random(7)
    for _ in range(2000):
        samples.append(
            "".join(
                rng.choice(phrases) if rng.random() < 0.2 else rng.choice(pool)
                for _ in range(rng.randint(1, 30))
            )
        )
    for text in samples:
        assert _t2s(text) == reference.convert(text), text


def test_top_k_equals_stable_argsort():
    from assistant.retrieval import _top_k

    rng = np.random.default_rng(3)
    for trial in range(400):
        n = int(rng.integers(1, 6000))
        k = min(n, int(rng.integers(1, 12)))
        scores = (
            (rng.integers(0, 5, n) / 4).astype(np.float32) if trial % 2 else rng.random(n).astype(np.float32)
        )
        assert np.array_equal(_top_k(scores, k), np.argsort(-scores, kind="stable")[:k])


def _corpus_tokens() -> list[list[str]]:
    from assistant.chunking import chunk_document
    from assistant.corpus import load_corpus
    from assistant.lexical import lexical_tokens

    documents, _ = load_corpus(PROJECT / "corpus")
    tokens = [lexical_tokens(c.text) for d in documents for c in chunk_document(d)]
    # more chunks, and an empty one, with the same vocabulary
    rng = random.Random(5)
    return tokens + [[]] + [rng.sample(t, len(t)) for t in tokens for _ in range(3)]


def test_bm25_build_equals_bm25s():
    import itertools

    from assistant.lexical import (
        DocTermCounts,
        TermTable,
        bm25_index,
        import_bm25s,
        lexical_tokens,
    )

    bm25s = import_bm25s()
    tokens = _corpus_tokens()
    vocab = {t: i for i, t in enumerate(dict.fromkeys(itertools.chain.from_iterable(tokens)))}
    ids = [[vocab[t] for t in doc] for doc in tokens]
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(bm25s.tokenization.Tokenized(ids=ids, vocab=dict(vocab)), show_progress=False)
    whole_table = TermTable()
    whole = bm25_index([DocTermCounts.of(tokens, whole_table)], whole_table)
    table = TermTable()
    table.ids_of(["未用词", "另一个"])  # numbers the corpus never uses are left out
    parts = bm25_index([DocTermCounts.of(tokens[i : i + 7], table) for i in range(0, len(tokens), 7)], table)
    for built in (whole, parts):
        assert built.vocab_dict == reference.vocab_dict
        for key in ("data", "indices", "indptr"):
            assert built.scores[key].dtype == reference.scores[key].dtype
            assert np.array_equal(built.scores[key], reference.scores[key]), key
    # bm25s's own string path numbers its vocabulary differently, but scores the same
    strings = bm25s.BM25(k1=1.2, b=0.75)
    strings.index(tokens, show_progress=False)
    for line in _article().splitlines()[10:40]:
        query = [t for t in lexical_tokens(line) if t in vocab]
        if query:
            assert np.array_equal(whole.get_scores(query), strings.get_scores(query))


def test_record_files_round_trip_one_record_per_line(tmp_path):
    from assistant.chunking import chunk_document
    from assistant.corpus import load_corpus
    from assistant.index import _document_record, _write_records

    documents, _ = load_corpus(PROJECT / "corpus")
    rows = [[c.doc_id, c.section, c.start, c.end] for d in documents for c in chunk_document(d)]
    rows.append(['a"b\\c\n', "s\u2028x], [", 0, 1])
    _write_records(tmp_path / "chunks.json", rows)
    lines = (tmp_path / "chunks.json").read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert len(lines) == len(rows) + 2  # "[", one line per chunk, "]"
    assert json.loads((tmp_path / "chunks.json").read_text(encoding="utf-8")) == rows
    _write_records(tmp_path / "documents.json", [_document_record(documents[0], "x.md")])
    (record,) = json.loads((tmp_path / "documents.json").read_text(encoding="utf-8"))
    assert record == asdict(documents[0]) | {"path": "x.md"} | {
        "headings": [asdict(h) for h in documents[0].headings],
        "questions": list(documents[0].questions),
    }


def test_doc_cache_round_trip(tmp_path):
    from assistant.chunking import chunk_document
    from assistant.corpus import load_corpus
    from assistant.index import _Cached, _DocCache
    from assistant.lexical import DocTermCounts, lexical_tokens
    from assistant.sentences import DocSentences, document_sentences

    (doc,), _ = load_corpus(PROJECT / "corpus")
    chunks = chunk_document(doc)
    vectors = np.random.default_rng(1).random((len(chunks), 8)).astype(np.float32)
    cache = _DocCache(tmp_path, "model@x")
    lex = DocTermCounts.of([lexical_tokens(c.text) for c in chunks], cache.terms)
    path = Path(doc.path)
    assert cache.get(path, doc.doc_id, doc.sha256) is None
    spans = [[c.section, c.start, c.end] for c in chunks]
    sentences = DocSentences.of(document_sentences(doc), cache.terms)
    cache.put(_Cached(doc, spans, lex, vectors, sentences))
    got = cache.get(path, doc.doc_id, doc.sha256)
    assert got.document == doc
    assert got.spans == spans
    assert np.array_equal(got.vectors, vectors)
    for key in ("vocab", "lengths", "n_terms", "terms", "counts"):
        assert np.array_equal(getattr(got.lex, key), getattr(lex, key)), key
    for key, _ in DocSentences.ARRAYS:
        assert np.array_equal(getattr(got.sentences, key), getattr(sentences, key)), key
    # the same bytes under another name are another entry (the title may come from the name)
    assert cache.get(path.with_name("other.md"), doc.doc_id, doc.sha256) is None
    assert cache.get(path, doc.doc_id, "0" * 64) is None
    stored = next(tmp_path.rglob("*.bin"))
    stored.write_bytes(stored.read_bytes()[:-3])  # truncated: a miss, not an error
    assert cache.get(path, doc.doc_id, doc.sha256) is None


def test_encoder_cache_gives_the_uncached_rows():
    from assistant.embedding import load_encoder

    encoder = load_encoder()
    if not hasattr(encoder, "_encode"):
        pytest.skip("not the static fast path")
    words = ["青岛", "数据中心", "覆盖率", "青岛", "", "metro", "地铁6号线开通"] + [
        line for line in _article().splitlines()[:30]
    ]
    encoder.clear_cache()
    first = encoder.encode(words)
    again = encoder.encode(list(reversed(words)))[::-1]
    plain = encoder._encode(words, False)
    assert np.array_equal(first, plain) and np.array_equal(again, plain)
    assert first.dtype == np.float32
