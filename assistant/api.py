"""The plain JSON REST API of ``assistant serve``: ``POST /api/ask``, beside Gradio's own.

Design choices, and why:

- One request, one JSON answer: the same object as ``assistant ask --json``. Gradio's route
  needs two requests and an event stream, and its queue costs more than the answer itself
  (../shared/notes/gradio-load.md), so this route does not go through it.
- Its own bounded concurrency: at most ``API_CONCURRENCY`` answers run at once, in worker
  threads (answering is CPU-bound; the event loop must keep serving the page), and at most
  ``API_QUEUE_SIZE`` more wait. A request beyond that gets 503 with ``Retry-After`` at once:
  a client that knows to come back is better served than one left hanging.
- Every error is ``{"error": message}`` with the status saying whose fault it is: 400 the
  body is not JSON, 422 it is JSON of the wrong shape (or an empty question), 503 busy.
  Oversized bodies (413) are refused before they reach this module, for every route.
- ``/api/openapi.json`` describes it; there is no docs page, since FastAPI's loads its
  scripts from a CDN and the server makes no outside request.
- The answering itself is handed in (``answer_json``), so this module knows HTTP and
  nothing of indexes, Gradio or the feedback store.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import anyio
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from . import config
from .answering.types import AnswerKind
from .retrieval import QuestionError

#: ``answer_json(question, history) -> dict``; raises ``QuestionError`` for a question it cannot take.
AnswerJson = Callable[[str, "list | None"], dict]


class AskRequest(BaseModel):
    """The body of ``POST /api/ask``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(description="The resident's question, in Chinese or English.", min_length=1)
    history: list[Any] | None = Field(
        default=None,
        description=(
            "Earlier turns, oldest first: [question, answer] pairs, {question, answer} objects or "
            '{role: "user"|"assistant", content} chat messages; an answer may be an earlier result object.'
        ),
    )


class AskResponse(BaseModel):
    """What ``assistant ask --json`` prints."""

    question: str
    text: str = Field(description="The whole answer as text: lead-in, quotes with [n], sources.")
    kind: AnswerKind = Field(
        description=(
            'What the reply is: "answer" (quotes from the sources), "refusal" (the sources do not answer) '
            'or "smalltalk" (a greeting, thanks, a goodbye or a call for help, answered with what the '
            "sources cover and, for a greeting or help, example questions in suggestions)."
        )
    )
    refused: bool = Field(description="True when the sources do not answer the question.")
    confidence: float
    truncated: bool = Field(
        description="True when the message was over the length limit: its last question was answered."
    )
    missing_terms: list[str] = Field(description="For a refusal: the question's terms the sources lack.")
    suggestions: list[str] = Field(
        description="For a refusal or small talk: questions the sources do answer."
    )
    citations: list[dict[str, Any]] = Field(
        description=(
            "The quoted sentences: n, doc_id, title, section, date, source, quote (verbatim), passage "
            "(around it), start and end (the quote's offsets in the normalised document)."
        )
    )
    short_answer: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The fact itself, or null: text (a verbatim span of quote citation_n), citation_n, start and "
            "end (its offsets in the normalised document), confidence, derived (a relative date resolved "
            "against the document's date, or null) and frame (the question's words shown before it)."
        ),
    )
    earlier: int | None = Field(
        default=None,
        description="The n of a citation from an older document giving the fact another value, or null.",
    )


class ErrorResponse(BaseModel):
    error: str


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _describe(exc: ValidationError) -> str:
    """Pydantic's complaints as one line a developer can act on."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(x) for x in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


class _Gate:
    """At most ``running`` answers at once and ``waiting`` more in line; beyond that, none.

    Counting needs no lock: it is only touched from the event loop's thread.
    """

    def __init__(self, running: int, waiting: int):
        self.limiter = anyio.CapacityLimiter(running)
        self.capacity = running + waiting
        self.inside = 0

    async def run(self, fn: Callable[[], dict]) -> dict | None:
        """``fn()`` in a worker thread, or None at once when the line is full."""
        if self.inside >= self.capacity:
            return None
        self.inside += 1
        try:
            return await anyio.to_thread.run_sync(fn, limiter=self.limiter)
        finally:
            self.inside -= 1


def create_api(answer_json: AnswerJson) -> FastAPI:
    """The REST app, to be mounted at ``/api`` of the server."""
    api = FastAPI(
        title="青岛数字问答 API",
        version="1",
        description="Extractive answers about 数字青岛, quoted verbatim from the sources, with citations.",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    gate = _Gate(config.API_CONCURRENCY, config.API_QUEUE_SIZE)

    @api.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    errors = {
        400: {"model": ErrorResponse, "description": "The body is not JSON."},
        413: {"model": ErrorResponse, "description": "The body is over the size limit."},
        422: {"model": ErrorResponse, "description": "Wrong types, unknown fields or an empty question."},
        503: {"model": ErrorResponse, "description": "Busy: retry after `Retry-After` seconds."},
    }

    @api.post(
        "/ask",
        response_model=AskResponse,
        responses=errors,  # type: ignore[arg-type]
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": AskRequest.model_json_schema()}},
            }
        },
        summary="Answer a question from the sources",
    )
    async def ask(request: Request) -> Any:
        """The same object as `assistant ask --json`; refusals are logged for the staff."""
        body = await request.body()
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _error(400, f"the request body is not valid JSON: {exc}")
        try:
            req = AskRequest.model_validate(payload)
        except ValidationError as exc:
            return _error(422, _describe(exc))
        try:
            data = await gate.run(lambda: answer_json(req.question, req.history))
        except QuestionError as exc:
            return _error(422, str(exc))
        if data is None:
            wait = config.API_RETRY_AFTER_S
            return _error(
                503, f"too many questions at once; retry in {wait} s", {"Retry-After": str(wait)}
            )
        return JSONResponse(data)

    return api
