"""What the services' OpenAPI documents declare beyond what FastAPI infers on its own.

- the error answers (every error body is `{"error": <code>, "message": <text>}`, plus `field` when
  the guard refused card data and `details` for validation errors), so a client and the schema
  fuzzing (tests/app/test_api_schema.py) can hold a service to them;
- the JSON body of routes that read the raw body and validate it themselves (for their own error
  answers), declared from the same pydantic model they validate with; a body of another media type
  (`text_body`);
- the query parameters of routes that parse the query string themselves (`query_parameters`);
- the answers of HTML pages (`page_responses`): the page, error pages, and the JSON errors that
  the guard or an API-level check may answer on the same route.

The documents are not served in production (`openapi_url=None`); tests build them with
`app.openapi()`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, BeforeValidator

ERROR_DESCRIPTIONS = {
    400: "Malformed request, or card data refused (`card_data_refused`, with the field)",
    401: "No valid session (on the admin service: no valid staff token from the load balancer)",
    402: "Payment declined",
    403: "Not allowed for this session (`sign_in_required`: a guest signs in to check out), or for "
         "this staff role; on a form, an expired form",
    404: "Not found (also what another customer's resource answers)",
    409: "Conflict with the resource's state or a request in progress (`stale_version`: with the "
         "`current_version`)",
    413: "Body too large",
    422: "Validation failed (`details` name the fields, never the values; a rejected import lists its "
         "`errors`)",
    503: "A dependency is unavailable; retry after `Retry-After` seconds",
}


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeNumber = BeforeValidator(_integral)
"""For an integer field of a strict request model: JSON has one number type, and 2.0 is an integer
to JSON Schema (so to the OpenAPI document): `Annotated[int, WholeNumber]` accepts it."""


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None


class ImportProblem(BaseModel):
    line: int
    column: str | None
    message: str


class ErrorBody(BaseModel):
    error: str
    message: str
    field: str | None = None
    details: list[ValidationIssue] | None = None
    decline_code: str | None = None
    current_version: int | None = None
    errors: list[ImportProblem] | None = None


GUARD_STATUSES = (400, 413)
"""What the request guard (shop.web_guard) may answer on any route, before the route runs."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry declaring these error statuses with the shared error body."""
    return {status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra=` entry declaring a required JSON body validated by `model`."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": _schema_of(model)}}}}


def text_body(media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The `openapi_extra=` entry declaring a required body of another media type (e.g. a CSV file)."""
    return {"requestBody": {"required": True, "content": {media_type: {"schema": schema}}}}


def query_parameters(model: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra=` entry declaring the query parameters that `model` describes: for routes
    that read the query string themselves (FastAPI adds these to the parameters it infers)."""
    schema = _schema_of(model)
    required = set(schema.get("required", ()))
    return {"parameters": [{"name": name, "in": "query", "required": name in required, "schema": field}
                           for name, field in schema["properties"].items()]}


HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}


def page_responses(*pages: int, json: tuple[int, ...] = ()) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of an HTML page route: the error statuses in `pages` answered with an
    HTML page, those in `json` with the shared JSON error body; a status in both may be either. The
    guard's statuses are declared here as JSON too: FastAPI puts the `model` of the app's
    `responses=` (GUARD_RESPONSES) under each route's own media type, which is text/html here; for
    the same reason the content is written out rather than given as a `model`.
    """
    as_json = {*json, *GUARD_STATUSES}
    error_body = {"application/json": {"schema": _schema_of(ErrorBody)}}
    return {status: {"description": ERROR_DESCRIPTIONS[status],
                     "content": {**(HTML_PAGE if status in pages else {}),
                                 **(error_body if status in as_json else {})}}
            for status in sorted({*pages, *as_json})}


def without_framework_validation(app: FastAPI) -> None:
    """For an app whose routes validate their input themselves (they take the raw request and at
    most `str` path parameters, which nothing fails): FastAPI declares its 422 validation error on
    every route with a parameter, an answer such an app never gives; its document leaves it out."""
    build = app.openapi

    def document() -> dict[str, Any]:
        first = app.openapi_schema is None
        schema = build()  # FastAPI's, cached on the app after the first build
        if first:
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    answer = operation.get("responses", {}).get("422", {})
                    if answer.get("content", {}).get("application/json", {}).get("schema") == FASTAPI_422:
                        del operation["responses"]["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return schema

    app.openapi = document  # type: ignore[method-assign]


FASTAPI_422 = {"$ref": "#/components/schemas/HTTPValidationError"}


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return dict(_inline(schema, definitions))


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """The schema with local `$defs` references replaced by their (non-recursive) definitions."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(definitions[str(node["$ref"]).rsplit("/", 1)[-1]], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node
