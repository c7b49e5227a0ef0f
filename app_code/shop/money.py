"""Amounts for people: integer minor units shown in the currency's major unit."""

from __future__ import annotations

MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}
"""Digits after the decimal point where a currency does not use two (ISO 4217)."""


def money(cents: int, currency: str) -> str:
    """`2500, "USD"` -> `25.00 USD`."""
    digits = MINOR_UNITS.get(currency, 2)
    return f"{cents / 10 ** digits:,.{digits}f} {currency}"
