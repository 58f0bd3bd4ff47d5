"""The staff console's building blocks: catalogue writing, upload checks, passwords, statuses.

The pages themselves are driven in a real browser by tests/test_console_browser.py.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from assistant import config
from assistant.console.auth import ConsoleOff, LoginThrottle, PasswordCheck, hash_password
from assistant.console.catalogue import dumps, set_entry
from assistant.console.documents import UploadError, check_name, document_rows, pending_names, stage_upload
from assistant.console.residents import question_groups
from assistant.corpus import CatalogueEntry, CatalogueError, load_catalogue, read_notes
from assistant.feedback import FeedbackStore

PROJECT = Path(__file__).resolve().parent.parent
GBK_TEXT = "# 崂山茶园物联网\n\n崂山区茶园物联网项目于2024年完成一期建设，\n在茶园部署土壤墒情传感器860套。\n"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("ASSISTANT_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


# -------------------------------------------------------------------------- catalogue

TRICKY = ['引号"和\\反斜杠', "换行\n和\t制表", "控制\x01\x7f字符", ']" = 1\n[x]', "普通标题"]


@pytest.mark.parametrize("value", TRICKY)
def test_catalogue_text_reads_back_exactly(value):
    entry = CatalogueEntry(title=value, questions=(value, "第二个？"))
    assert tomllib.loads(dumps({"a.md": entry})) == {
        "a.md": {"title": value, "questions": [value, "第二个？"]}
    }


def test_set_entry_replaces_one_entry_and_removes_empty_ones(tmp_path):
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text("# 标题\n\n内容。\n", encoding="utf-8")
    set_entry(tmp_path, "a.md", CatalogueEntry(title="甲", date="2024-08"))
    set_entry(tmp_path, "b.md", CatalogueEntry(source="乙报", questions=("问一？", "问二？")))
    set_entry(tmp_path, "a.md", CatalogueEntry(title="甲二"))
    assert load_catalogue(tmp_path) == {
        "a.md": CatalogueEntry(title="甲二"),
        "b.md": CatalogueEntry(source="乙报", questions=("问一？", "问二？")),
    }
    set_entry(tmp_path, "b.md", None)
    set_entry(tmp_path, "a.md", CatalogueEntry())
    assert load_catalogue(tmp_path) == {}
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize("bad", ["2024-13", "2024-02-30", "24-08", "2024/08", "八月"])
def test_an_entry_the_reindex_would_refuse_is_not_written(tmp_path, bad):
    (tmp_path / "a.md").write_text("# 标题\n\n内容。\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="YYYY-MM-DD"):
        set_entry(tmp_path, "a.md", CatalogueEntry(date=bad))
    with pytest.raises(CatalogueError, match="no such file"):
        set_entry(tmp_path, "missing.md", CatalogueEntry(title="x"))
    assert not (tmp_path / "catalogue.toml").exists()


# ---------------------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    "name, message",
    [
        ("../x.md", "路径"),
        ("sub/x.md", "路径"),
        ("..\\x.md", "路径"),
        (".hidden.md", "点开头"),
        ("tool.exe", "不支持的文件类型 .exe"),
        ("README", "不支持的文件类型"),
        ("", "没有名字"),
        ("a\x07.md", "控制字符"),
    ],
)
def test_bad_upload_names_are_named(name, message):
    with pytest.raises(UploadError, match=message):
        check_name(name)


def test_plain_names_pass_unchanged():
    assert check_name("通知 2024.DOCX") == "通知 2024.DOCX"


def test_refused_uploads_write_nothing(tmp_path, data_dir):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "old.md").write_text("# 旧\n\n旧的内容。\n", encoding="utf-8")
    cases = [
        ("big.md", b"a" * (config.MAX_FILE_BYTES + 1), "太大"),
        ("old.md", "# 新\n\n新的内容。\n".encode(), "同名"),
        ("bin.txt", b"\x00\x01\x02" * 100, "无法读取"),
        ("../x.md", b"# x\n\ny\n", "路径"),
    ]
    for name, data, message in cases:
        with pytest.raises(UploadError, match=message):
            stage_upload(name, data, overwrite=False, corpus_dir=corpus)
    assert pending_names() == []
    assert sorted(p.name for p in corpus.iterdir()) == ["old.md"]
    assert (
        stage_upload("old.md", "# 新\n\n新的内容。\n".encode(), overwrite=True, corpus_dir=corpus) == "old.md"
    )
    assert pending_names() == ["old.md"]
    assert (corpus / "old.md").read_text(encoding="utf-8").startswith("# 旧")  # replaced only on publish


def test_read_notes_name_the_decoding_and_the_joined_lines():
    notes = read_notes(Path("tea.txt"), GBK_TEXT.encode("gbk"))
    assert notes.encoding == "GB18030 (GBK)"
    assert len(notes.joined) == 1
    assert read_notes(Path("tea.txt"), GBK_TEXT.encode("utf-8")).encoding == "UTF-8"
    assert read_notes(Path("tea.txt"), GBK_TEXT.encode("utf-16")).encoding == "UTF-16"
    truncated = (GBK_TEXT + "完").encode("utf-8")[:-1]
    assert read_notes(Path("tea.txt"), truncated).encoding.startswith("UTF-8 (incomplete last character")
    assert read_notes(Path("tea.md"), "# 标题\n\n完整的一句话。\n".encode()).joined == ()


# ---------------------------------------------------------------------------- passwords


def test_password_from_environment_wins_over_the_file(data_dir, monkeypatch):
    data_dir.mkdir(parents=True)
    config.admin_password_file().write_text(hash_password("from-file-pw") + "\n")
    assert PasswordCheck.configured()("from-file-pw")
    assert not PasswordCheck.configured()("from-file-px")
    monkeypatch.setenv("ASSISTANT_ADMIN_PASSWORD", "from-env-pw")
    assert PasswordCheck.configured()("from-env-pw")
    assert not PasswordCheck.configured()("from-file-pw")


def test_no_password_means_console_off(data_dir, monkeypatch):
    monkeypatch.delenv("ASSISTANT_ADMIN_PASSWORD", raising=False)
    with pytest.raises(ConsoleOff, match="ASSISTANT_ADMIN_PASSWORD"):
        PasswordCheck.configured()


def test_failed_logins_make_the_next_ones_wait_longer():
    throttle = LoginThrottle()
    for _ in range(config.ADMIN_FREE_ATTEMPTS):
        throttle.failed("10.0.0.1")
    assert throttle.wait_seconds("10.0.0.1") == 0
    throttle.failed("10.0.0.1")
    first = throttle.wait_seconds("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert first > 0 and throttle.wait_seconds("10.0.0.1") > first
    assert throttle.wait_seconds("10.0.0.2") == 0
    throttle.succeeded("10.0.0.1")
    assert throttle.wait_seconds("10.0.0.1") == 0


# ---------------------------------------------------------------------------- statuses


def test_document_rows_tell_indexed_changed_new_skipped_and_removed(tmp_path):
    from assistant.index import build_index

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(PROJECT / "corpus", corpus)
    (corpus / "tea.txt").write_bytes(GBK_TEXT.encode("gbk"))
    (corpus / "gone.md").write_text("# 将删除\n\n这个文件稍后会被删除。\n", encoding="utf-8")
    build_index(corpus, index)
    (corpus / "gone.md").unlink()
    (corpus / "tea.txt").write_bytes((GBK_TEXT + "\n项目还建设了气象站。\n").encode("gbk"))
    (corpus / "new.md").write_text("# 新文件\n\n新加入的内容。\n", encoding="utf-8")
    (corpus / "empty.md").write_text("", encoding="utf-8")
    rows = {r.name: r for r in document_rows(corpus, index)}
    assert rows["000_digital-qingdao.md"].status == "indexed" and rows["000_digital-qingdao.md"].chunks > 0
    assert rows["tea.txt"].status == "changed" and rows["tea.txt"].title == "崂山茶园物联网"
    assert rows["new.md"].status == "new" and rows["new.md"].chunks is None
    assert (rows["empty.md"].status, rows["empty.md"].reason) == ("skipped", "empty file")
    assert rows["gone.md"].status == "removed"


def test_refused_questions_are_grouped_by_missing_terms_newest_first(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    for question, terms in [
        ("烟台的地铁有几条？", ["烟台"]),
        ("青岛的茶园有多少？", ["茶园"]),
        ("烟台的地铁有几条？", ["烟台"]),
        ("烟台的人口？", ["烟台"]),
    ]:
        store.log_unanswered({"question": question, "missing_terms": terms})
    assert store.flush(timeout=10)
    groups = question_groups(store)
    assert [(g.terms, g.count) for g in groups] == [(("烟台",), 3), (("茶园",), 1)]
    assert [(a.question, a.times) for a in groups[0].questions] == [
        ("烟台的人口？", 1),
        ("烟台的地铁有几条？", 2),
    ]
    assert [g.terms for g in question_groups(store, query="茶园")] == [("茶园",)]


def test_set_password_stores_only_a_hash_readable_by_its_owner(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_ADMIN_PASSWORD"} | {
        "ASSISTANT_DATA": str(tmp_path)
    }
    cmd = [sys.executable, "-m", "assistant.cli", "admin", "--set-password"]
    short = subprocess.run(cmd, input="short\n", env=env, capture_output=True, text=True, cwd=PROJECT)
    assert short.returncode == 2 and "at least" in short.stderr
    out = subprocess.run(
        cmd, input="长一点的密码 long\n", env=env, capture_output=True, text=True, cwd=PROJECT
    )
    assert out.returncode == 0, out.stderr
    stored = (tmp_path / "admin-password").read_text()
    assert "长一点" not in stored and stored.startswith("scrypt$")
    assert (tmp_path / "admin-password").stat().st_mode & 0o077 == 0
    assert PasswordCheck(hashed=stored)("长一点的密码 long") and not PasswordCheck(hashed=stored)("long")


def test_an_oversized_request_is_refused_with_a_message_for_staff(tmp_path, data_dir):
    from fastapi.testclient import TestClient

    from assistant.console.app import MAX_REQUEST_BYTES, build_console
    from benchmarks.admin_load import csrf_token

    (tmp_path / "corpus").mkdir()
    app = build_console(tmp_path / "corpus", tmp_path / "index", password=PasswordCheck(plain="pw-12345"))
    chunk = b"x" * 2**20

    def body():  # streamed: no Content-Length to refuse it by, counted as it arrives
        for _ in range(MAX_REQUEST_BYTES // len(chunk) + 2):
            yield chunk

    with TestClient(app, follow_redirects=False) as client:
        token = csrf_token(client.get("/login").text)
        assert (
            client.post("/login", data={"csrf": token, "name": "测", "password": "pw-12345"}).status_code
            == 303
        )
        multipart = {"content-type": "multipart/form-data; boundary=x"}
        r = client.post("/upload", content=body(), headers=multipart)
    assert r.status_code == 413 and "上传内容太大" in r.json()["error"]
    assert pending_names() == []


def test_the_console_binds_to_loopback_unless_told_otherwise():
    from assistant.cli import build_parser

    args = build_parser().parse_args(["admin"])
    assert (args.host, args.port) == ("127.0.0.1", config.ADMIN_PORT)


def test_admin_load_script_reindexes_from_the_console_while_the_chat_answers(tmp_path):
    """benchmarks/admin_load.py at its smallest: the numbers come from the full run (README)."""
    import json
    import subprocess
    import sys

    out = tmp_path / "admin_load.json"
    cmd = [
        sys.executable,
        str(PROJECT / "benchmarks" / "admin_load.py"),
        "--chunks",
        "300",
        "--duration",
        "3",
    ]
    proc = subprocess.run(
        cmd + ["--json", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["row"]["served"] > 0 and result["row"]["errors"] == 0
    assert result["status"]["status"] == "done"
