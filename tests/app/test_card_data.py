"""Raw card numbers: refused with 400 anywhere in a request, and absent from every log line and store.

The generated test writes card numbers the way each stored or forwarded field of the order flow
accepts them (a SKU in the path goes to the DynamoDB cart; the idempotency key to three PostgreSQL
tables; the payment method to the payment provider; the postal code to the order and its event),
so a number the guard missed would be stored, not just rejected by validation.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from tests.app.hostile import DETERMINISTIC, Alphabet, card_numbers, found_in, json_escaped, written
from tests.support.app_clients import Served
from tests.support.app_env import ALICE
from tests.support.app_stores import Db, Stores, WrittenLogs
from tests.support.stripe_standin import StripeStandIn

PAN = "4242424242424242"  # Luhn-valid
SPACED = "4000 0566 5566 5556"
CLIENT_SIDE = {"httpx", "httpcore"}  # the test's own HTTP client, which the shop does not use


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in CLIENT_SIDE:
            return
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def every_log_line() -> Iterator[list[str]]:
    """Every record any logger emits during the test, whatever its propagation settings."""
    collect = _Collect()
    names = list(logging.root.manager.loggerDict)
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in names)]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.addHandler(collect)
        logger.setLevel(logging.DEBUG)
    yield collect.lines
    for logger in loggers:
        logger.removeHandler(collect)
        logger.setLevel(levels[logger])


@pytest.mark.parametrize(("where", "request_kwargs"), [
    ("body field", {"json": {"cart_id": "c1", "payment_method": "pm_card_visa",
                             "idempotency_key": "pan-key-001", "card_number": PAN,
                             "shipping": {"country": "DE", "postal_code": "10115"}}}),
    ("token field", {"json": {"cart_id": "c1", "payment_method": SPACED, "idempotency_key": "pan-key-002",
                              "shipping": {"country": "DE", "postal_code": "10115"}}}),
    ("query string", {"params": {"pan": PAN}, "json": {"cart_id": "c1"}}),
    ("non-json body", {"content": f"card={PAN}&cvc=123".encode()}),
])
def test_a_raw_card_number_is_refused_and_never_logged(
        served: Served, db: Db, stripe_api: StripeStandIn, every_log_line: list[str], capfd: Any,
        where: str, request_kwargs: dict[str, Any]) -> None:
    # WHEN a client sends a card number instead of a token
    with httpx.Client(base_url=served.url, timeout=10) as client:
        response = client.post("/api/checkout", headers=served.session(ALICE), **request_kwargs)
        # (one more request, so the access line of the first one is surely written)
        assert client.get("/api/health").status_code == 200

    # THEN it is refused before anything else runs
    assert response.status_code == 400, where
    assert response.json()["error"] == "card_data_refused"
    assert PAN not in response.text and SPACED not in response.text
    assert db.count("checkouts") == 0 and stripe_api.calls == []
    # AND no log line, structured field or console output carries it
    assert any("POST /api/checkout" in line for line in every_log_line), "the access log was not captured"
    captured = capfd.readouterr()
    captured_out = "\n".join(line for line in captured.out.splitlines() if "HTTP Request:" not in line)
    for text in [*every_log_line, captured_out, captured.err]:
        assert PAN not in text and SPACED not in text


def test_a_luhn_invalid_long_number_is_not_mistaken_for_a_card(served: Served, db: Db) -> None:
    # an order reference that is 16 digits but fails the Luhn check is just a (bad) cart id
    with httpx.Client(base_url=served.url, timeout=10) as client:
        response = client.post("/api/checkout", headers=served.session(ALICE), json={
            "cart_id": "4242424242424241", "payment_method": "pm_card_visa",
            "idempotency_key": "not-a-pan-01",
            "shipping": {"country": "DE", "postal_code": "10115"}})

    assert response.status_code == 404 and response.json()["error"] == "cart_not_found"


# --- generated: card numbers written so that each field's validation accepts them ------------------

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Each field the order flow stores or forwards, with what its validation lets through.
FIELDS = {
    "sku": Alphabet(separators=("-",), letters=UPPER, digit_zeros=(0x30,), invisible=()),
    "idempotency_key": Alphabet(separators=("_", ".", ":", "-"), digit_zeros=(0x30,), invisible=()),
    "payment_method": Alphabet(separators=("_",), digit_zeros=(0x30,), invisible=()),
    "postal_code": Alphabet(separators=(" ", "-"), digit_zeros=(0x30,), invisible=()),
}
FIELD_PATTERNS = {"sku": r"[A-Z0-9][A-Z0-9-]{0,63}", "idempotency_key": r"[A-Za-z0-9_.:-]{8,128}",
                  "payment_method": r"pm_[A-Za-z0-9_]{1,200}",
                  "postal_code": r"[A-Za-z0-9][A-Za-z0-9 -]{0,15}"}


@st.composite
def stored_fields(draw: st.DrawFn) -> tuple[str, str, str]:
    """(card number, field, value): a value the field accepts, holding the card number."""
    name = draw(st.sampled_from(sorted(FIELDS)))
    pan = draw(card_numbers())
    value = draw(written(pan, FIELDS[name]))
    value = "pm_" + value if name == "payment_method" else value
    assume(re.fullmatch(FIELD_PATTERNS[name], value))
    return pan, name, value


@settings(DETERMINISTIC, max_examples=25)  # three requests and four scans per example
@given(case=stored_fields(), escaped=st.booleans())
def test_card_numbers_that_validation_accepts_are_refused_and_stored_nowhere(
        served: Served, stores: Stores, written_logs: WrittenLogs, case: tuple[str, str, str],
        escaped: bool) -> None:
    pan, name, value = case
    note(f"card number {pan} as {name}={value!r}, JSON escapes: {escaped}")
    mark = written_logs.mark()
    with httpx.Client(base_url=served.url, timeout=10, headers=served.session(ALICE)) as client:
        # GIVEN a cart, with the card number as a SKU when that is the field
        cart_id = client.post("/api/carts").json()["cart_id"]
        sku = value if name == "sku" else "TEE-BLK-M"
        put = client.put(f"/api/carts/{cart_id}/items/{quote(sku, safe='')}", json={"quantity": 1})
        # WHEN the client checks out with the card number in a body field (JSON, escapes or not)
        body: dict[str, Any] = {"cart_id": cart_id, "payment_method": "pm_card_visa",
                                "idempotency_key": f"key-{uuid.uuid4()}",
                                "shipping": {"country": "DE", "postal_code": "10115"}}
        if name == "postal_code":
            body["shipping"]["postal_code"] = value
        elif name != "sku":
            body[name] = value
        content = json.dumps(body, ensure_ascii=True) if not escaped else _escaped(body)
        checkout = client.post("/api/checkout", content=content.encode(),
                               headers={"content-type": "application/json"})

    # THEN the number is in no table, no cart, no payment-provider request and no log line
    assert found_in(pan, postgres=stores.postgres(), dynamodb=stores.dynamodb(),
                    payment_provider=stores.payment_provider(), logs=written_logs.since(mark),
                    responses=put.text + checkout.text) == []
    # AND the request that carried it was refused, naming the field
    refused = put if name == "sku" else checkout
    expected = {"sku": "path", "postal_code": "body.shipping.postal_code"}.get(name, f"body.{name}")
    assert (refused.status_code, refused.json().get("field")) == (400, expected), refused.text


def _escaped(node: Any) -> str:
    if isinstance(node, dict):
        return "{" + ", ".join(f"{json_escaped(k)}: {_escaped(v)}" for k, v in node.items()) + "}"
    return json_escaped(node) if isinstance(node, str) else json.dumps(node)
