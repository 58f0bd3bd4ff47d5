"""Routes and pages of the staff console.

Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript; one
small script only moves the reindex progress bar. Every POST needs the session's CSRF
token; every action is logged as ``staff=… ip=… action=…`` (the log line carries the time).
The Content-Security-Policy allows nothing but this server's own styles and script.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import config
from ..bodylimit import BodyLimitMiddleware
from ..corpus import CatalogueEntry, CorpusError, load_catalogue
from ..feedback import FeedbackStore
from .auth import LoginThrottle, PasswordCheck, Session, Sessions, csrf_ok
from .catalogue import set_entry
from .documents import (
    STATUS_LABELS,
    UploadError,
    corpus_file,
    delete,
    discard,
    document_rows,
    pending_names,
    preview,
    publish,
    stage_upload,
)
from .reindex import ReindexJob

log = logging.getLogger("assistant.console")

COOKIE = "console_session"
HERE = Path(__file__).resolve().parent
#: A request may carry this many bytes: the upload limit plus room for the form's other fields.
MAX_REQUEST_BYTES = config.ADMIN_MAX_UPLOAD_FILES * (config.MAX_FILE_BYTES + 4096) + 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def build_console(
    corpus_dir: Path | str | None = None,
    index_dir: Path | str | None = None,
    store: FeedbackStore | None = None,
    password: PasswordCheck | None = None,
) -> FastAPI:
    """The console app; raises ``ConsoleOff`` when no password is configured."""
    password = password or PasswordCheck.configured()
    corpus = Path(corpus_dir or config.corpus_dir())
    index = Path(index_dir or config.index_dir())
    store = store or FeedbackStore()
    sessions, throttle, job = Sessions(), LoginThrottle(), ReindexJob(corpus, index)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
    env.filters["isotime"] = lambda t: str(t).replace("T", " ").replace("+00:00", " UTC")
    env.filters["localtime"] = lambda t: datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else ""

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(_Early)
    async def early(request: Request, exc: _Early) -> Response:
        return exc.response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.add_middleware(_UploadLimit, max_bytes=MAX_REQUEST_BYTES)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    # ------------------------------------------------------------------ helpers

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE))

    def page(request: Request, s: Session, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        body = env.get_template(template).render(
            session=s, flash=s.take_flash(), path=request.url.path, **ctx
        )
        return HTMLResponse(body, status_code=status)

    def with_cookie(request: Request, response: Response, s: Session) -> Response:
        response.set_cookie(
            COOKIE,
            s.sid,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=config.ADMIN_SESSION_HOURS * 3600,
        )
        return response

    def staff(request: Request) -> Session:
        """The logged-in session; anyone else is sent to the login page."""
        s = session_of(request)
        if s is None or s.staff is None:
            raise _Early(RedirectResponse("/login", status_code=303))
        return s

    async def posted(request: Request) -> tuple[Session, Any]:
        """The logged-in session and the form of a POST carrying the session's CSRF token."""
        s = staff(request)
        try:
            form = await request.form(max_files=config.ADMIN_MAX_UPLOAD_FILES, max_fields=100)
        except HTTPException as exc:  # Starlette's own limits (too many files or fields)
            message = f"表单无法读取（{exc.detail}）：一次最多上传 {config.ADMIN_MAX_UPLOAD_FILES} 个文件。"
            raise _Early(_page_error(env, 400, message)) from None
        if not csrf_ok(s, form.get("csrf")):
            audit(request, s, "rejected", reason="missing or wrong CSRF token")
            message = "表单缺少有效的安全令牌（CSRF），请求已拒绝。请刷新页面后重试。"
            raise _Early(_page_error(env, 403, message))
        return s, form

    def audit(request: Request, s: Session | None, action: str, **details: Any) -> None:
        who = (s and s.staff) or "-"
        ip = request.client.host if request.client else "-"
        extra = " ".join(f"{k}={v!r}" for k, v in details.items())
        log.info("staff=%s ip=%s action=%s %s", who, ip, action, extra)

    def back(to: str = "/documents") -> RedirectResponse:
        return RedirectResponse(to, status_code=303)

    # -------------------------------------------------------------------- login

    @app.get("/login")
    def login_page(request: Request):
        s = session_of(request) or sessions.new()
        if s.staff:
            return back()
        return with_cookie(request, page(request, s, "login.html"), s)

    @app.post("/login")
    async def login(request: Request):
        s = session_of(request)
        form = await request.form()
        ip = request.client.host if request.client else "-"
        if s is None or not csrf_ok(s, form.get("csrf")):
            audit(request, s, "login-rejected", reason="missing or wrong CSRF token")
            return _page_error(env, 403, "登录表单已过期或缺少安全令牌（CSRF），请重新打开登录页。")
        wait = throttle.wait_seconds(ip)
        if wait > 0:
            audit(request, s, "login-throttled", wait=round(wait, 1))
            s.say("error", f"失败次数过多，请 {wait:.0f} 秒后再试。")
            return page(request, s, "login.html", status=429)
        name = " ".join(str(form.get("name", "")).split())[:40]
        if not name or not password(str(form.get("password", ""))):
            throttle.failed(ip)
            audit(request, s, "login-failed", name=name)
            s.say("error", "姓名不能为空，或密码不对。" if not name else "密码不对。")
            return page(request, s, "login.html", status=401)
        throttle.succeeded(ip)
        s = sessions.log_in(s, name)
        audit(request, s, "login")
        return with_cookie(request, back(), s)

    @app.post("/logout")
    async def logout(request: Request):
        s, form = await posted(request)
        audit(request, s, "logout")
        sessions.end(s)
        response = back("/login")
        response.delete_cookie(COOKIE)
        return response

    # ---------------------------------------------------------------- documents

    @app.get("/")
    def home():
        return back()

    @app.get("/documents")
    def documents_page(request: Request):
        s = staff(request)
        try:
            rows = document_rows(corpus, index)
        except CorpusError as exc:  # a hand-edited catalogue.toml with a mistake
            s.say("error", f"语料库无法读取：{exc}")
            rows = []
        counts = Counter(r.status for r in rows)
        return page(
            request,
            s,
            "documents.html",
            rows=rows,
            counts=counts,
            labels=STATUS_LABELS,
            pending=pending_names(),
            max_bytes=config.MAX_FILE_BYTES,
            max_files=config.ADMIN_MAX_UPLOAD_FILES,
        )

    @app.post("/upload")
    async def upload(request: Request):
        s, form = await posted(request)
        files = [f for f in form.getlist("files") if hasattr(f, "filename") and f.filename]
        if not files:
            s.say("error", "没有选择文件。")
        overwrite = form.get("overwrite") == "on"
        for f in files:
            data = await f.read(config.MAX_FILE_BYTES + 1)
            try:
                # Reading a .docx or .pdf takes a while: not on the event loop.
                name = await run_in_threadpool(stage_upload, f.filename, data, overwrite, corpus)
            except UploadError as exc:
                audit(request, s, "upload-refused", file=f.filename, reason=str(exc))
                s.say("error", str(exc))
            else:
                audit(request, s, "upload", file=name, bytes=len(data), overwrite=overwrite)
                s.say("ok", f"{name} 已上传，等待预览和发布。")
        return back()

    @app.get("/preview")
    def preview_page(request: Request, name: str, pending: int = 1):
        s = staff(request)
        try:
            p = preview(name, bool(pending), corpus, index, store)
        except UploadError as exc:
            s.say("error", str(exc))
            return back()
        audit(request, s, "preview", file=name, pending=bool(pending), now_answers=len(p.answered))
        return page(request, s, "preview.html", p=p)

    async def on_file(request: Request, action: str, act, done: str, on_error: str = "/documents"):
        """One POST on one named file: the session and token checked, ``act`` done, logged, told."""
        s, form = await posted(request)
        name = str(form.get("name", ""))
        try:
            details = await run_in_threadpool(act, name, form)
        except (UploadError, CorpusError) as exc:
            s.say("error", str(exc))
            return back(on_error.format(name=quote(name)))
        audit(request, s, action, file=name, **details)
        s.say("ok", done.format(name=name, **details))
        return back()

    def publish_one(name: str, form) -> dict:
        replaced = (corpus / name).exists()
        publish(name, corpus)
        return {"replaced": replaced}

    def discard_one(name: str, form) -> dict:
        discard(name)
        return {}

    def delete_one(name: str, form) -> dict:
        if form.get("confirm") != "on":
            raise UploadError(f"要删除 {name}，请先勾选“确认删除”。")
        return {"kept_at": str(delete(name, corpus))}

    @app.post("/publish")
    async def publish_file(request: Request):
        return await on_file(
            request, "publish", publish_one, "{name} 已放入语料库。重建索引后居民才能查到它。"
        )

    @app.post("/discard")
    async def discard_file(request: Request):
        return await on_file(request, "discard", discard_one, "已放弃上传的 {name}。")

    @app.post("/delete")
    async def delete_file(request: Request):
        done = "{name} 已从语料库移除（副本保存在 {kept_at}）。重建索引后居民就查不到它了。"
        return await on_file(request, "delete", delete_one, done, on_error="/edit?name={name}")

    @app.get("/edit")
    def edit_page(request: Request, name: str):
        s = staff(request)
        try:
            corpus_file(corpus, name)
            entry = load_catalogue(corpus).get(name, CatalogueEntry())
        except (UploadError, CorpusError) as exc:
            s.say("error", str(exc))
            return back()
        return page(request, s, "edit.html", name=name, entry=entry)

    @app.post("/edit")
    async def edit(request: Request):
        s, form = await posted(request)
        name = str(form.get("name", ""))
        title, source, date = (
            " ".join(str(form.get(k, "")).split()) or None for k in ("title", "source", "date")
        )
        questions = tuple(q.strip() for q in str(form.get("questions", "")).splitlines() if q.strip())
        entry = CatalogueEntry(title, source, date, questions or None)
        try:
            corpus_file(corpus, name)
            await run_in_threadpool(set_entry, corpus, name, entry)
        except (UploadError, CorpusError) as exc:
            s.say("error", str(exc))
            return page(request, s, "edit.html", status=400, name=name, entry=entry)
        audit(
            request,
            s,
            "edit-catalogue",
            file=name,
            title=title,
            source=source,
            date=date,
            questions=questions,
        )
        s.say("ok", f"已保存 {name} 的标题、来源、日期和推荐问题（写入 catalogue.toml）。重建索引后生效。")
        return back()

    # ------------------------------------------------------------------ reindex

    @app.get("/reindex")
    def reindex_page(request: Request):
        s = staff(request)
        return page(request, s, "reindex.html", job=job.state)

    @app.get("/reindex/status")
    def reindex_status(request: Request):
        s = session_of(request)
        if s is None or s.staff is None:
            return JSONResponse({"error": "login required"}, status_code=401)
        return JSONResponse(job.state.as_json())

    @app.post("/reindex")
    async def reindex(request: Request):
        s, form = await posted(request)
        if job.start(s.staff or "-"):
            audit(request, s, "reindex-started")
        else:
            s.say("error", "已有一次重建正在进行，请等它完成。")
        return back("/reindex")

    # ---------------------------------------------------------------- residents

    @app.get("/feedback")
    def feedback_page(request: Request, q: str = "", vote: str = "", channel: str = ""):
        s = staff(request)
        from .residents import question_groups, recent_votes

        groups = question_groups(store, q, channel)
        votes = recent_votes(store, q, vote)
        summary = store.summary()
        return page(
            request,
            s,
            "feedback.html",
            groups=groups,
            votes=votes,
            summary=summary,
            q=q,
            vote=vote,
            channel=channel,
        )

    @app.get("/feedback.csv")
    def feedback_csv(request: Request):
        s = staff(request)
        with tempfile.TemporaryDirectory() as tmp:
            rows = store.export_csv(Path(tmp) / "feedback.csv")
            data = (Path(tmp) / "feedback.csv").read_bytes()
        audit(request, s, "export-csv", rows=rows)
        stamp = time.strftime("%Y%m%d")
        return Response(
            data,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="feedback-{stamp}.csv"'},
        )

    return app


class _Early(Exception):
    """Ends a request with this response (the login page, a refusal) from inside a helper."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


class _UploadLimit(BodyLimitMiddleware):
    """The chat's body limit, sized for uploads and worded for staff."""

    def message(self) -> str:
        return (
            f"上传内容太大：一次最多 {config.ADMIN_MAX_UPLOAD_FILES} 个文件，"
            f"每个不超过 {config.MAX_FILE_BYTES:,} 字节（请求上限 {self.max_bytes:,} 字节）"
        )


def _page_error(env: Environment, status: int, message: str) -> HTMLResponse:
    body = env.get_template("error.html").render(
        session=None, flash=[], path="", status=status, message=message
    )
    return HTMLResponse(body, status_code=status)


def serve_console(host: str = config.WEB_HOST, port: int = config.ADMIN_PORT) -> None:
    """Run the console (blocking) on ``host:port``; raises ``ConsoleOff`` without a password."""
    import uvicorn

    app = build_console()
    log.info(
        "staff console on http://%s:%d/ (corpus %s, index %s)",
        host,
        port,
        config.corpus_dir(),
        config.index_dir(),
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
