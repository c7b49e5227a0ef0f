"""Schema fuzzing with schemathesis: every route of every service (tests/app/services.py), driven
from the service's own OpenAPI document, answers without a server error and within its schema:
status codes, content types, headers and bodies as declared; schema-invalid input refused with a
4xx; a route that needs a session refuses a request without one.

The document is the app's own (`app.openapi()`); production does not serve it. Requests go over
HTTP to the app under uvicorn, signed in as a customer, with schema-valid and schema-invalid data.
Deterministic: derandomized, a fixed number of examples per route and mode.

(schemathesis's pytest plugin, `from_fixture(...).parametrize()`, reads a pytest internal that
pytest 9 removed; each route is therefore driven here through `operation.as_strategy()`.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, note, settings
from schemathesis import GenerationMode

from tests.app.conftest import ALICE, Served
from tests.app.services import Service

EXAMPLES_PER_ROUTE_AND_MODE = 25


def _fuzz(operation: Any, mode: GenerationMode, url: str, headers: dict[str, str]) -> None:
    @settings(derandomize=True, database=None, deadline=None, max_examples=EXAMPLES_PER_ROUTE_AND_MODE,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def answers_within_schema(case: Any) -> None:
        note(f"{operation.label} ({mode.value})")
        case.call_and_validate(base_url=url, headers=headers)

    answers_within_schema()


def test_every_route_answers_within_its_schema(service: tuple[Service, Served]) -> None:
    spec, served = service
    headers = spec.auth(served.runtime, ALICE) if spec.auth else {}
    document = served.app.openapi()
    api = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in api.get_all_operations()]
    assert operations, f"{spec.name} declares no route"

    failures = []
    for operation in operations:
        declared = document["paths"][operation.path][operation.method.lower()]
        has_input = "parameters" in declared or "requestBody" in declared
        for mode in (GenerationMode.POSITIVE, *([GenerationMode.NEGATIVE] if has_input else [])):
            try:
                _fuzz(operation, mode, served.url, headers)
            except Exception as error:  # every route is run; all failures are reported together
                failures.append(f"--- {spec.name} {operation.label} ({mode.value})\n{error}")
    assert not failures, "\n".join(failures)
