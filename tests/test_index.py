"""Index builds: versions, incremental reuse, removal, staleness, lock, kill at every stage."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Retriever, answer
from assistant.index import BuildLockedError, build_index, check_index, current_version_dir

DOC = "---\ntitle: 文章{n}\ndate: 2024-0{n}\n---\n\n# 文章{n}\n\n青岛第{n}号测试线路今年开通,全长{n}0公里。市民可以线上订票。\n"


def make_corpus(root: Path, n: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        (root / f"doc{i}.md").write_text(DOC.format(n=i), encoding="utf-8")
    return root


@pytest.fixture()
def built(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    build_index(corpus, index)
    return corpus, index


def test_unchanged_rebuild_changes_nothing(built):
    corpus, index = built
    before = {p: p.stat().st_mtime_ns for p in index.rglob("*") if p.is_file()}
    report = build_index(corpus, index)
    assert report.unchanged and report.embedded_chunks == 0
    after = {p: p.stat().st_mtime_ns for p in index.rglob("*") if p.is_file()}
    assert before == after


def test_incremental_reuses_unchanged_documents(built):
    corpus, index = built
    (corpus / "doc2.md").write_text(DOC.format(n=2) + "\n新增一句话。\n", encoding="utf-8")
    report = build_index(corpus, index)
    assert report.reused_documents == 2
    assert report.embedded_chunks == 1


def _version_files(index: Path) -> dict[str, bytes]:
    """The live version's files; the manifest without its build time."""
    import json

    live = current_version_dir(index)
    files = {p.relative_to(live).as_posix(): p.read_bytes() for p in live.rglob("*") if p.is_file()}
    manifest = json.loads(files.pop("manifest.json"))
    manifest.pop("built_at")
    return files | {"manifest.json": json.dumps(manifest, sort_keys=True).encode()}


def test_incremental_build_equals_a_fresh_build(built, tmp_path):
    corpus, index = built
    (corpus / "doc2.md").write_text(
        DOC.format(n=2) + "\n新增一句话，含新词汇：量子计算。\n", encoding="utf-8"
    )
    (corpus / "doc3.md").unlink()
    (corpus / "doc4.md").write_text(DOC.format(n=4), encoding="utf-8")
    report = build_index(corpus, index)
    assert (report.reused_documents, report.documents) == (1, 3)
    fresh = tmp_path / "fresh"
    build_index(corpus, fresh)
    assert _version_files(index) == _version_files(fresh)


def test_cache_keeps_only_what_the_last_build_used(built):
    corpus, index = built
    entries = lambda: sorted(p.name for p in (index / ".cache").rglob("*.bin"))  # noqa: E731
    first = entries()
    assert len(first) == 3
    (corpus / "doc2.md").write_text(DOC.format(n=2) + "\n新增一句话。\n", encoding="utf-8")
    (corpus / "doc3.md").unlink()
    build_index(corpus, index)
    now = entries()
    assert len(now) == 2 and len(set(first) & set(now)) == 1


def test_damaged_term_table_costs_a_rebuild_not_a_wrong_index(built, tmp_path):
    corpus, index = built
    (terms,) = (index / ".cache").rglob("terms.txt")
    text = terms.read_text(encoding="utf-8")
    terms.write_text(text[: len(text) // 2], encoding="utf-8")  # cut mid-line, as by a kill
    (corpus / "doc1.md").write_text(DOC.format(n=1) + "\n新增一句话。\n", encoding="utf-8")
    report = build_index(corpus, index)
    assert report.reused_documents == 0  # a new table: no entry's numbers are trusted
    assert terms.read_text(encoding="utf-8").endswith("\n")
    terms.unlink()  # gone: a new table again
    (corpus / "doc1.md").write_text(DOC.format(n=1) + "\n又一句话。\n", encoding="utf-8")
    report = build_index(corpus, index)
    assert report.reused_documents == 0
    fresh = tmp_path / "fresh"
    build_index(corpus, fresh)
    assert _version_files(index) == _version_files(fresh)


def test_removed_document_loses_its_chunks(built):
    corpus, index = built
    (corpus / "doc3.md").unlink()
    build_index(corpus, index)
    r = Retriever.load(index)
    assert {c.doc_id for c in r.chunks} == {"doc1", "doc2"}


def test_check_reports_stale_corpus(built):
    corpus, index = built
    assert check_index(corpus, index) == []
    (corpus / "doc1.md").write_text(DOC.format(n=1) + "改动。", encoding="utf-8")
    (corpus / "doc4.md").write_text(DOC.format(n=4), encoding="utf-8")
    problems = check_index(corpus, index)
    assert "changed file doc1.md" in problems and "new file doc4.md" in problems


def test_second_build_is_refused_while_locked(built):
    from filelock import FileLock

    corpus, index = built
    with FileLock(str(index / ".lock")):
        with pytest.raises(BuildLockedError, match="already running"):
            build_index(corpus, index)


def test_bad_files_are_skipped_and_strict_fails(built):
    from assistant.index import IndexError_

    corpus, index = built
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "gbk.txt").write_bytes("青岛地铁票价两元。".encode("gbk"))
    report = build_index(corpus, index)
    assert [s.path.name for s in report.skipped] == ["empty.md"]
    assert report.documents == 4
    with pytest.raises(IndexError_, match="empty.md"):
        build_index(corpus, index, strict=True)


def kill_build_at(corpus: Path, index: Path, stage: str, marker: Path) -> None:
    """Run ``assistant reindex`` in a process and SIGKILL it once it reaches ``stage``."""
    env = os.environ | {"ASSISTANT_TEST_PAUSE_AT": stage, "ASSISTANT_TEST_PAUSE_MARKER": str(marker)}
    cmd = [
        sys.executable,
        "-m",
        "assistant.cli",
        "reindex",
        "-q",
        "--corpus",
        str(corpus),
        "--index",
        str(index),
    ]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.time() + 60
    while not marker.exists():
        assert proc.poll() is None and time.time() < deadline, "build ended before reaching the stage"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("stage", ["loaded", "embedded", "written", "renamed"])
def test_kill_at_any_stage_keeps_old_index(built, tmp_path, stage):
    corpus, index = built
    old = current_version_dir(index).name
    (corpus / "doc1.md").write_text(DOC.format(n=1) + "新内容。", encoding="utf-8")
    kill_build_at(corpus, index, stage, tmp_path / "paused")
    assert current_version_dir(index).name == old
    result = answer("第2号测试线路全长多少公里？", retriever=Retriever.load(index))
    assert not result.refused and "20公里" in result.citations[0].quote
    # The next build recovers: it is not locked out and switches to the new version.
    build_index(corpus, index)
    assert current_version_dir(index).name != old


def test_an_unchanged_rebuild_removes_what_killed_builds_left(built, tmp_path):
    """Issue 13, failure 8: temporary folders of killed builds (61 MB) survived a no-change reindex."""
    corpus, index = built
    original = (corpus / "doc1.md").read_text(encoding="utf-8")
    (corpus / "doc1.md").write_text(original + "新内容。", encoding="utf-8")
    kill_build_at(corpus, index, "written", tmp_path / "paused")
    assert list(index.glob(".tmp-*"))
    (corpus / "doc1.md").write_text(original, encoding="utf-8")
    assert build_index(corpus, index).unchanged
    assert not list(index.glob(".tmp-*")) and not list(index.rglob("*.tmp"))
