"""Schema fuzzing with schemathesis: every route of every service (tests/support/services.py), driven
from the service's own OpenAPI document, answers without a server error and within its schema:
status codes, content types, headers and bodies as declared; schema-valid input accepted and
schema-invalid input refused with a 4xx; a route that needs a session refuses a request without one.

The document is the app's own (`app.openapi()`); production does not serve it. Requests go over
HTTP to the app under uvicorn, signed in afresh for each request (as a customer, or as an editor on
the admin), with schema-valid and schema-invalid data. Deterministic: derandomized, a fixed number
of examples per route and mode.

Two things a document names but cannot spell out in JSON Schema are taught to the generator here,
from the services' own code: the storefront's listing cursor (`format: listing-cursor`, an opaque
token the service issued) and the admin's catalog file (`text/csv`). And half of the schema-valid
requests name a SKU or a category slug that the test's data holds, so routes answer with what they
found, not only 404. Everything else is generated from the documents alone.

(schemathesis's pytest plugin, `from_fixture(...).parametrize()`, reads a pytest internal that
pytest 9 removed; each route is therefore driven here through `operation.as_strategy()`.)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from shop.cards import contains_pan
from shop.catalog import CURSOR_FORMAT, Cursor
from shop.events import CATEGORY_SLUG_PATTERN, MAX_NAME_CHARS, MAX_NUMBER, SKU_PATTERN
from tests.support.app_clients import ServiceUnderTest
from tests.support.app_env import ALICE
from tests.support.app_stores import Db

EXAMPLES_PER_ROUTE_AND_MODE = 25

# Text a catalog column holds: no NUL (PostgreSQL's text cannot), no lone surrogate (not UTF-8).
COLUMN_TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
SKUS = st.from_regex(SKU_PATTERN, fullmatch=True)


@st.composite
def listing_cursors(draw: st.DrawFn) -> str:
    """A cursor as the storefront issues it: after some product's (name, SKU)."""
    name = draw(st.text(COLUMN_TEXT, min_size=1, max_size=MAX_NAME_CHARS))
    return Cursor(name, draw(SKUS)).encode()


@st.composite
def catalog_files(draw: st.DrawFn) -> bytes:
    """A catalog file the importer accepts (docs/admin.md): distinct SKUs, every category named."""
    names = st.text(COLUMN_TEXT, min_size=1, max_size=40).filter(lambda text: text == text.strip())
    categories = draw(st.lists(st.from_regex(CATEGORY_SLUG_PATTERN, fullmatch=True), max_size=2, unique=True))
    category_names = {slug: draw(names) for slug in categories}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["sku", "name", "description", "category", "category_name", "price_cents", "currency",
                     "stock", "active"])
    for sku in draw(st.lists(SKUS, min_size=1, max_size=3, unique=True)):
        category = draw(st.sampled_from(["", *categories]))
        writer.writerow([sku, draw(names), draw(st.one_of(st.just(""), names)), category,
                         category_names.get(category, ""), draw(st.integers(0, MAX_NUMBER)),
                         draw(st.from_regex(r"[A-Z]{3}", fullmatch=True)), draw(st.integers(0, 2**31 - 1)),
                         draw(st.sampled_from(["true", "false", "yes", "no", "1", "0"]))])
    return out.getvalue().encode()


schemathesis.openapi.format(CURSOR_FORMAT, listing_cursors())
schemathesis.openapi.media_type("text/csv", catalog_files())


# Path parameters that name something the test's data holds: a schema-valid request names one half
# of the time, so routes answer with what they found (and its schema is checked), not only 404.
EXISTING = {"sku": "SELECT sku AS id FROM products", "slug": "SELECT slug AS id FROM categories"}


@st.composite
def _naming_existing(draw: st.DrawFn, cases: st.SearchStrategy[Any], existing: dict[str, list[str]]) -> Any:
    case = draw(cases)
    for name in case.path_parameters or {}:
        if existing.get(name) and draw(st.booleans()):
            case.path_parameters[name] = draw(st.sampled_from(existing[name]))
    return case


def _carries_card_number(case: Any) -> bool:
    body = case.body if isinstance(case.body, str | bytes) else json.dumps(case.body, default=repr)
    texts = [*(case.path_parameters or {}).values(), *(case.query or {}).items(),
             *(case.headers or {}).items(), *(case.cookies or {}).items(),
             body.decode("utf-8", "replace") if isinstance(body, bytes) else body]
    return any(contains_pan(str(text)) for text in texts)


def _fuzz(operation: Any, mode: GenerationMode, url: str, sign_in: Callable[[], dict[str, str]],
          existing: dict[str, list[str]]) -> None:
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        cases = _naming_existing(cases, existing)

    @settings(derandomize=True, database=None, deadline=None, max_examples=EXAMPLES_PER_ROUTE_AND_MODE,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def answers_within_schema(case: Any) -> None:
        note(f"{operation.label} ({mode.value})")
        if mode is GenerationMode.POSITIVE:
            # Valid input holds no card number: every route refuses one (the guard's 400, declared
            # on every route), which JSON Schema cannot say. Hypothesis favours zeros, and thirteen
            # of them pass the Luhn check (a SKU of 0000000000000 is refused, rightly).
            assume(not _carries_card_number(case))
        case.call_and_validate(base_url=url, headers=sign_in())

    answers_within_schema()


def test_every_route_answers_within_its_schema(service: ServiceUnderTest, db: Db) -> None:
    served = service.served
    existing = {name: [row["id"] for row in db.rows(query)] for name, query in EXISTING.items()}
    document = served.app.openapi()
    api = schemathesis.openapi.from_dict(document)
    # The services ignore query parameters they do not declare (a link to the storefront may carry
    # marketing tags): an extra parameter is not invalid input. The caller's credentials are passed
    # as headers, so the generator must not make up (or leave out) its own.
    api.config.generation.update(allow_extra_parameters=False, with_security_parameters=False)
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]  # an Err fails here
    assert operations, f"{service.name} declares no route"

    failures = []
    for operation in operations:
        declared = document["paths"][operation.path][operation.method.lower()]
        has_input = "parameters" in declared or "requestBody" in declared
        for mode in (GenerationMode.POSITIVE, *([GenerationMode.NEGATIVE] if has_input else [])):
            try:
                # (signed in afresh for each request: a route may end the session, e.g. sign-out)
                _fuzz(operation, mode, served.url, lambda: service.signed_in(ALICE), existing)
            except Exception as error:  # every route is run; all failures are reported together
                failures.append(f"--- {service.name} {operation.label} ({mode.value})\n{error}")
    assert not failures, "\n".join(failures)
