"""Card number detection and log redaction, unit level."""

from __future__ import annotations

import logging
import random
import uuid

import pytest

from shop.cards import REDACTED, contains_pan, luhn_valid, redact
from shop.logs import RedactCardNumbers


@pytest.mark.parametrize("text", ["4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242",
                                  "378282246310005", "6011111111111117", '{"n": "5555555555554444"}',
                                  "x4000056655665556y"])
def test_card_numbers_are_found(text: str) -> None:
    assert contains_pan(text)
    assert REDACTED in redact(text) and not contains_pan(redact(text))


@pytest.mark.parametrize("text", ["4242424242424241", "123456789012", "2026-11-25T10:00:00Z",
                                  "42424242424242424242", "pm_card_visa",
                                  "0b6e8c0e-2f7e-4f6c-9a0b-3c1f2d4e5a61",
                                  "[1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4]"])
def test_other_numbers_are_left_alone(text: str) -> None:
    assert not contains_pan(text)
    assert redact(text) == text


def test_luhn() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


def test_the_log_filter_redacts_messages_and_arguments() -> None:
    args = ("127.0.0.1:5000", "POST", "/api/checkout?pan=4111111111111111", "1.1", 400)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               args, None)

    assert RedactCardNumbers().filter(record)

    assert "4111111111111111" not in record.getMessage()
    assert record.args is not None and len(record.args) == 5  # the access formatter unpacks five values


def test_ids_are_never_mistaken_for_card_numbers() -> None:
    # GIVEN many UUIDs (cart ids, idempotency keys), including all-digit ones, from a fixed seed
    rng = random.Random(20261125)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(5000)]
    all_digits = [i.translate(str.maketrans("abcdef", "123456")) for i in ids]

    # THEN none of them looks like a card number
    assert [i for i in ids + all_digits if contains_pan(i)] == []


@pytest.mark.parametrize("text", ["my card is 4242 4242 4242 4242, thanks", "pan=4242-4242-4242-4242&x=1",
                                  "amex 3782 822463 10005", "diners 3056 930902 5904"])
def test_card_numbers_in_the_groupings_cards_use_are_found(text: str) -> None:
    assert contains_pan(text)
