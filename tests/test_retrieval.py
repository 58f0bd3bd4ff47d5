"""Retrieval over real indexes: the committed one (copied) and small ones built here."""

import json
import shutil

import pytest

from assistant import Passage, QuestionError, Retriever
from assistant.index import StaleIndexError, build_index, current_version_dir

ARTICLE = (
    "---\ntitle: 测试文章\ndate: 2024-01\n---\n\n# 测试文章\n\n"
    "## 交通\n\n青岛地铁6号线今年4月开通。\n\n## 天气\n\n海风很大,气温适中。\n"
)


def test_round_trip_build_and_load(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text(ARTICLE, encoding="utf-8")
    report = build_index(corpus, tmp_path / "index")
    assert (report.documents, report.chunks) == (1, 2)
    r = Retriever.load(tmp_path / "index")
    top = r.search("6号线什么时候开通", k=2)
    assert top[0].section == "交通" and "6号线" in top[0].text
    assert top[0].title == "测试文章" and top[0].date == "2024-01"
    doc = r.documents[top[0].doc_id]
    assert doc.text[top[0].start : top[0].end] == top[0].text


def test_passage_fields_and_score_range(retriever):
    passages = retriever.search("行政村5G覆盖率是多少", k=5)
    assert len(passages) == 5 and all(isinstance(p, Passage) for p in passages)
    assert all(0.0 <= p.score <= 1.0 for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert "95.15%" in passages[0].text


@pytest.mark.parametrize(
    "query,expected",
    [
        ("青島地鐵6號線是什麼時候開通的？", "6号线"),
        ("How many data centers has Qingdao built?", "50个数据中心"),
        ("Who is the chief data officer of the Zhenqing bus group?", "程鹏"),
    ],
)
def test_traditional_and_english_queries(retriever, query, expected):
    assert any(expected in p.text for p in retriever.search(query, k=3))


def test_empty_and_huge_queries(retriever):
    with pytest.raises(QuestionError):
        retriever.search("   ")
    passages = retriever.search("数据" * 50_000, k=3)
    assert len(passages) == 3


def test_format_version_mismatch_is_reported(index_copy, tmp_path):
    broken = tmp_path / "index"
    shutil.copytree(index_copy, broken)
    manifest = current_version_dir(broken) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = 999
    manifest.write_text(json.dumps(data))
    with pytest.raises(StaleIndexError, match="reindex"):
        Retriever.load(broken)


def test_other_model_is_reported(index_copy, monkeypatch):
    monkeypatch.setenv("ASSISTANT_MODEL", "/some/other/model")
    with pytest.raises(StaleIndexError, match="reindex"):
        Retriever.load(index_copy)


def test_missing_index_is_reported(tmp_path):
    with pytest.raises(StaleIndexError, match="reindex"):
        Retriever.load(tmp_path)


def test_cli_search_text_and_json(index_copy):
    import subprocess
    import sys

    base = [
        sys.executable,
        "-m",
        "assistant.cli",
        "search",
        "行政村5G覆盖率",
        "-k",
        "2",
        "--index",
        str(index_copy),
    ]
    text = subprocess.run(base, capture_output=True, text=True, check=True).stdout
    assert text.startswith("[1] score ") and "95.15%" in text
    rows = json.loads(subprocess.run(base + ["--json"], capture_output=True, text=True, check=True).stdout)
    assert (
        len(rows) == 2 and {"text", "score", "doc_id", "title", "section", "start", "end"} <= rows[0].keys()
    )
