"""The resident-facing Gradio chat, and the ``ask`` API endpoint for developers.

Design choices, and why:

- Every chat message is HTML that this module builds from the structured ``Answer``
  fields with ``html.escape`` on all user and corpus text, so neither a question nor an
  article can inject markup; ``Answer.text`` is only mined for its prose lines.
- The conversation lives in a ``gr.State`` list of exchanges (the answer dict plus its
  rendered HTML); the chatbot is redrawn from it, so the follow-up history handed to
  ``answer()`` is exactly what the resident saw, and a 👍/👎 maps to one exchange.
- Nothing leaves the machine: analytics off before Gradio is imported, system fonts
  (the CJK fonts of the resident's own device), no server-side rendering node, no
  share link; and since the page needs no file from disk, Gradio may serve none.
- The retriever is obtained through ``current_retriever()`` only: one ``LiveIndex`` per
  index folder, so a running server switches to a new index version within seconds of a
  reindex, while each question keeps the retriever it started with.
"""

from __future__ import annotations

import os

# Must precede the first ``import gradio``: Gradio reads it at import time.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import html  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from . import config  # noqa: E402
from .answering import Answer, Citation, Turn, answer  # noqa: E402
from .bodylimit import BodyLimitMiddleware  # noqa: E402
from .feedback import FeedbackStore  # noqa: E402
from .retrieval import LiveIndex, QuestionError, Retriever  # noqa: E402

TITLE = "青岛数字问答"
INTRO = "关于“数字青岛”建设的问题，这里只用公开报道的原文回答，每句都注明出处；资料里没有的，会直接告诉你。"

#: Shown as clickable examples; each is answered by the committed corpus (see tests/test_web.py).
EXAMPLES = (
    "行政村5G覆盖率是多少？",
    "青岛是哪一年启动数字青岛2.0工程的？",
    "青岛有多少个数据中心？",
    "真情巴士集团的首席数据官是谁？",
    "什么是“双12”？",
    "市民能不能在线上订票？",
)

#: The resident's own system fonts: nothing is fetched, and CJK glyphs come from the OS.
FONT = [
    "system-ui",
    "-apple-system",
    "'PingFang SC'",
    "'Hiragino Sans GB'",
    "'Microsoft YaHei'",
    "'Noto Sans CJK SC'",
    "'Source Han Sans SC'",
    "sans-serif",
]
FONT_MONO = ["ui-monospace", "'Noto Sans Mono CJK SC'", "monospace"]

CSS = """
.gradio-container { max-width: 880px !important; margin: 0 auto !important; }
#qa-header .html-container { padding: 0 !important; }
#qa-header h1 { font-size: 1.6rem; margin: 0.2rem 0 0.3rem; }
#qa-header p { margin: 0; color: var(--body-text-color); opacity: 0.7; }
#qa-chat .qa-q { white-space: pre-wrap; overflow-wrap: anywhere; }
#qa-chat .qa-a p { margin: 0 0 0.5rem; }
#qa-chat .qa-quote { margin: 0.4rem 0 !important; padding: 0.3rem 0.7rem; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 0 6px 6px 0; }
#qa-chat .qa-quote sup, #qa-chat .qa-n { color: var(--color-accent); font-weight: 600; }
#qa-chat .qa-cite { margin: 0.35rem 0 0; border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0.3rem 0.6rem; font-size: 0.92em; }
#qa-chat .qa-cite summary { cursor: pointer; overflow-wrap: anywhere; }
#qa-chat .qa-cite summary .qa-hint { color: var(--body-text-color-subdued); font-size: 0.9em; }
#qa-chat .qa-cite[open] .qa-hint { display: none; }
#qa-chat .qa-passage { margin: 0.4rem 0; line-height: 1.7; overflow-wrap: anywhere; }
#qa-chat .qa-passage mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
#qa-chat .qa-meta { color: var(--body-text-color); opacity: 0.75; font-size: 0.9em; overflow-wrap: anywhere; }
#qa-chat .qa-suggest { margin-top: 0.5rem; font-weight: 600; }
#qa-input .submit-button { background: var(--button-primary-background-fill);
  color: var(--button-primary-text-color); }
@media (max-width: 480px) {
  #qa-chat .message-row { margin-left: 4px !important; margin-right: 4px !important;
    max-width: calc(100% - 16px) !important; }
  #qa-header h1 { font-size: 1.35rem; }
}
"""

#: The page margins, which Gradio's scoped ``css`` cannot reach (it only styles inside ``.contain``).
HEAD = """<style>
@media (max-width: 480px) {
  .gradio-container > .main { padding-left: 8px !important; padding-right: 8px !important; }
}
</style>"""

_CITE_LINE = re.compile(r"\[\d+\] ")


# ------------------------------------------------------------------------ retriever

_live_indexes: dict[Path, LiveIndex] = {}
_live_indexes_lock = threading.Lock()


def current_retriever(index_dir: Path | str | None = None) -> Retriever:
    """The retriever of the live index version in ``index_dir``, as of now.

    Call it once per question and keep the result: a reindex switches later calls to the
    new version (checked at most once a second), while this question finishes on its own.
    """
    key = Path(index_dir or config.index_dir()).resolve()
    with _live_indexes_lock:
        if key not in _live_indexes:
            _live_indexes[key] = LiveIndex(key)
        live = _live_indexes[key]
    return live.get()


# ------------------------------------------------------------------------ rendering


def _esc(text: str) -> str:
    """Escaped text that stays on one line, so Markdown sees one raw HTML block."""
    return html.escape(text, quote=True).replace("\r", "").replace("\n", "<br>")


def _prose(text: str) -> tuple[list[str], str | None]:
    """The prose paragraphs of ``Answer.text`` and the heading of its suggestion list.

    Quotes, source lines and suggestion bullets are dropped: they are drawn from the
    structured fields instead, so only notices, lead-ins and refusal reasons remain.
    """
    prose: list[str] = []
    heading = None
    for para in text.split("\n\n"):
        lines = [line for line in para.splitlines() if line.strip()]
        if not lines or lines[0].startswith(">"):
            continue
        rest = lines[1:]
        if rest and all(line.startswith("- ") for line in rest):
            heading = lines[0]
        elif rest and all(_CITE_LINE.match(line) for line in rest):
            continue
        else:
            prose.append(" ".join(lines))
    return prose, heading


def _highlighted_passage(c: Citation) -> str:
    """The source passage, escaped, with the quoted sentence in a ``<mark>``."""
    at = c.start - c.passage_start
    if not (0 <= at and c.passage[at : at + len(c.quote)] == c.quote):
        at = c.passage.find(c.quote)
    if at < 0:
        return f"{_esc(c.passage)}<br><mark>{_esc(c.quote)}</mark>"
    end = at + len(c.quote)
    return f"{_esc(c.passage[:at])}<mark>{_esc(c.quote)}</mark>{_esc(c.passage[end:])}"


def _citation_html(c: Citation) -> str:
    where = " · ".join(_esc(x) for x in (c.section, c.date) if x)
    meta = " · ".join(_esc(x) for x in (f"《{c.title}》", c.section, c.source, c.date) if x)
    return (
        f'<details class="qa-cite"><summary><span class="qa-n">[{c.n}]</span> 《{_esc(c.title)}》'
        f'{" · " + where if where else ""} <span class="qa-hint">（点击查看原文）</span></summary>'
        f'<div class="qa-passage">{_highlighted_passage(c)}</div>'
        f'<div class="qa-meta">出处：{meta}</div></details>'
    )


def render_question(question: str, truncated: bool) -> str:
    """The resident's question exactly as text (escaped), marked when it was cut."""
    return f'<div class="qa-q">{_esc(question)}{"…" if truncated else ""}</div>'


def render_answer(a: Answer) -> str:
    """An answer as one line of safe HTML: prose, quotes with [n], expandable citations."""
    prose, heading = _prose(a.text)
    parts = [f"<p>{_esc(p)}</p>" for p in prose]
    if a.refused:
        if a.suggestions:
            parts.append(f'<p class="qa-suggest">{_esc(heading or "你可以试着问：")}</p>')
        return f'<div class="qa-a qa-refused">{"".join(parts)}</div>'
    for c in a.citations:
        parts.append(f'<blockquote class="qa-quote">{_esc(c.quote)} <sup>[{c.n}]</sup></blockquote>')
    parts.append('<div class="qa-cites">' + "".join(_citation_html(c) for c in a.citations) + "</div>")
    return f'<div class="qa-a">{"".join(parts)}</div>'


def _exchange(a: Answer) -> dict[str, Any]:
    """What the session keeps per question: the API dict (plus index version) and its HTML."""
    return {
        "id": uuid.uuid4().hex,
        "answer": a.to_dict() | {"index_version": a.index_version},
        "question_html": render_question(a.question, a.truncated),
        "answer_html": render_answer(a),
    }


def chat_messages(exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chatbot's messages; the suggestions of a refusal are clickable options on the last one."""
    messages: list[dict[str, Any]] = []
    for i, ex in enumerate(exchanges):
        messages.append({"role": "user", "content": ex["question_html"]})
        reply: dict[str, Any] = {"role": "assistant", "content": ex["answer_html"]}
        suggestions = ex["answer"]["suggestions"]
        if i == len(exchanges) - 1 and ex["answer"]["refused"] and suggestions:
            reply["options"] = [{"value": s, "label": s} for s in suggestions]
        messages.append(reply)
    return messages


# --------------------------------------------------------------------------- history


def turns_from_history(history: Any) -> list[Turn]:
    """Earlier exchanges for ``answer()``, from any of the shapes the API accepts.

    - ``[[question, answer], ...]`` pairs, where ``answer`` is text or an earlier result dict;
    - ``[{"question": ..., "answer": ...}, ...]``;
    - chat messages ``[{"role": "user", "content": ...}, {"role": "assistant", ...}, ...]``.
    """
    if not history:
        return []
    if not isinstance(history, list):
        raise QuestionError("history must be a list")

    def text(value: Any) -> str:
        if isinstance(value, dict):
            value = value.get("text", "")
        if not isinstance(value, str):
            raise QuestionError("each history entry needs a question and an answer as text")
        return value

    turns: list[Turn] = []
    pending: str | None = None
    for item in history:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            turns.append(Turn(text(item[0]), text(item[1])))
        elif isinstance(item, dict) and "question" in item:
            turns.append(Turn(text(item["question"]), text(item.get("answer", ""))))
        elif isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            if item["role"] == "user":
                pending = text(item.get("content", ""))
            elif pending is not None:
                turns.append(Turn(pending, text(item.get("content", ""))))
                pending = None
        else:
            raise QuestionError(
                "history entries must be [question, answer] pairs, {question, answer} objects "
                "or {role, content} messages"
            )
    return turns


# ------------------------------------------------------------------------------ app


def build_app(index_dir: Path | str | None = None, store: FeedbackStore | None = None) -> gr.Blocks:
    """The chat page plus the one public endpoint ``ask``; launch it with ``launch_options()``."""
    store = store or FeedbackStore()

    def ask(question: str, history: list | None = None) -> dict:
        """Answer a question about 数字青岛 from the sources (the JSON of `assistant ask --json`).

        history: earlier turns, oldest first, as [question, answer] pairs, {"question", "answer"}
        objects or {"role", "content"} chat messages; an answer may be an earlier result dict.
        """
        try:
            result = answer(question, turns_from_history(history), retriever=current_retriever(index_dir))
        except QuestionError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        data = result.to_dict()
        if result.refused:
            store.log_unanswered(data | {"index_version": result.index_version}, channel="api")
        return data

    def respond(question: str, exchanges: list[dict[str, Any]]):
        if not question or not question.strip():
            return gr.skip(), gr.skip(), ""
        history = [Turn(ex["answer"]["question"], ex["answer"]["text"]) for ex in exchanges]
        try:
            result = answer(question, history, retriever=current_retriever(index_dir))
        except QuestionError as exc:
            raise gr.Error(f"请换个问法再试：{exc}", print_exception=False) from exc
        ex = _exchange(result)
        if result.refused:
            store.log_unanswered(ex["answer"], channel="web")
        exchanges = [*exchanges, ex]
        return chat_messages(exchanges), exchanges, ""

    def vote(exchanges: list[dict[str, Any]], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = int(index) // 2  # messages alternate question, answer
        if not 0 <= turn < len(exchanges):
            return
        choice = {True: "up", False: "down"}.get(data.liked) if isinstance(data.liked, bool) else None
        store.record_vote(exchanges[turn]["id"], choice, exchanges[turn]["answer"])
        if choice:
            gr.Info("谢谢你的反馈！")

    def pick_example(i: int) -> str:
        return EXAMPLES[i]

    def pick_option(evt: gr.SelectData) -> str:
        return str(evt.value)

    private: dict[str, Any] = {"api_visibility": "private"}
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.HTML(
            f"<h1>{html.escape(TITLE)}</h1><p>{html.escape(INTRO)}</p>", elem_id="qa-header", padding=False
        )
        chatbot = gr.Chatbot(
            elem_id="qa-chat",
            show_label=False,
            height="min(60vh, 640px)",
            min_height=320,
            layout="bubble",
            latex_delimiters=[],
            buttons=[],
            feedback_options=("Like", "Dislike"),
            placeholder="在下面输入问题，或点一个示例问题。",
        )
        exchanges = gr.State([])
        box = gr.Textbox(
            show_label=False,
            placeholder="输入你的问题，按回车发送",
            autofocus=True,
            submit_btn="提问",
            elem_id="qa-input",
        )
        examples = gr.Dataset(
            components=[gr.Textbox(visible=False)],
            samples=[[q] for q in EXAMPLES],
            label="试试这些问题",
            type="index",
            layout="gallery",
            elem_id="qa-examples",
        )
        answer_event = {"fn": respond, "inputs": [box, exchanges], "outputs": [chatbot, exchanges, box]}
        box.submit(**answer_event, **private)
        examples.click(pick_example, examples, box, queue=False, **private).then(**answer_event, **private)
        chatbot.option_select(pick_option, None, box, queue=False, **private).then(**answer_event, **private)
        chatbot.like(vote, exchanges, None, **private)
        chatbot.clear(lambda: [], None, exchanges, queue=False, **private)
        gr.api(ask, api_name="ask")
    app.queue(default_concurrency_limit=config.WEB_CONCURRENCY, max_size=config.WEB_QUEUE_SIZE)
    return app


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts only (its bundled fonts have no CJK glyphs)."""
    return gr.themes.Default(primary_hue="blue", font=FONT, font_mono=FONT_MONO)


def launch_options() -> dict[str, Any]:
    """``launch()`` arguments that keep the server offline, private and file-tight."""
    return {
        "theme": theme(),
        "css": CSS,
        "head": HEAD,
        "share": False,
        "ssr_mode": False,
        "pwa": False,
        "mcp_server": False,
        "show_error": False,
        "enable_monitoring": False,
        "footer_links": ["api"],
        # The page needs no file from disk (no uploads, images or downloads): refuse them all.
        "allowed_paths": [],
        "blocked_paths": [Path(config.PROJECT_DIR).anchor or "/"],
        "max_file_size": "1mb",
        # Gradio keeps ~23 KB of state per session for its last 10,000 sessions, and every API
        # call is a session: under load that is most of the server's memory growth
        # (benchmarks/RESULTS.md). 1,000 sessions still hold every chat in use.
        "state_session_capacity": 1000,
        # Every route, Gradio's and any added later, gets the same body limit (HTTP 413).
        "app_kwargs": {"middleware": [Middleware(BodyLimitMiddleware, max_bytes=config.MAX_BODY_BYTES)]},
    }


def warm_up(index_dir: Path | str | None = None) -> None:
    """Load the index, model and tokenizer now, so the first resident does not wait for them."""
    answer(EXAMPLES[0], retriever=current_retriever(index_dir))


def serve(
    host: str = config.WEB_HOST,
    port: int = config.WEB_PORT,
    index_dir: Path | str | None = None,
    block: bool = True,
) -> gr.Blocks:
    """Start the chat on ``host:port`` (loopback unless told otherwise)."""
    warm_up(index_dir)
    app = build_app(index_dir)
    app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=not block,
        quiet=False,
        **launch_options(),
    )
    return app
