"""The guard in front of every service: an ASGI middleware that refuses oversized bodies and card data.

    app.add_middleware(GuardRequests)          # FastAPI / Starlette; or GuardRequests(app) for plain ASGI

It looks at what the application will use, decoded the way the application decodes it, before
routing, validation, a handler or a log line sees the request:
- the path, percent-decoded (the server's `scope["path"]`, from which path parameters come);
- every query parameter name and value, decoded as Starlette decodes them (`+`, percent escapes);
- every header name and value (cookies, authorization, forwarded-for, ...) read as Latin-1 (what
  the ASGI server hands over) and as UTF-8, except the infrastructure's trace ids (OPAQUE_HEADERS)
  and a multipart body's boundary (random, the client's, never stored or logged);
- the body, up to `max_body_bytes` (413 beyond): when it parses as JSON (whatever its content type,
  since handlers may parse raw bodies), every key, string and number at any depth, after JSON's own
  escapes are decoded; a form (`application/x-www-form-urlencoded`), every name and value; a form
  with files (`multipart/form-data`, shop.multipart, as the app reads it), every part's name, file
  name and decoded content, then the rest of its text but the boundary; any other body, its text.
`shop.cards` then decodes whatever further layers a value holds (percent-encoding, JSON or HTML
escapes) and knows the separators and digits a client can write a card number with.

Card data is answered with 400 `{"error": "card_data_refused", "message": ..., "field": ...}`: the
field says where (`path`, `query.<name>`, `header.<name>`, `body`, `body.<key>.<key>[<index>]`),
never what; a name that is itself a card number is given as `[REDACTED-PAN]`.

When the server has started the application, the middleware installs the log redaction on every
handler the process then has (uvicorn's access log included): the second line of defence
(`shop.logs`), on every service that uses this guard.

What it cannot see (docs/checkout.md): a card number split across fields or requests, digits hidden
in other ways (words, base64, an image, a file upload's binary content), digits that letters or
other digits are glued into, and other protocols (this guard sees HTTP only; the services have no
WebSocket routes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop import multipart
from shop.api_schema import GUARD_STATUSES, error_responses
from shop.cards import REDACTED, contains_pan, redact
from shop.logs import install_redaction

MAX_BODY_BYTES = 16 * 1024
# Set by CloudFront, the load balancer or a tracer; opaque random ids the services neither read nor
# log. Their hex digits would otherwise now and then form a Luhn-valid run.
OPAQUE_HEADERS = frozenset({b"x-amzn-trace-id", b"x-amz-cf-id", b"traceparent", b"tracestate"})
# A multipart body's boundary: random characters (often hex) that now and then form a Luhn-valid run.
_BOUNDARY = re.compile(rb";\s*boundary=(?:\"[^\"]*\"|[^;]*)", re.IGNORECASE)
MAX_FIELD_CHARS = 200
REFUSED = "card_data_refused"
# What the guard can answer on any route, for the app's OpenAPI document: FastAPI(responses=...).
GUARD_RESPONSES = error_responses(*GUARD_STATUSES)


class _Number(str):
    """A JSON number, kept as the literal the client wrote."""


class _Object:
    """A JSON object with every pair, duplicates included (a parser may keep any of them)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


def _number_texts(literal: str) -> Iterator[str]:
    yield literal
    try:
        value = Decimal(literal)
    except InvalidOperation:
        return
    if value.is_finite() and abs(value.adjusted()) <= 30:  # 1e999999 would expand to a million digits
        yield format(value, "f")


def _json_fields(document: Any) -> Iterator[tuple[str, str]]:
    """(field, text) for every key, string and number in a parsed JSON document (no recursion)."""
    pending: list[tuple[str, Any]] = [("body", document)]
    while pending:
        where, node = pending.pop()
        if isinstance(node, _Number):
            for text in _number_texts(node):
                yield where, text
        elif isinstance(node, str):
            yield where, node
        elif isinstance(node, _Object):
            for key, value in reversed(node.pairs):
                yield f"{where}.{key}", key
                pending.append((f"{where}.{key}", value))
        elif isinstance(node, list):
            pending.extend((f"{where}[{index}]", value) for index, value in reversed(list(enumerate(node))))


def _parse_json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_Object, parse_int=_Number, parse_float=_Number,
                      parse_constant=_Number)


def _body_fields(body: bytes, content_type: bytes) -> Iterator[tuple[str, str]]:
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        return
    try:
        document = _parse_json(text)
    except (ValueError, RecursionError):
        pass
    else:
        yield from _json_fields(document)
        return
    if content_type.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded":
        for name, value in parse_qsl(text, keep_blank_values=True):
            yield f"body.{name}", name
            yield f"body.{name}", value
        return
    parts = multipart.parts(content_type.decode("latin-1"), body)
    for part in parts or []:
        where = f"body.{part.name or ''}"
        yield from ((where, text) for text in (part.name, part.filename) if text)
        yield where, part.payload.decode("utf-8", errors="replace")
    separator = multipart.boundary(content_type.decode("latin-1")) if parts is not None else None
    yield "body", text.replace(separator, " ") if separator else text


def _request_fields(scope: Scope) -> Iterator[tuple[str, str]]:
    """(field, text) for everything of the request the application or its logs can use, body aside."""
    yield "path", str(scope.get("path", ""))
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        yield f"query.{name}", name
        yield f"query.{name}", value
    for raw_name, raw_value in scope.get("headers") or []:
        name = raw_name.decode("latin-1").lower()
        if raw_name.lower() in OPAQUE_HEADERS:
            continue
        value = raw_value
        if raw_name.lower() == b"content-type" and multipart.is_multipart(raw_value.decode("latin-1")):
            value = _BOUNDARY.sub(b"", raw_value)
        for encoding in ("latin-1", "utf-8"):
            yield f"header.{name}", raw_name.decode(encoding, errors="replace")
            yield f"header.{name}", value.decode(encoding, errors="replace")


def _public(field: str) -> str:
    """The field's name as it may be shown: card numbers in names redacted, length bounded."""
    shown = redact(field) if contains_pan(field) else field
    return shown if len(shown) <= MAX_FIELD_CHARS else shown[:MAX_FIELD_CHARS] + "..."


def card_field(fields: Iterator[tuple[str, str]]) -> str | None:
    """The (public) name of the first field whose text holds a card number, or None."""
    for field, text in fields:
        if contains_pan(text):
            return _public(field)
    return None


async def _respond(send: Send, status: int, body: dict[str, str]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def _too_large(limit: int) -> dict[str, str]:
    return {"error": "body_too_large", "message": f"request bodies are limited to {limit} bytes"}


def _refused(field: str) -> dict[str, str]:
    return {"error": REFUSED, "field": field,
            "message": f"{field} holds what looks like a card number; raw card numbers are not "
                       "accepted: send the payment provider's token instead"}


class GuardRequests:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._installing_redaction(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _respond(send, 413, _too_large(self.max_body_bytes))
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
                await _respond(send, 413, _too_large(self.max_body_bytes))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        field = card_field(_request_fields(scope)) or card_field(
            _body_fields(body, headers.get(b"content-type", b"")))
        if field is not None:
            await _respond(send, 400, _refused(field))
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _installing_redaction(send: Send) -> Send:
        async def forward(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                install_redaction()
            await send(message)

        return forward


def without_input(errors: list[Any]) -> list[dict[str, Any]]:
    """Validation errors with location and reason only: never echo the submitted values."""
    return [{"loc": [REDACTED if isinstance(part, str) and contains_pan(part) else part
                     for part in error.get("loc", ())],
             "msg": str(error.get("msg", "")), "type": error.get("type")}
            for error in errors]
