"""ASGI middleware in front of every route: body size limit and refusal of raw card numbers.

Both act before routing, validation or any application log line, so an oversized body or a card
number never reaches a handler, an error message or a log.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop.cards import contains_pan

MAX_BODY_BYTES = 16 * 1024


async def _respond(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class GuardRequests:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _respond(send, 413, "body_too_large",
                           f"request bodies are limited to {self.max_body_bytes} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _respond(send, 413, "body_too_large",
                               f"request bodies are limited to {self.max_body_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        visible = " ".join([str(scope.get("path", "")), scope.get("query_string", b"").decode("latin-1"),
                            body.decode("utf-8", errors="replace")])
        if contains_pan(visible):
            await _respond(send, 400, "card_data_refused",
                           "raw card numbers are not accepted: send the payment provider's token instead")
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def without_input(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors with location and reason only: never echo the submitted values."""
    return [{"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": error.get("type")}
            for error in errors]
