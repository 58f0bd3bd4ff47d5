"""The staff console in a real browser (Debian's Chromium via Playwright), against real servers.

One module-scoped setup runs ``assistant serve`` (the chat, with the network audit hook of
tests/test_web.py) and ``assistant admin`` as subprocesses over one temporary corpus,
index and data folder: the committed article, indexed, plus a few synthetic documents
added after that build (so that the page's first reindex takes long enough to show its
progress bar). Files uploaded here carry facts invented for this test; nothing touches
the repository's ``corpus/`` or ``index/``.

Set ``CONSOLE_SCREENSHOTS=docs`` to write the README's screenshots (``make screenshot``).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from benchmarks.admin_load import csrf_token, start_console
from benchmarks.load import ask, assistant_command, stop_server
from tests.test_web import CHROMIUM, CHROMIUM_ARGS, Server, start_server
from tests.test_web import stop_server as stop_chat

PROJECT = Path(__file__).resolve().parent.parent
PASSWORD = "浏览器测试-password"
STAFF = "王芳"

OCEAN_NAME = "ocean-ranch.docx"
OCEAN_TITLE = "海洋牧场数字监测平台上线"
OCEAN_FACT = "平台共接入海上监测浮标42个，实时采集水温、盐度和溶解氧数据。"
OCEAN_QUESTION = "海洋牧场数字监测平台接入了多少个浮标？"
TEA_NAME = "tea-iot.txt"
# GBK bytes, with a line a layout tool broke inside a sentence.
TEA_TEXT = (
    "# 崂山茶园物联网项目\n\n崂山区茶园物联网项目于2024年完成一期建设，\n在茶园部署土壤墒情传感器860套。\n\n"
    "项目让茶农通过手机查看茶园的温湿度。\n"
)
TEA_QUESTION = "崂山茶园部署了多少套土壤墒情传感器？"
SYNTHETIC_DOCUMENTS = 20


def ocean_docx() -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = OCEAN_TITLE
    d.core_properties.author = "测试通讯社"
    d.add_heading(OCEAN_TITLE, level=1)
    d.add_heading("平台概况", level=2)
    d.add_paragraph("青岛市海洋牧场数字监测平台于2024年6月正式上线运行。" + OCEAN_FACT)
    d.add_paragraph("平台由市海洋发展局牵头建设，服务全市18个海洋牧场。")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


@dataclass
class Console:
    url: str
    chat: Server
    corpus: Path
    index: Path
    data: Path
    process: subprocess.Popen

    def chat_answer(self, question: str) -> dict:
        async def go() -> dict:
            async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
                return await ask(client, self.chat.url, question, None)

        # Playwright's sync API keeps an event loop in this thread: run the client in another.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, go()).result()

    def wait_for_chat(self, question: str, refused: bool, timeout: float = 20) -> dict:
        """The chat's answer once it is (not) refused: it switches versions within seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.chat_answer(question)
            if result["refused"] == refused or time.monotonic() > deadline:
                return result
            time.sleep(0.5)

    def written(self) -> list[str]:
        """Every file in the corpus and the console's pending folder (to prove nothing was written)."""
        pending = self.data / "console" / "pending"
        files = [p.relative_to(self.corpus).as_posix() for p in self.corpus.rglob("*") if p.is_file()]
        files += [f"pending/{p.name}" for p in pending.iterdir()] if pending.is_dir() else []
        return sorted(files)


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    from assistant.index import build_index
    from benchmarks.run import make_corpus

    root = tmp_path_factory.mktemp("console")
    corpus, index, data = root / "corpus", root / "index", root / "data"
    shutil.copytree(PROJECT / "corpus", corpus)
    data.mkdir()
    build_index(corpus, index)
    # Added after the first build, so that the page's first reindex has real work to show.
    make_corpus(root / "synthetic", documents=SYNTHETIC_DOCUMENTS)
    for f in (root / "synthetic").iterdir():
        shutil.move(f, corpus / f.name)
    chat = start_server(index, data, root / "netlog.txt", root / "serve.log")
    try:
        proc, url = start_console(corpus, index, data, root / "admin.log", PASSWORD)
    except RuntimeError:
        stop_chat(chat)
        raise
    yield Console(url, chat, corpus, index, data, proc)
    stop_server(proc)
    stop_chat(chat)
    assert chat.netlog.read_text() == "", "the chat made an outside connection"


@pytest.fixture(scope="module")
def context(console):
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (install Debian's chromium, e.g. `make browser`)")
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")

        def guard(route):
            if route.request.url.startswith("http://127.0.0.1:"):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        ctx.route("**/*", guard)
        yield ctx
        browser.close()
    assert outside == [], f"the console page asked for outside resources: {outside}"


def shot(page, name: str, full_page: bool = True) -> None:
    """Save a screenshot when CONSOLE_SCREENSHOTS names a folder (the README's come from here)."""
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    if folder:
        page.mouse.move(0, 0)
        page.screenshot(path=str(Path(folder) / f"console-{name}.png"), full_page=full_page)


def log_in(page, url: str, password: str = PASSWORD, name: str = STAFF):
    page.goto(url + "login")
    if page.url == url + "documents":  # this browser context is logged in already
        return
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form[action='/login'] button")


def flash_texts(page) -> list[str]:
    return [t.strip() for t in page.locator(".flash").all_inner_texts()]


def reindex_in_page(page, url: str) -> str:
    """Press 开始重建; return the HTML shown right after (progress bar) and wait for the result."""
    page.goto(url + "reindex")
    with page.expect_response(lambda r: r.url == url + "reindex" and r.request.method == "GET") as first:
        page.click("#reindex-start")
    html = first.value.text()  # before the page's script reloads it
    page.wait_for_selector("#reindex-result", timeout=180_000)
    return html


# ---------------------------------------------------------------------------------- tests


def test_console_is_off_without_a_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_ADMIN_PASSWORD"}
    env |= {
        "ASSISTANT_DATA": str(tmp_path),
        "ASSISTANT_CORPUS": str(tmp_path),
        "ASSISTANT_INDEX": str(tmp_path),
    }
    out = subprocess.run(
        assistant_command() + ["admin", "--port", "1"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert "console is off" in out.stderr and "ASSISTANT_ADMIN_PASSWORD" in out.stderr
    assert "admin-password" in out.stderr  # names the file a hashed password goes in


def test_upload_preview_publish_reindex_answer_delete_refuse(console, context):
    for question in (OCEAN_QUESTION, TEA_QUESTION):  # residents ask first, and are refused
        assert console.chat_answer(question)["refused"]
    page = context.new_page()
    log_in(page, console.url)
    assert page.url == console.url + "documents"
    (cookie,) = [c for c in context.cookies() if c["name"] == "console_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    headers = page.request.get(console.url + "documents").headers
    assert "default-src 'none'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"

    page.set_input_files(
        "#files",
        [
            {"name": OCEAN_NAME, "mimeType": "application/octet-stream", "buffer": ocean_docx()},
            {"name": TEA_NAME, "mimeType": "text/plain", "buffer": TEA_TEXT.encode("gbk")},
        ],
    )
    page.click("form[action='/upload'] button")
    page.wait_for_selector("#pending-h")
    assert f"{OCEAN_NAME} 已上传，等待预览和发布。" in flash_texts(page)
    assert f"{TEA_NAME} 已上传，等待预览和发布。" in flash_texts(page)
    assert OCEAN_NAME not in console.written() and f"pending/{OCEAN_NAME}" in console.written()

    # Preview: how the .docx was read, and the refused question it now answers.
    page.click(f"a[href='/preview?name={OCEAN_NAME}&pending=1']")
    page.wait_for_selector("#pv-title", timeout=120_000)
    assert page.inner_text("#pv-title") == OCEAN_TITLE
    assert page.inner_text("#pv-encoding") == "（文件格式自带）"
    assert "平台概况" in page.locator("section h3").all_inner_texts()
    assert OCEAN_FACT in page.locator("ol.sentences li").all_inner_texts()
    answered = page.inner_text("#pv-answered")
    assert OCEAN_QUESTION in answered and "42个" in answered and TEA_QUESTION not in answered
    shot(page, "preview")
    page.click("form[action='/publish'] button")
    page.wait_for_selector(".flash-ok")
    assert OCEAN_NAME in console.written()

    # Preview of the GBK text: decoding and line repair named, its own question answered.
    page.click(f"a[href='/preview?name={TEA_NAME}&pending=1']")
    page.wait_for_selector("#pv-title", timeout=120_000)
    assert page.inner_text("#pv-encoding") == "GB18030 (GBK)"
    assert "合并了 1 处" in page.inner_text("#pv-repairs")
    assert "崂山区茶园物联网项目于2024年完成一期建设，在茶园部署土壤墒情传感器860套。" in (
        page.locator("ol.sentences li").all_inner_texts()
    )
    assert TEA_QUESTION in page.inner_text("#pv-answered")
    page.click("form[action='/publish'] button")
    page.wait_for_selector(".flash-ok")
    statuses = {
        row.locator("td.name").inner_text(): row.locator(".badge").inner_text()
        for row in page.locator("tbody tr").all()
    }
    assert statuses[OCEAN_NAME] == statuses[TEA_NAME] == "新文件，未重建索引"
    shot(page, "documents")
    assert console.chat_answer(OCEAN_QUESTION)["refused"]  # published, not yet indexed

    # Reindex from the page: the progress bar while it builds, then the report.
    first = reindex_in_page(page, console.url)
    assert 'id="reindex-progress"' in first, "the page showed no progress bar while building"
    assert "重建完成" in page.inner_text("#reindex-result")
    figures = page.inner_text("#reindex-figures")
    assert re.search(rf"文档\s+{SYNTHETIC_DOCUMENTS + 3}\b", figures)
    shot(page, "reindex")

    result = console.wait_for_chat(OCEAN_QUESTION, refused=False)
    assert not result["refused"] and "42个" in result["text"]
    assert any(c["title"] == OCEAN_TITLE for c in result["citations"])

    # Delete it again: the file leaves the corpus (kept aside), and after a reindex the chat refuses.
    page.goto(console.url + f"edit?name={OCEAN_NAME}")
    page.check("#confirm")
    page.click("form[action='/delete'] button")
    page.wait_for_selector(".flash-ok")
    assert OCEAN_NAME not in console.written()
    assert list((console.data / "console" / "deleted").glob(f"*-{OCEAN_NAME}"))
    assert "已删除，未重建索引" in page.locator("tr", has_text=OCEAN_NAME).inner_text()
    reindex_in_page(page, console.url)
    assert "重建完成" in page.inner_text("#reindex-result")
    assert console.wait_for_chat(OCEAN_QUESTION, refused=True)["refused"]
    assert not console.chat_answer(TEA_QUESTION)["refused"]
    page.close()


def test_page_and_cli_never_build_at_once_and_a_failed_build_changes_nothing(console, context):
    from filelock import FileLock

    page = context.new_page()
    log_in(page, console.url)
    live = (console.index / "CURRENT").read_text()
    (console.corpus / "later.md").write_text("# 稍后\n\n这一篇要等下次重建。\n", encoding="utf-8")
    with FileLock(str(console.index / ".lock")):  # what `assistant reindex` holds while it builds
        reindex_in_page(page, console.url)
    result = page.inner_text("#reindex-result")
    assert "重建失败，线上索引没有改动" in result and "another reindex is already running" in result
    assert (console.index / "CURRENT").read_text() == live
    (console.corpus / "later.md").unlink()
    page.close()


def test_catalogue_edit_is_written_to_catalogue_toml(console, context):
    import tomllib

    page = context.new_page()
    log_in(page, console.url)
    page.goto(console.url + "edit?name=000_digital-qingdao.md")
    page.fill("#source", "青岛早报（管理台测试）")
    page.fill("#date", "2024-13")
    page.click("form[action='/edit'] button")
    assert any("YYYY-MM-DD" in t for t in flash_texts(page))  # a bad date is named, nothing written
    assert not (console.corpus / "catalogue.toml").exists()
    page.fill("#date", "2024-08-07")
    page.fill("#questions", "青岛地铁6号线有什么特别之处？\n青岛行政村5G覆盖率是多少？")
    page.click("form[action='/edit'] button")
    page.wait_for_selector(".flash-ok")
    catalogue = tomllib.loads((console.corpus / "catalogue.toml").read_text(encoding="utf-8"))
    assert catalogue["000_digital-qingdao.md"]["source"] == "青岛早报（管理台测试）"
    assert catalogue["000_digital-qingdao.md"]["date"] == "2024-08-07"
    assert len(catalogue["000_digital-qingdao.md"]["questions"]) == 2
    page.close()


def test_forms_without_the_csrf_token_are_rejected(console, context):
    page = context.new_page()
    log_in(page, console.url)
    before = console.written()
    payload = {"name": "x.md", "mimeType": "text/markdown", "buffer": "# x\n\n新内容。\n".encode()}
    r = page.request.post(console.url + "upload", multipart={"files": payload})
    assert r.status == 403 and "CSRF" in r.text()
    for route, form in [
        ("reindex", {"csrf": "forged"}),
        ("delete", {"name": TEA_NAME, "confirm": "on"}),
        ("edit", {"name": TEA_NAME, "title": "伪造"}),
        ("logout", {}),
    ]:
        r = page.request.post(console.url + route, form=form)
        assert r.status == 403, route
    assert console.written() == before
    page.goto(console.url + "documents")  # still logged in: the forged logout did nothing
    assert page.url.endswith("/documents")
    page.close()


def test_bad_uploads_get_clear_messages_and_write_nothing(console, context):
    page = context.new_page()
    log_in(page, console.url)
    before = console.written()
    page.set_input_files(
        "#files",
        [
            {
                "name": "big.md",
                "mimeType": "text/markdown",
                "buffer": b"# big\n\n" + b"a" * (10 * 1024 * 1024),
            },
            {"name": "tool.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00" * 64},
        ],
    )
    page.click("form[action='/upload'] button")
    page.wait_for_selector(".flash-error")
    messages = flash_texts(page)
    assert any(m.startswith("big.md：文件太大") for m in messages), messages
    assert any("不支持的文件类型 .exe" in m for m in messages), messages
    # A browser sends bare file names; a crafted request can carry a path.
    token = csrf_token(page.content())
    payload = {"name": "../x.md", "mimeType": "text/markdown", "buffer": "# x\n\n内容。\n".encode()}
    r = page.request.post(console.url + "upload", multipart={"files": payload, "csrf": token})
    assert "文件名“../x.md”含有路径" in r.text()  # the redirect to the document list, with the message
    many = [{"name": f"n{i}.md", "mimeType": "text/markdown", "buffer": b"# n\n\nx\n"} for i in range(11)]
    page.set_input_files("#files", many)
    page.click("form[action='/upload'] button")
    assert "一次最多上传 10 个文件" in page.inner_text("main")
    assert console.written() == before
    assert not (console.corpus.parent / "x.md").exists() and not (console.data / "console" / "x.md").exists()
    page.close()


def test_csv_export_is_the_clis_own(console, context):
    formula = "=1+1 深圳的智慧城市排名第几？"
    assert console.chat_answer(formula)["refused"]
    page = context.new_page()
    log_in(page, console.url)
    page.goto(console.url + "feedback?q=深圳")
    assert formula in page.inner_text("#un-h + div")  # grouped, filtered, newest first
    from assistant.feedback import FeedbackStore

    store = FeedbackStore(console.data / "feedback.sqlite3")
    store.record_vote(
        "a1", "down", {"question": "地铁票价多少？", "text": "不对的回答", "index_version": "v"}
    )
    assert store.flush(timeout=10)
    page.goto(console.url + "feedback?vote=down")
    assert "地铁票价多少？" in page.inner_text("#votes-h + div") and "没用" in page.inner_text(
        "#votes-h + div"
    )
    page.goto(console.url + "feedback?vote=up")
    assert "地铁票价多少？" not in page.content()
    exported = page.request.get(console.url + "feedback.csv").body()
    page.close()
    cli_file = console.data.parent / "cli.csv"
    env = os.environ | {"ASSISTANT_DATA": str(console.data)}
    subprocess.run(assistant_command() + ["feedback", "--export", str(cli_file)], env=env, check=True)
    assert exported == cli_file.read_bytes()
    assert "'" + formula in exported.decode("utf-8-sig")  # the formula is defused


def test_pages_have_no_serious_accessibility_violations_and_fit_a_phone(console, context):
    from axe_playwright_python.sync_playwright import Axe

    page = context.new_page()
    axe = Axe()
    page.goto(console.url + "login")
    pages = {"login": None}
    log_in(page, console.url)
    pages |= {
        "documents": "documents",
        "edit": f"edit?name={TEA_NAME}",
        "preview": f"preview?name={TEA_NAME}&pending=0",
        "reindex": "reindex",
        "feedback": "feedback",
    }
    problems = []
    for name, path in pages.items():
        if path is None:
            continue
        page.goto(console.url + path)
        page.wait_for_load_state()
        for v in axe.run(page).response["violations"]:
            if v["impact"] in ("serious", "critical"):
                problems.append(f"{name}: {v['id']} ({v['impact']}): {v['help']}")
        page.set_viewport_size({"width": 390, "height": 844})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is wider than a phone by {overflow}px"
        if name == "documents":
            shot(page, "phone", full_page=False)
        page.set_viewport_size({"width": 1280, "height": 900})
    if os.environ.get("CONSOLE_SCREENSHOTS"):
        page.goto(console.url + "feedback")
        shot(page, "feedback")
    page.close()
    # The login page, logged out.
    fresh = context.browser.new_context(locale="zh-CN")
    login_page = fresh.new_page()
    login_page.goto(console.url + "login")
    problems += [
        f"login: {v['id']}"
        for v in axe.run(login_page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    fresh.close()
    assert problems == []


def test_wrong_password_is_refused_and_repeated_failures_slow_down(console):
    """Last: it leaves this address throttled for a few seconds."""
    with httpx.Client(trust_env=False, timeout=30) as client:
        token = csrf_token(client.get(console.url + "login").text)
        statuses = []
        for _ in range(4):
            r = client.post(
                console.url + "login", data={"csrf": token, "name": "攻击者", "password": "guess"}
            )
            statuses.append(r.status_code)
            assert "documents" not in r.headers.get("location", "")
        assert statuses == [401, 401, 401, 401]  # the 4th failure starts the waiting
        r = client.post(console.url + "login", data={"csrf": token, "name": STAFF, "password": PASSWORD})
        assert r.status_code == 429 and "秒后再试" in r.text  # even the right password must wait
        assert client.get(console.url + "documents").status_code == 303  # not logged in
        r = client.post(console.url + "login", data={"name": STAFF, "password": PASSWORD})
        assert r.status_code == 403  # the login form needs its CSRF token too
    log = (console.data.parent / "admin.log").read_text(encoding="utf-8")
    assert "action=login-failed" in log and "action=login-throttled" in log
    assert f"staff={STAFF} ip=127.0.0.1 action=upload file='{TEA_NAME}'" in log
