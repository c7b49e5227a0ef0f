"""Hostile input for the property tests: card numbers as clients write and encode them, and an
oracle that finds one wherever it landed.

The oracle is deliberately not `shop.cards`: it decodes every layer the stack or a reader could
(percent-encoding, JSON and HTML escapes, full-width and other Unicode digits), drops everything
that is not a digit, and looks for the generated number's digits. So a number that was stored with
any separators, encoding or redaction slip is found; one that was replaced is not.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote_plus

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Deterministic in CI: the seed comes from the test's name (derandomize), the example count is fixed,
# nothing is read from or saved to an example database.
DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=40,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
# What people and programs put between groups, from plain to exotic.
SEPARATORS = (" ", "-", ".", "/", "_", ":", ",", "+", "  ", " - ", "\t", "\n", "\u00a0", "\u2009", "\u202f",
              "\u2010", "\u2013", "\u2014", "\u2212", "\uff0d", "\u3000", "\u30fb", "\uff0e", "\uff0f",
              "\u00b7")
INVISIBLE = ("\u200b", "\u00ad", "\u2060", "\ufeff", "\u200d")
# Decimal digits of other scripts that Unicode-aware code reads as 0-9 (offset of their zero).
DIGIT_ZEROS = (0x30, 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x1D7CE)
# Groupings as cards print them, by total length.
GROUPINGS: dict[int, list[tuple[int, ...]]] = {
    13: [(4, 4, 5), (4, 4, 4, 1)], 14: [(4, 6, 4)], 15: [(4, 6, 5)], 16: [(4, 4, 4, 4)],
    17: [(4, 4, 4, 4, 1)], 18: [(4, 4, 4, 4, 2)], 19: [(4, 4, 4, 4, 3)]}


def luhn_check_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """A Luhn-valid 13-19 digit number with an issuer-like first digit and no long repeats (so its
    digits never turn up by chance in timestamps or ids)."""
    length = draw(st.integers(min_value=13, max_value=19))
    first = draw(st.sampled_from("23456"))
    rest = draw(st.text(alphabet="0123456789", min_size=length - 2, max_size=length - 2)
                .filter(lambda s: len(set(s)) >= 5 and not re.search(r"(.)\1\1\1", s)))
    body = first + rest
    return body + luhn_check_digit(body)


@dataclass(frozen=True)
class Alphabet:
    """What a field accepts, so the written number passes its validation and reaches storage."""
    separators: tuple[str, ...] = SEPARATORS
    letters: str = LETTERS
    digit_zeros: tuple[int, ...] = DIGIT_ZEROS
    invisible: tuple[str, ...] = INVISIBLE


ANY_TEXT = Alphabet()


@st.composite
def written(draw: st.DrawFn, pan: str, alphabet: Alphabet = ANY_TEXT) -> str:
    """The number as a client may write it: grouped or not, any separator, any script's digits,
    invisible characters, letters around it."""
    digits = "".join(chr(draw(st.sampled_from(alphabet.digit_zeros)) + int(d)) for d in pan) \
        if draw(st.booleans()) else pan
    if bool(alphabet.separators) and draw(st.booleans()):
        grouping = draw(st.sampled_from(GROUPINGS[len(pan)]))
        separator = draw(st.sampled_from(alphabet.separators))
        groups, position = [], 0
        for size in grouping:
            groups.append(digits[position:position + size])
            position += size
        text = separator.join(groups)
    else:
        text = digits
    if bool(alphabet.invisible) and draw(st.booleans()):
        at = draw(st.integers(min_value=1, max_value=len(text) - 1))
        text = text[:at] + draw(st.sampled_from(alphabet.invisible)) + text[at:]
    prefix = draw(st.text(alphabet=alphabet.letters, max_size=6)) if alphabet.letters else ""
    suffix = draw(st.text(alphabet=alphabet.letters, max_size=6)) if alphabet.letters else ""
    glue = draw(st.sampled_from(["", *alphabet.separators[:2]])) if prefix else ""
    return prefix + glue + text + suffix


def percent_encoded(text: str, *, layers: int = 1, every: bool = True) -> str:
    """Percent-encode (all characters, or digits only) `layers` times, as a client may."""
    for _ in range(layers):
        text = "".join("".join(f"%{byte:02X}" for byte in char.encode()) if every or char.isdigit() else char
                       for char in text)
    return text


def json_escaped(value: str) -> str:
    """A JSON string literal with every character written as a \\u escape."""
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else json.dumps(c)[1:-1] for c in value) + '"'


ENCODINGS = ("plain", "percent", "percent-digits", "percent-twice", "html-entities")


def encoded(text: str, encoding: str) -> str:
    """A further layer of encoding inside a value (the app stores it as written)."""
    if encoding == "percent":
        return percent_encoded(text)
    if encoding == "percent-digits":
        return percent_encoded(text, every=False)
    if encoding == "percent-twice":
        return percent_encoded(text, layers=2)
    if encoding == "html-entities":
        return "".join(f"&#{ord(c)};" if c.isdigit() else c for c in text)
    return text


# --- the oracle ---------------------------------------------------------------------------------

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def visible_digits(text: str) -> str:
    """Every digit a reader could recover from the text, in order, as ASCII."""
    for _ in range(4):
        text = unquote_plus(text, errors="replace")
        text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        text = html.unescape(text)
    return "".join(str(unicodedata.decimal(char)) for char in text if char.isdecimal())


def found_in(pan: str, **places: str) -> list[str]:
    """The names of the places whose text holds the card number in any form."""
    return [name for name, text in places.items() if pan in visible_digits(text)]
