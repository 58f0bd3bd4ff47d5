"""An ASGI middleware that turns away request bodies over a size limit (HTTP 413).

Why here and not in the routes: every route of ``assistant serve`` (Gradio's own, and any
added later) parses its body before our code sees it, so a 50 MB body would be read and
decoded in full, whatever ``answer()`` later cuts. Wrapped around the whole application,
one check covers them all: a declared ``Content-Length`` over the limit is refused before
the application sees a byte, and a body sent without one (chunked) is counted as it arrives
and refused as soon as it passes the limit. Before closing, a bounded part of the rest is read
and dropped, so that the client reads the 413 and its message.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable

from . import config

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLarge(Exception):
    """Raised into the application when a streamed body passes the limit."""


class BodyLimitMiddleware:
    """Refuse HTTP requests whose body exceeds ``max_bytes`` with 413 and ``{"error": ...}``."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def message(self) -> str:
        return (
            f"request body too large: the limit is {self.max_bytes:,} bytes "
            f"({self.max_bytes // 1024} KB); send a shorter question and only the last turns of history"
        )

    async def _reject(self, send: Send, receive: Receive | None) -> None:
        """Answer 413; with ``receive``, first drop what the client is still sending."""
        body = json.dumps({"error": self.message()}, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        if receive is not None:
            try:
                await asyncio.wait_for(self._drain(receive), config.BODY_DRAIN_SECONDS)
            except asyncio.TimeoutError:
                pass
        await send({"type": "http.response.body", "body": body})

    async def _drain(self, receive: Receive) -> None:
        """Read and drop the rest of the body, up to ``BODY_DRAIN_BYTES``: a server that closes
        the connection with unread data resets it, and a client still sending then loses the
        413 and its message (nginx's "lingering close" does the same)."""
        drained = 0
        while drained <= config.BODY_DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                return
            drained += len(message.get("body", b""))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            # A client that asked to be told before sending ("Expect: 100-continue") has sent nothing.
            waiting = headers.get(b"expect", b"").lower() == b"100-continue"
            await self._reject(send, None if waiting else receive)
            return

        received = 0
        started = rejected = False

        async def counted_receive() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started:
                        rejected = True
                        await self._reject(send, receive if message.get("more_body") else None)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:  # our 413 went out; whatever the application answers is dropped
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not rejected:
                raise
