"""What "looks like a card number" means, for the request guard and the log redaction alike.

A card number (PAN) is 13 to 19 digits that pass the Luhn check, written the ways a client can
write one:
- contiguous (`4242424242424242`), also between letters (`key4242424242424242x`);
- grouped the way cards print them: a first group of 4 digits, middle groups of 4 to 6, a last
  group of 1 to 6 (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3, ...), the groups joined by 1 to 3 separator
  characters of any kind: whitespace of every script, dashes of every kind, `. / \\ _ : , + * ~ |`
  and their full-width and small forms (`4242.4242.4242.4242`, `4242 - 4242 - 4242 - 4242`);
- with any Unicode decimal digits (full-width `４２４２`, Arabic-Indic, ...);
- with invisible format characters (zero-width space, soft hyphen, ...) anywhere, inside a group
  or as a separator;
- through the encodings a client or a log line can wrap text in, decoded here as many layers deep
  as they go: percent-encoding (`%34%32`, `%2534`, UTF-8 `%EF%BC%94`), JSON `\\u0034` escapes and
  HTML numeric entities (`&#52;`, `&#x34;`).

Other digit sequences are not card numbers, so ids and times never trip it: a UUID (8-4-4-4-12 hex
digits, which may all be digits) is an id; timestamps (`2026-11-25 10:00:00`), IP addresses,
phone numbers and prices have no 4-digit group followed by 4-to-6-digit groups. Digits glued to a
card number make another number (`42424242424242421` is 17 digits and is judged as such).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

REDACTED = "[REDACTED-PAN]"
MIN_DIGITS, MAX_DIGITS = 13, 19
MAX_GAP = 3  # separator characters between two groups

# Invisible format characters (Unicode category Cf; tests/app/test_cards.py checks the list).
_INVISIBLE = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
              "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
              "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f")
# Separators: whitespace (`\s` is Unicode-aware), every dash (category Pd) and the minus sign, and
# the ASCII punctuation people put between groups with its full-width, small and compatibility forms.
_SEPARATOR = (r"\s\-./\\_:,+*~|"
              "\u00b7\u058a\u05be\u1400\u1806\u2010-\u2015\u2022\u2024\u2027\u2043\u207a\u208a\u2212"
              "\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d\u301c\u3030\u30a0\u30fb\ufb29\ufe10\ufe13\ufe31-\ufe34"
              "\ufe4d-\ufe50\ufe52\ufe55\ufe58\ufe61-\ufe63\ufe68\uff0a-\uff0f\uff1a\uff3c\uff3f\uff5c"
              "\uff5e\uff65\U00010ead")
# A run: digit groups joined by short separator gaps. The two classes are disjoint, so no backtracking.
_RUN = re.compile(rf"\d+(?:[{_SEPARATOR}]{{1,{MAX_GAP}}}\d+)*")
_GROUP = re.compile(r"\d+")
# A UUID is an id (cart, order, event ids), whatever digits its segments happen to hold.
_UUID = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}(?![0-9A-Fa-f])")
_DIGIT = re.compile(r"\d")
# One layer of encoding: a run of percent-escaped bytes, a JSON escape, an HTML numeric entity; or an
# invisible character, which decodes to nothing.
_LAYER = re.compile(r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)|\\u(?P<json>[0-9A-Fa-f]{4})"
                    r"|&#(?:[xX](?P<hex>[0-9A-Fa-f]{1,6})|(?P<dec>[0-9]{1,7}));"
                    rf"|(?P<invisible>[{_INVISIBLE}])")
_HAS_INVISIBLE = re.compile(f"[{_INVISIBLE}]")
_MAX_LAYERS = 4


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class _View:
    """The text with its encodings decoded; `start[i]`/`end[i]` locate character i in the original."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.start = list(range(len(text)))
        self.end = list(range(1, len(text) + 1))

    def decode_layer(self, invisible: str) -> bool:
        """Decode one layer of escapes in place, invisible characters becoming `invisible`; False
        when there was nothing left to decode."""
        text, start, end = [], [], []
        position = 0
        for match in _LAYER.finditer(self.text):
            text.append(self.text[position:match.start()])
            start.extend(self.start[position:match.start()])
            end.extend(self.end[position:match.start()])
            for char, first, last in _decoded(match, invisible):
                text.append(char)
                start.append(self.start[match.start() + first])
                end.append(self.end[match.start() + last - 1])
            position = match.end()
        if position == 0:
            return False
        text.append(self.text[position:])
        start.extend(self.start[position:])
        end.extend(self.end[position:])
        self.text, self.start, self.end = "".join(text), start, end
        return True


def _decoded(match: re.Match[str], invisible: str) -> Iterator[tuple[str, int, int]]:
    """(character, first, last) offsets within the match for each character the escape stands for."""
    if match.group("invisible") is not None:
        if invisible:
            yield invisible, 0, len(match.group())
        return
    if match.group("pct") is None:
        code = int(match.group("json") or match.group("hex") or "0", 16) if not match.group("dec") \
            else int(match.group("dec"))
        yield (chr(code) if 0 < code <= 0x10FFFF else "\ufffd"), 0, len(match.group())
        return
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    escapes = match.group("pct")
    first = 0
    for index in range(0, len(escapes), 3):
        chars = decoder.decode(bytes([int(escapes[index + 1:index + 3], 16)]))
        for char in chars:
            yield char, first, index + 3
        if chars:
            first = index + 3
    for char in decoder.decode(b"", final=True):
        yield char, first, len(escapes)


def _view(text: str, invisible: str) -> _View:
    view = _View(text)
    for _ in range(_MAX_LAYERS):
        if not view.decode_layer(invisible):
            break
    return view


def _pan_spans(text: str) -> Iterator[tuple[int, int]]:
    """Spans (start, end) in `text` of every digit sequence that reads as a card number."""
    text = _UUID.sub(lambda match: "u" * len(match.group()), text)
    for run in _RUN.finditer(text):
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(run.group())]
        if sum(end - start for start, end in groups) < MIN_DIGITS:
            continue
        digits = [run.group()[start:end] for start, end in groups]
        offset = run.start()
        for first, value in enumerate(digits):
            if MIN_DIGITS <= len(value) <= MAX_DIGITS and luhn_valid(value):
                yield offset + groups[first][0], offset + groups[first][1]
            if len(value) != 4:
                continue
            joined = value
            for last in range(first + 1, len(digits)):
                joined += digits[last]
                if len(joined) > MAX_DIGITS:
                    break
                if len(joined) >= MIN_DIGITS and len(digits[last]) <= 6 and luhn_valid(joined):
                    yield offset + groups[first][0], offset + groups[last][1]
                if not 4 <= len(digits[last]) <= 6:
                    break  # a shorter or longer group can only end a card number


def _spans(text: str) -> list[tuple[int, int]]:
    """Spans in the original text of every card number, whatever encoding it hides behind."""
    if not _LAYER.search(text):
        if len(_DIGIT.findall(text)) < MIN_DIGITS:
            return []
        return list(_pan_spans(text))
    # An invisible character may hide inside a group (`42<ZWSP>42...`) or stand for a separator
    # (`4242<soft hyphen>4242 ...`): read the text both ways.
    views = [_view(text, "")]
    if _HAS_INVISIBLE.search(text):
        views.append(_view(text, " "))
    return [(view.start[start], view.end[end - 1]) for view in views for start, end in _pan_spans(view.text)]


def contains_pan(text: str) -> bool:
    """True when the text holds anything that reads as a card number."""
    return bool(_spans(text))


def redact(text: str) -> str:
    """The text with every card number (and the escapes that spelled it) replaced by REDACTED."""
    merged: list[list[int]] = []
    for start, end in sorted(_spans(text)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return text
    parts, position = [], 0
    for start, end in merged:
        parts += [text[position:start], REDACTED]
        position = end
    parts.append(text[position:])
    return "".join(parts)
