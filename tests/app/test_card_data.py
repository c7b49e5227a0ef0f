"""Raw card numbers: refused with 400 anywhere in a request, and absent from every log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.app.conftest import ALICE, Db, Served
from tests.app.stripe_standin import StripeStandIn

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
