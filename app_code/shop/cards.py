"""Detection and redaction of raw card numbers (PANs). The platform only ever handles tokens.

A PAN is 13 to 19 digits that pass the Luhn check, written contiguously or in the groupings cards
use (4-4-4-4 and its 13 to 19 digit variants, 4-6-5, 4-6-4) with spaces or dashes. Other groupings
of digits (a UUID's 8-4-4-4-12, dates, phone numbers) are not card numbers, so ids never trip it.
"""

from __future__ import annotations

import re

_GROUPED = (r"[0-9]{4}(?:[ -][0-9]{4}){2}[ -][0-9]{1,4}(?:[ -][0-9]{1,3})?"  # 4-4-4-4 (13 to 19 digits)
            r"|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5}")                         # 4-6-5, 4-6-4
# Grouped numbers must not continue a dashed token (a UUID's segments) or a digit run on either side.
_CANDIDATE = re.compile(
    r"(?<![0-9])(?:[0-9]{13,19}(?![0-9])"
    rf"|(?<![0-9] )(?<![0-9A-Za-z]-)(?:{_GROUPED})(?![0-9A-Za-z])(?! [0-9])(?!-[0-9A-Za-z]))")
REDACTED = "[REDACTED-PAN]"


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _is_pan(run: str) -> bool:
    digits = run.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def contains_pan(text: str) -> bool:
    """True when the text holds anything that looks like a raw card number."""
    return any(_is_pan(match.group()) for match in _CANDIDATE.finditer(text))


def redact(text: str) -> str:
    """The text with every possible card number replaced."""
    return _CANDIDATE.sub(lambda m: REDACTED if _is_pan(m.group()) else m.group(), text)
