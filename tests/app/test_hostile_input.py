"""Card numbers in every place and encoding a client can use, against every route of every service.

For each service of tests/support/services.py, hypothesis picks a route from the service's own OpenAPI
document, a place in the request (a path parameter, a query parameter or its name, a header, a JSON
body field at any depth or a key, a form field, a multipart form field, as text or base64-encoded,
a text body), a card number, the way it is written
(grouping, separators, script of the digits, invisible characters, letters around it) and a further
encoding (percent-encoding once or twice, HTML entities, JSON escapes). After each request:
- the service refused it with 400 `card_data_refused`, naming the place and not echoing the number;
- the number is nowhere: not in PostgreSQL, DynamoDB, Redis, a request to the search domain or the
  payment provider, or any line a log handler wrote (uvicorn's access log included).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.app.hostile import (
    DETERMINISTIC,
    ENCODINGS,
    SEPARATORS,
    Alphabet,
    card_numbers,
    encoded,
    found_in,
    json_escaped,
    written,
)
from tests.support.app_clients import ServiceUnderTest
from tests.support.app_env import ALICE
from tests.support.app_stores import Stores, WrittenLogs

# Header values travel as bytes on one line: no line breaks or tabs.
HEADER_TEXT = Alphabet(separators=tuple(s for s in SEPARATORS if s not in "\t\n"))
METHODS = ("get", "put", "post", "delete", "patch")
PLACES = ("path", "query", "query-name", "header", "json", "json-key", "form", "multipart", "text")
BOUNDARY = "hostile-input-boundary"


@dataclass
class Request:
    method: str
    path: str
    field_prefix: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, bytes] = field(default_factory=dict)
    content: bytes = b""


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, operation) for path, item in sorted(schema["paths"].items())
            for method, operation in sorted(item.items()) if method in METHODS]


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _body_paths(schema: dict[str, Any], node: dict[str, Any], prefix: tuple[str, ...] = ()
                ) -> list[tuple[str, ...]]:
    """Every property path of a JSON body schema (objects nested in objects included)."""
    node = _resolved(schema, node)
    paths: list[tuple[str, ...]] = []
    for name, child in node.get("properties", {}).items():
        paths.append((*prefix, name))
        paths += _body_paths(schema, child, (*prefix, name))
    return paths


def _nested(path: tuple[str, ...], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


@st.composite
def hostile_requests(draw: st.DrawFn, schema: dict[str, Any], auth: dict[str, str]
                     ) -> tuple[str, Request]:
    """(the card number, a request that carries it somewhere) for one of the service's routes."""
    path, method, operation = draw(st.sampled_from(_operations(schema)))
    parameters = [_resolved(schema, p) for p in operation.get("parameters", [])]
    path_names = [p["name"] for p in parameters if p["in"] == "path"]
    query_names = [p["name"] for p in parameters if p["in"] == "query"] + ["note"]
    json_body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    body_schema = json_body.get("schema")
    body_paths = _body_paths(schema, body_schema) if body_schema else []
    pan = draw(card_numbers())
    place = draw(st.sampled_from([p for p in PLACES if p != "path" or path_names]))
    text = draw(written(pan, HEADER_TEXT if place == "header" else Alphabet()))
    text = encoded(text, draw(st.sampled_from(ENCODINGS)))
    filled = dict.fromkeys(path_names, "x1")
    request = Request(method, "", "", headers={k: v.encode() for k, v in auth.items()})
    if place == "path":
        name = draw(st.sampled_from(path_names))
        filled[name] = text
        request.field_prefix = "path"
    elif place == "query":
        name = draw(st.sampled_from(query_names))
        request.params, request.field_prefix = [(name, text)], f"query.{name}"
    elif place == "query-name":
        request.params, request.field_prefix = [(text, "1")], "query."
    elif place == "header":
        name = draw(st.sampled_from(["authorization", "cookie", "x-note", "referer", "user-agent"]))
        value = {"authorization": "Bearer ", "cookie": "session="}.get(name, "") + text
        request.headers[name] = value.encode()
        request.field_prefix = f"header.{name}"
    elif place in {"json", "json-key"}:
        key_path = draw(st.sampled_from([*body_paths, ("note",)]))
        body = _nested(key_path[:-1], {text: 1}) if place == "json-key" else _nested(key_path, text)
        escaped = draw(st.booleans())
        content = json.dumps(body) if not escaped else _escaped_json(body)
        request.content, request.headers["content-type"] = content.encode(), b"application/json"
        request.field_prefix = "body." + ".".join(key_path[:-1] if place == "json-key" else key_path)
    elif place == "form":
        request.content = urlencode({"note": text}).encode()
        request.headers["content-type"] = b"application/x-www-form-urlencoded"
        request.field_prefix = "body.note"
    elif place == "multipart":
        encoded_part = draw(st.booleans())
        payload = base64.b64encode(text.encode()) if encoded_part else text.encode()
        request.content = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n'.encode()
                           + (b"Content-Transfer-Encoding: base64\r\n" if encoded_part else b"")
                           + b"\r\n" + payload + f"\r\n--{BOUNDARY}--\r\n".encode())
        request.headers["content-type"] = f"multipart/form-data; boundary={BOUNDARY}".encode()
        request.field_prefix = "body.note"
    else:
        request.content, request.headers["content-type"] = text.encode(), b"text/plain; charset=utf-8"
        request.field_prefix = "body"
    request.path = path.format(**{name: quote(value, safe="") for name, value in filled.items()})
    return pan, request


def _escaped_json(node: Any) -> str:
    """JSON with every character of every string written as a \\u escape."""
    if isinstance(node, dict):
        return "{" + ", ".join(f"{json_escaped(k)}: {_escaped_json(v)}" for k, v in node.items()) + "}"
    if isinstance(node, str):
        return json_escaped(node)
    return json.dumps(node)


@DETERMINISTIC
@given(data=st.data())
def test_card_numbers_are_refused_everywhere_and_land_nowhere(
        service: ServiceUnderTest, stores: Stores, written_logs: WrittenLogs, data: st.DataObject) -> None:
    served = service.served
    # GIVEN a card number written and encoded somehow, in some place of a request to some route
    pan, request = data.draw(hostile_requests(served.app.openapi(), service.signed_in(ALICE)))
    mark = written_logs.mark()

    # WHEN the client sends it
    with httpx.Client(base_url=served.url, timeout=10) as client:
        headers = [(name.encode("ascii"), value) for name, value in request.headers.items()]
        response = client.request(request.method, request.path, params=tuple(request.params),
                                  headers=headers, content=request.content)

    # THEN the number is nowhere: response, databases, cache, search, payment provider, logs
    assert found_in(pan, response=response.text, postgres=stores.postgres(), dynamodb=stores.dynamodb(),
                    redis=stores.redis(), search=stores.search_domain(),
                    payment_provider=stores.payment_provider(), logs=written_logs.since(mark)) == []
    # AND it was refused, naming the place
    body = response.json()
    assert (response.status_code, body.get("error")) == (400, "card_data_refused"), response.text
    assert str(body.get("field")).startswith(request.field_prefix), body
