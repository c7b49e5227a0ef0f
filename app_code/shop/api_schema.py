"""What the services' OpenAPI documents declare beyond what FastAPI infers on its own.

- the error answers (every error body is `{"error": <code>, "message": <text>}`, plus `field` when
  the guard refused card data and `details` for validation errors), so a client and the schema
  fuzzing (tests/app/test_api_schema.py) can hold a service to them;
- the JSON body of routes that read the raw body and validate it themselves (for their own error
  answers), declared from the same pydantic model they validate with.

The documents are not served in production (`openapi_url=None`); tests build them with
`app.openapi()`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

ERROR_DESCRIPTIONS = {
    400: "Malformed request, or card data refused (`card_data_refused`, with the field)",
    401: "No valid session",
    402: "Payment declined",
    403: "Not allowed for this session (`sign_in_required`: a guest signs in to check out)",
    404: "Not found (also what another customer's resource answers)",
    409: "Conflict with the resource's state or a request in progress",
    413: "Body too large",
    422: "Validation failed (`details` name the fields, never the values)",
    503: "A dependency is unavailable; retry after `Retry-After` seconds",
}


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None


class ErrorBody(BaseModel):
    error: str
    message: str
    field: str | None = None
    details: list[ValidationIssue] | None = None
    decline_code: str | None = None


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry declaring these error statuses with the shared error body."""
    return {status: {"model": ErrorBody, "description": ERROR_DESCRIPTIONS[status]} for status in statuses}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The `openapi_extra=` entry declaring a required JSON body validated by `model`."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": _inline(schema, definitions)}}}}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """The schema with local `$defs` references replaced by their (non-recursive) definitions."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(definitions[str(node["$ref"]).rsplit("/", 1)[-1]], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node
