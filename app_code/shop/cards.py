"""Detection and redaction of raw card numbers (PANs). The platform only ever handles tokens.

A PAN is 13 to 19 digits, optionally grouped by single spaces or dashes, that passes the Luhn check.
"""

from __future__ import annotations

import re

# Digit runs, allowing one space or dash between digits; bounded by non-digits.
_CANDIDATE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,}(?![0-9])")
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
