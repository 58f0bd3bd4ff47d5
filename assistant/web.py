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

import gc  # noqa: E402
import html  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402
from starlette.datastructures import MutableHeaders  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402
from starlette.routing import Mount, Route  # noqa: E402

from . import config  # noqa: E402
from .answering import Answer, Citation, ShortAnswer, Turn, answer  # noqa: E402
from .answering.dates import display  # noqa: E402
from .answering.render import earlier_lead  # noqa: E402
from .api import AnswerJson, create_api  # noqa: E402
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
#qa-header p { margin: 0; color: var(--body-text-color-subdued); }
/* The clear button gets a row of its own instead of floating over the first message. */
#qa-chat .top-panel { position: static !important; margin-left: auto; }
/* Gradio fades message text to 80 %, which takes subdued text and links below 4.5:1. */
#qa-chat .message-wrap .prose.chatbot.md { opacity: 1; }
#qa-chat .qa-q { white-space: pre-wrap; overflow-wrap: anywhere; }
#qa-chat .qa-a p { margin: 0 0 0.5rem; }
#qa-chat .qa-quote { margin: 0.4rem 0 !important; padding: 0.3rem 0.7rem;
  border-left: 3px solid var(--color-accent); background: var(--background-fill-secondary);
  border-radius: 0 6px 6px 0; }
#qa-chat .qa-ref, #qa-chat .qa-n { color: var(--link-text-color); font-weight: 600; }
#qa-chat .qa-ref { text-decoration: none; font-size: 0.8em; vertical-align: super; line-height: 1;
  padding: 0.15em 0.25em; border-radius: 4px; }
#qa-chat .qa-ref:hover, #qa-chat .qa-ref:focus-visible { text-decoration: underline; }
#qa-chat .qa-cite { margin: 0.35rem 0 0; border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0.3rem 0.6rem; font-size: 0.92em; }
#qa-chat .qa-cite summary { cursor: pointer; overflow-wrap: anywhere; }
#qa-chat .qa-cite summary .qa-hint { color: var(--body-text-color-subdued); font-size: 0.9em; }
#qa-chat .qa-cite[open] .qa-hint { display: none; }
#qa-chat .qa-passage { margin: 0.4rem 0; line-height: 1.7; overflow-wrap: anywhere; }
#qa-chat .qa-passage mark, #qa-chat .qa-quote mark { background: #fde68a; color: #1f2937; padding: 0 1px;
  border-radius: 2px; }
#qa-chat .qa-quote mark, #qa-chat .qa-short strong { font-weight: 700; }
#qa-chat .qa-short { font-size: 1.05em; }
#qa-chat .qa-meta { color: var(--body-text-color-subdued); font-size: 0.9em; overflow-wrap: anywhere; }
#qa-chat .qa-suggest { margin-top: 0.5rem; font-weight: 600; }
/* Gradio's "scroll down" button floats over the messages: opaque, so no text shows through it. */
#qa-chat .scroll-down-button-container button { background: var(--background-fill-primary) !important;
  border: 1px solid var(--border-color-primary); }
#qa-input .submit-button { background: var(--button-primary-background-fill);
  color: var(--button-primary-text-color); }
#qa-input .submit-button:hover { background: var(--button-primary-background-fill-hover); }
@media (max-width: 480px) {
  /* A phone shows the header, the chat, the box and every example on one screen. */
  #qa-chat { height: min(42vh, 640px) !important; min-height: 260px !important; }
  #qa-chat .message-row { margin-left: 4px !important; margin-right: 4px !important;
    max-width: calc(100% - 16px) !important; }
  #qa-header h1 { font-size: 1.35rem; }
  #qa-header p { font-size: 0.9rem; }
  #qa-examples .gallery { gap: 6px !important; }
  #qa-examples .gallery-item { font-size: 0.85rem; padding: 0 !important; }
  #qa-examples .gallery-item .gallery { padding: 4px 8px !important; }
}
"""

#: The page margins, which Gradio's scoped ``css`` cannot reach (it only styles inside ``.contain``),
#: and the footer, whose "API" link is subdued text that must still read at 4.5:1.
HEAD = """<style>
@media (max-width: 480px) {
  .gradio-container > .main { padding-left: 8px !important; padding-right: 8px !important; }
}
footer, footer button, footer a { color: var(--body-text-color-subdued) !important; }
</style>"""

#: Runs before Gradio's own scripts (``ChinesePage`` puts it at the top of ``<head>``):
#: - Gradio translates its buttons, labels and footer into ``navigator.language``; the page is
#:   for residents of Qingdao, so it says zh-CN whatever the browser's locale.
#: - A few of Gradio's strings are English in every language (``GRADIO_ENGLISH``): the toast
#:   titles, some accessible names. They are replaced wherever they appear outside a message.
#: - Gradio names each chat message "bot's message: <its HTML source>"; a screen reader reads
#:   that markup aloud, so the name becomes a Chinese role and the message's visible text.
#: - A [n] marker in a quote opens its citation below and moves there (and the focus with it).
#: - A toast's header is a button holding the close button; it stays a plain header.
PAGE_SCRIPT = """<script>
(() => {
  const languages = Object.freeze(["zh-CN", "zh"]);
  Object.defineProperty(Navigator.prototype, "language", { get: () => languages[0], configurable: true });
  Object.defineProperty(Navigator.prototype, "languages", { get: () => languages, configurable: true });
  const ENGLISH = %s;
  const ROLES = { user: "你的问题：", bot: "回答：", assistant: "回答：" };
  const ATTRIBUTES = ["aria-label", "title", "alt"];
  const inMessage = (node) => node.parentElement && node.parentElement.closest(".message-content");
  const translate = (node) => {
    if (node.nodeType === 3) {
      const zh = ENGLISH[node.data.trim()];
      if (zh && !inMessage(node)) node.data = zh;
      return;
    }
    if (node.nodeType !== 1) return;
    if (node.matches(".toast-header[role=button]")) {  // it holds the close button: no button in a button
      node.removeAttribute("role");
      node.removeAttribute("tabindex");
    }
    for (const attribute of ATTRIBUTES) {
      const value = node.getAttribute(attribute);
      const message = value && /^(\\w+)'s message: /.exec(value);
      if (message) node.dataset.qaRole = ROLES[message[1]] || "";
      else if (value && ENGLISH[value]) node.setAttribute(attribute, ENGLISH[value]);
    }
    name(node);
  };
  const name = (el) => {
    if (el.dataset.qaRole === undefined) return;
    const label = el.dataset.qaRole + el.innerText.replace(/\\s+/g, " ").trim();
    if (el.getAttribute("aria-label") !== label) el.setAttribute("aria-label", label);
  };
  const walk = (root) => {
    translate(root);
    if (root.nodeType !== 1) return;
    const all = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    while (all.nextNode()) translate(all.currentNode);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "childList") r.addedNodes.forEach(walk);
      else translate(r.target);
      const host = r.target.parentElement && r.target.parentElement.closest("[data-qa-role]");
      if (host) name(host);
    }
  }).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ATTRIBUTES,
  });
  document.addEventListener("click", (event) => {
    const ref = event.target.closest && event.target.closest("a.qa-ref");
    const cite = ref && document.getElementById(ref.getAttribute("href").slice(1));
    if (!cite) return;
    event.preventDefault();
    cite.open = true;
    (cite.querySelector("mark") || cite).scrollIntoView({ block: "center" });
    cite.querySelector("summary").focus({ preventScroll: true });
  });
})();
</script>"""

#: Gradio's strings that its zh-CN translation leaves in English (toast titles, accessible names).
GRADIO_ENGLISH = {
    "Info": "提示",
    "Error": "出错了",
    "Warning": "注意",
    "Success": "完成",
    "Close": "关闭",
    "Liked": "已赞",
    "Disliked": "已踩",
    "chatbot conversation": "对话记录",
    "Loading response": "正在回答",
    "Scroll down": "滚动到底部",
    "Feedback": "反馈",
    "Gradio footer navigation": "页脚",
    "Stop Recording": "停止录制",
}
PAGE_SCRIPT %= json.dumps(GRADIO_ENGLISH, ensure_ascii=False)

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
        if lines and lines[0].startswith(">"):  # the quotes: what follows them is drawn from fields
            break
        if not lines:
            continue
        rest = lines[1:]
        if rest and all(line.startswith("- ") for line in rest):
            heading = lines[0]
        elif rest and all(_CITE_LINE.match(line) for line in rest):
            continue
        else:
            prose.append(" ".join(lines))
    return prose, heading


def _span_in(c: Citation, short: ShortAnswer | None) -> tuple[int, int] | None:
    """Where the short answer lies in quote ``c``, from the fields (``ShortAnswer.start`` and
    ``Citation.start``, both offsets into the document); None when it is not in this quote."""
    if short is None or short.citation_n != c.n:
        return None
    at, end = short.start - c.start, short.end - c.start
    return (at, end) if 0 <= at < end <= len(c.quote) and c.quote[at:end] == short.text else None


def _marked_quote(c: Citation, short: ShortAnswer | None, tag: str) -> str:
    """Quote ``c``, escaped, with the short answer in ``tag`` when it lies there."""
    span = _span_in(c, short)
    if span is None:
        return _esc(c.quote)
    at, end = span
    inner = f'<{tag} class="qa-span">{_esc(c.quote[at:end])}</{tag}>'
    return f"{_esc(c.quote[:at])}{inner}{_esc(c.quote[end:])}"


def _highlighted_passage(c: Citation, short: ShortAnswer | None = None) -> str:
    """The source passage, escaped, with the quoted sentence in a ``<mark>`` (the short answer
    in it in bold)."""
    quote = f"<mark>{_marked_quote(c, short, 'strong')}</mark>"
    at = c.start - c.passage_start
    if not (0 <= at and c.passage[at : at + len(c.quote)] == c.quote):
        at = c.passage.find(c.quote)
    if at < 0:
        return f"{_esc(c.passage)}<br>{quote}"
    end = at + len(c.quote)
    return f"{_esc(c.passage[:at])}{quote}{_esc(c.passage[end:])}"


def _cite_id(key: str, n: int) -> str:
    """The id of citation ``n`` of one answer, unique on the page, so its [n] marker can open it."""
    return f"qa-{_esc(key)}-{n}"


def _citation_html(c: Citation, key: str, short: ShortAnswer | None = None) -> str:
    where = " · ".join(_esc(x) for x in (c.section, c.date) if x)
    meta = " · ".join(_esc(x) for x in (f"《{c.title}》", c.section, c.source, c.date) if x)
    return (
        f'<details class="qa-cite" id="{_cite_id(key, c.n)}">'
        f'<summary><span class="qa-n">[{c.n}]</span> 《{_esc(c.title)}》'
        f'{" · " + where if where else ""} <span class="qa-hint">（点击查看原文）</span></summary>'
        f'<div class="qa-passage">{_highlighted_passage(c, short)}</div>'
        f'<div class="qa-meta">出处：{meta}</div></details>'
    )


def render_question(question: str, truncated: bool) -> str:
    """The resident's question exactly as text (escaped); of a long paste, the end that was
    answered (its last question), after a "…"."""
    return f'<div class="qa-q">{"…" if truncated else ""}{_esc(question)}</div>'


#: The class of a reply that quotes nothing, by ``Answer.kind``.
_KIND_CLASS = {"refusal": "qa-refused", "smalltalk": "qa-smalltalk"}


def render_answer(a: Answer, key: str = "a") -> str:
    """An answer as one line of safe HTML: prose, the short answer in bold, quotes with [n] (the
    short answer highlighted in its quote), the older source's value, expandable citations.

    ``key`` tells this answer's citations from the others' on the page; each [n] marker is a
    link to its citation, which the page's script opens. The short answer and the older value
    are drawn from the fields, never read out of ``Answer.text``.
    """
    prose, heading = _prose(a.text)
    if a.short_answer is not None:
        prose = prose[:-1]  # the text's first line after any notice: drawn below from the fields
    parts = [f"<p>{_esc(p)}</p>" for p in prose]
    if a.kind != "answer":  # a refusal or small talk: prose, and its suggestions as options below
        if a.suggestions:
            parts.append(f'<p class="qa-suggest">{_esc(heading or "你可以试着问：")}</p>')
        return f'<div class="qa-a {_KIND_CLASS[a.kind]}">{"".join(parts)}</div>'
    short = a.short_answer
    if short is not None:
        derived = display("", short.derived)
        parts.append(
            f'<p class="qa-short">{_esc(short.frame)}<strong>{_esc(short.text)}</strong>{_esc(derived)}</p>'
        )

    def quote(c: Citation) -> str:
        ref = f'<a class="qa-ref" href="#{_cite_id(key, c.n)}">[{c.n}]</a>'
        return f'<blockquote class="qa-quote">{_marked_quote(c, short, "mark")} {ref}</blockquote>'

    parts += [quote(c) for c in a.citations if c.n != a.earlier]
    for c in a.citations:
        if c.n == a.earlier:
            parts.append(f'<p class="qa-earlier">{_esc(earlier_lead(c, english=False))}</p>{quote(c)}')
    cites = "".join(_citation_html(c, key, short) for c in a.citations)
    parts.append(f'<div class="qa-cites">{cites}</div>')
    return f'<div class="qa-a">{"".join(parts)}</div>'


def _exchange(a: Answer) -> dict[str, Any]:
    """What the session keeps per question: the API dict (plus index version) and its HTML."""
    key = uuid.uuid4().hex
    return {
        "id": key,
        "answer": a.to_dict() | {"index_version": a.index_version},
        "question_html": render_question(a.question, a.truncated),
        "answer_html": render_answer(a, key),
    }


def chat_messages(exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The chatbot's messages; the suggestions of a refusal or of small talk are clickable options
    on the last one."""
    messages: list[dict[str, Any]] = []
    for i, ex in enumerate(exchanges):
        messages.append({"role": "user", "content": ex["question_html"]})
        reply: dict[str, Any] = {"role": "assistant", "content": ex["answer_html"]}
        suggestions = ex["answer"]["suggestions"]
        if i == len(exchanges) - 1 and ex["answer"]["kind"] != "answer" and suggestions:
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


def answer_json(question: str, history: Any, index_dir: Path | str | None, store: FeedbackStore) -> dict:
    """One answer for a developer (the JSON of ``assistant ask --json``), from either API route.

    Refused questions are logged for the staff with channel "api".
    """
    result = answer(question, turns_from_history(history), retriever=current_retriever(index_dir))
    data = result.to_dict()
    if result.refused:
        store.log_unanswered(data | {"index_version": result.index_version}, channel="api")
    return data


def build_app(index_dir: Path | str | None = None, store: FeedbackStore | None = None) -> gr.Blocks:
    """The chat page plus Gradio's endpoint ``ask``; launch it with ``launch_options()``."""
    store = store or FeedbackStore()

    def ask(question: str, history: list | None = None) -> dict:
        """Answer a question about 数字青岛 from the sources (the JSON of `assistant ask --json`).

        history: earlier turns, oldest first, as [question, answer] pairs, {"question", "answer"}
        objects or {"role", "content"} chat messages; an answer may be an earlier result dict.
        """
        try:
            return answer_json(question, history, index_dir, store)
        except QuestionError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc

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
            label="对话",
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
            label="你的问题",
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


#: Theme colours (light, dark mode) a shade darker than Gradio's defaults, so that subdued text,
#: links, placeholders and the primary button all read at 4.5:1 or better (WCAG AA).
COLOURS = {
    "body_text_color_subdued": ("*neutral_600", "*neutral_400"),
    "block_label_text_color": ("*neutral_600", "*neutral_300"),
    "input_placeholder_color": ("*neutral_500", "*neutral_400"),
    "link_text_color": ("*primary_700", "*primary_300"),
    "button_primary_background_fill": ("*primary_700", "*primary_700"),
    "button_primary_background_fill_hover": ("*primary_800", "*primary_800"),
}


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts only (its bundled fonts have no CJK glyphs)."""
    colours = {}
    for name, (light, dark) in COLOURS.items():
        colours[name], colours[f"{name}_dark"] = light, dark
    return gr.themes.Default(primary_hue="blue", font=FONT, font_mono=FONT_MONO).set(**colours)


# --------------------------------------------------------------------------- server


class ChinesePage:
    """ASGI middleware: the chat page's HTML says ``lang="zh-CN"`` and starts with ``PAGE_SCRIPT``.

    The script has to run before Gradio's, which pick the UI language at load; Gradio's ``head``
    option is added later, from the page's config, so only the served HTML can carry it.
    """

    _HTML_LANG = re.compile(rb'(<html\b[^>]*?\blang=")[^"]*(")')

    def __init__(self, app):
        self.app = app

    @classmethod
    def localise(cls, page: bytes) -> bytes:
        page = cls._HTML_LANG.sub(rb"\1zh-CN\2", page, count=1)
        return page.replace(b"<head>", b"<head>" + PAGE_SCRIPT.encode(), 1)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def send_localised(message):
            if message["type"] == "http.response.start":
                start.update(message, headers=list(message.get("headers", [])))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body, headers = b"".join(chunks), MutableHeaders(raw=start["headers"])
                    if headers.get("content-type", "").startswith("text/html"):
                        body = self.localise(body)
                        headers["content-length"] = str(len(body))
                    await send(start)
                    await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await self.app(scope, receive, send_localised)


class GradioAskDefaults:
    """ASGI middleware: ``POST /gradio_api/call/ask`` with only a question means no history.

    ``/gradio_api/info`` says ``history`` has a default, and gradio_client fills it in, but
    Gradio's queue fails a call that lacks an input with ``event: error`` and no message.
    """

    PATH = "/gradio_api/call/ask"

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"].rstrip("/") != self.PATH:
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            body, more = body + message.get("body", b""), message.get("more_body", False)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None  # Gradio answers malformed bodies itself
        if isinstance(payload, dict) and isinstance(payload.get("data"), list) and len(payload["data"]) == 1:
            payload["data"].append(None)
            body = json.dumps(payload, ensure_ascii=False).encode()
            scope = dict(scope, headers=[(k, v) for k, v in scope["headers"] if k != b"content-length"])
            scope["headers"].append((b"content-length", str(len(body)).encode()))
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _uploads_closed(request) -> JSONResponse:
    await request.body()  # read, so that an oversized upload meets the body limit (413) like any other
    return JSONResponse({"error": "uploads are closed: nothing on this page takes a file"}, status_code=403)


def app_kwargs(api_answer: AnswerJson) -> dict[str, Any]:
    """The server around the page: the REST API at ``/api``, Gradio's upload route closed, the
    page in Chinese, and no FastAPI docs (they load from a CDN) or schema of Gradio's internals."""
    return {
        "routes": [
            Mount("/api", app=create_api(api_answer)),
            Route("/gradio_api/upload", _uploads_closed, methods=["POST"]),
        ],
        "middleware": [
            # Every route, Gradio's and ours, gets the same body limit (HTTP 413).
            Middleware(BodyLimitMiddleware, max_bytes=config.MAX_BODY_BYTES),
            Middleware(GradioAskDefaults),
            Middleware(ChinesePage),
        ],
        "openapi_url": None,
        "docs_url": None,
        "redoc_url": None,
    }


def launch_options(api_answer: AnswerJson) -> dict[str, Any]:
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
        "app_kwargs": app_kwargs(api_answer),
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
    """Start the chat and the REST API on ``host:port`` (loopback unless told otherwise)."""
    warm_up(index_dir)
    store = FeedbackStore()
    app = build_app(index_dir, store)
    # What is loaded by now (Gradio, the model, the index: ~190,000 objects) lives as long as the
    # server. Out of the cyclic collector's sight, its full collections stop walking them: ~110 ms
    # each, a latency spike for whichever answers they interrupt under load.
    gc.collect()
    gc.freeze()

    def api_answer(question: str, history: list | None) -> dict:
        return answer_json(question, history, index_dir, store)

    app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=not block,
        quiet=False,
        **launch_options(api_answer),
    )
    return app
