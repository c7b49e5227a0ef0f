"""Card number detection and log redaction, unit level."""

from __future__ import annotations

import logging
import random
import re
import sys
import unicodedata
import uuid

import pytest

from shop import cards
from shop.cards import REDACTED, contains_pan, luhn_valid, redact
from shop.logs import RedactCardNumbers, RedactingFormatter

CARD_NUMBERS = [
    "4242424242424242", "4242 4242 4242 4242", "4242-4242-4242-4242", "378282246310005", "6011111111111117",
    '{"n": "5555555555554444"}', "x4000056655665556y", "4242.4242.4242.4242", "4242_4242_4242_4242",
    "key-4242-4242-4242-4242", "X-4242-4242-4242-4242", "ab4242 4242 4242 4242cd",
    "4242 - 4242 - 4242 - 4242", "4242\u20134242\u20134242\u20134242", "4242\u00a04242\u30004242\u20094242",
    "\uff14\uff12\uff14\uff12" * 4,
    "\u0664\u0662\u0664\u0662" * 4, "42\u200b42424242424242", "4242\u00ad4242 4242\u20604242",
    "%34%32%34%32%34%32%34%32%34%32%34%32%34%32%34%32", "%2534242424242424242", "%EF%BC%94242424242424242",
    "\\u0034242424242424242", "&#52;242424242424242", "&#x34;242 4242 4242 4242",
    "4242424242424242 12/27 123",
    "pm_4242_4242_4242_4242", "20001000102347", "4242 4242 4242 4242 424",
]
NOT_CARD_NUMBERS = [
    "4242424242424241", "123456789012", "2026-11-25T10:00:00Z", "2026-11-25 10:00:00.123456+00:00",
    "20261125 10:00:00", "+49 30 1234 5678", "203.0.113.195, 70.41.3.18, 150.172.238.178, 198.51.100.222",
    "127.0.0.1:54321", "1,234,567,890,123.45", "Chrome/120.0.6099.109 Safari/537.36",
    "Root=1-67891233-abcdef012345678912345678", "100%", "%zz%", "42424242424242424242", "pm_card_visa",
    "0b6e8c0e-2f7e-4f6c-9a0b-3c1f2d4e5a61", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4]",
]


@pytest.mark.parametrize("text", CARD_NUMBERS)
def test_card_numbers_are_found(text: str) -> None:
    assert contains_pan(text)
    assert REDACTED in redact(text) and not contains_pan(redact(text))


@pytest.mark.parametrize("text", NOT_CARD_NUMBERS)
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


def test_separators_and_invisible_characters_cover_their_unicode_categories() -> None:
    # every space, dash and invisible format character, and every compatibility form of an ASCII
    # separator, is known to the detector (checked against this Python's Unicode database)
    separator = re.compile(f"[{cards._SEPARATOR}]")
    invisible = re.compile(f"[{cards._INVISIBLE}]")
    ascii_separators = set(" -./\\_:,+*~|")
    missing = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        category = unicodedata.category(char)
        if category == "Cf" and not invisible.match(char):
            missing.append(f"invisible U+{code:04X}")
        if (category in {"Zs", "Pd"} or (code < 0x10000 and char not in ascii_separators
                                         and unicodedata.normalize("NFKC", char) in ascii_separators)) \
                and not separator.match(char):
            missing.append(f"separator U+{code:04X}")
    assert missing == []


def test_redaction_keeps_everything_but_the_card_number() -> None:
    text = 'GET /api/x?card=4242%204242%204242%204242&cvc=123 "\\u0034242424242424242" ok'
    assert redact(text) == f'GET /api/x?card={REDACTED}&cvc=123 "{REDACTED}" ok'


def test_the_log_filter_and_formatter_redact_extra_fields_numbers_and_exceptions() -> None:
    try:
        raise ValueError("bad input 4242 4242 4242 4242")
    except ValueError:
        record = logging.LogRecord("shop", logging.ERROR, __file__, 1, "got %s and %d", ("4242424242424242",
                                   4000056655665556), sys.exc_info())
    record.__dict__.update(payload={"card": ["x", "5555-5555-5555-4444"]}, amount=4242424242424242)

    assert RedactCardNumbers().filter(record)

    formatted = RedactingFormatter(logging.Formatter("%(message)s %(payload)s %(amount)s")).format(record)
    for pan in ("4242424242424242", "4000056655665556", "5555-5555-5555-4444", "4242 4242 4242 4242"):
        assert pan not in formatted
    assert "ValueError" in formatted and REDACTED in formatted
