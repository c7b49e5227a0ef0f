"""No cardholder data (case study: PCI scope is minimised by never touching raw card data; the
platform stores the payment provider's ids only). PCI DSS v4.0 Req 3 (protect stored account data).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .common import MANDATORY, Report, Res, message, parse_json, pci, resource_policy, string_list, tokens

# Column, attribute, variable and parameter names that declare raw card data (compared with
# separators removed, over any run of a name's tokens: `customer_card_number` has `cardnumber`).
CARD_DATA_NAMES = ["cardnumber", "cardno", "cardnum", "ccnumber", "ccnum", "creditcardnumber", "pan",
                   "primaryaccountnumber", "cvv", "cvv2", "cvc", "cvc2", "cav2", "securitycode",
                   "cardsecuritycode", "cardverificationvalue", "cardverificationcode", "trackdata",
                   "track1", "track2", "track1data", "track2data", "magstripe", "magneticstripe",
                   "pinblock", "fulltrack"]
CLASSIFICATIONS = ["cardholder-data", "cardholder", "chd", "pci-chd", "pan", "card-data"]
_NAME_KEYS = ("name", "Name", "attributeName", "AttributeName", "columnName")
_KEY_NAME_KEYS = ("hashKey", "rangeKey")
_VARIABLE_MAPS = ("variables", "environmentVariables", "Variables")
_NAMED_TYPES = ("aws:ssm/parameter:Parameter", "aws:secretsmanager/secret:Secret")
_DIGITS = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _issuer_prefix(digits: str) -> bool:
    """Major industry identifiers of the card networks (3 to 6, and Mastercard's 2221-2720)."""
    return digits[0] in "3456" or 2221 <= int(digits[:4]) <= 2720


def card_numbers(text: str) -> list[str]:
    """Luhn-valid 13-19 digit numbers with a card network prefix, masked for the message."""
    found = []
    for match in _DIGITS.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and _issuer_prefix(digits) and luhn_valid(digits):
            found.append(f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}")
    return found


def _names(value: Any, depth: int = 0) -> Iterator[str]:
    """Declared names inside a resource's properties: attributes, columns, variables, keys."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if depth > 0 and key in _NAME_KEYS and isinstance(item, str):
                yield item
            elif key in _KEY_NAME_KEYS and isinstance(item, str):
                yield item
            elif key in _VARIABLE_MAPS and isinstance(item, Mapping):
                yield from (str(k) for k in item)
            if isinstance(item, str) and item.lstrip().startswith(("[", "{")):
                parsed = parse_json(item)
                if isinstance(parsed, dict | list):
                    yield from _names(parsed, depth + 1)
            else:
                yield from _names(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _names(item, depth + 1)


def is_card_data_name(name: str, forbidden: set[str]) -> bool:
    words = tokens(name)
    return any("".join(words[i:j]) in forbidden
               for i in range(len(words)) for j in range(i + 1, min(len(words), i + 4) + 1))


def _values(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool):
        return
    elif isinstance(value, int | float) and value >= 1e12:
        yield str(int(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)


def _check(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """No resource declares or holds raw card data.

    Covers: every resource type: declared names (table attributes and keys, Glue and Athena columns,
    environment and container variables, parameter and secret names), every string value (a
    Luhn-valid card number with a card network's prefix) and the data-classification tag.

    Well-built programs: they store the payment provider's token or intent id (`card_last4`,
    `card_brand` and `payment_intent_id` pass) and never a number, CVV or track data.
    """
    forbidden = {re.sub(r"[^a-z0-9]", "", n.lower()) for n in config["cardDataNames"]}
    names = list(_names(resource.props))
    if resource.type in _NAMED_TYPES and isinstance(resource.props.get("name"), str):
        names.append(resource.props["name"])
    declared = sorted({n for n in names if is_card_data_name(n, forbidden)})
    if declared:
        report(message(resource, f"declares raw card data: {', '.join(declared)}",
                       "never store or pass card numbers, CVVs or track data; keep the payment "
                       "provider's token or payment intent id instead (PCI DSS v4.0 Req 3)"))
    numbers = sorted({n for v in _values(resource.props) for n in card_numbers(v)})
    if numbers:
        report(message(resource, f"contains what is a valid card number ({', '.join(numbers)})",
                       "remove it: card numbers never appear in infrastructure, config or code"))
    keys = {re.sub(r"[^a-z0-9]", "", k.lower()) for k in config["classificationTagKeys"]}
    values = {re.sub(r"[^a-z0-9]", "", v.lower()) for v in config["cardholderClassifications"]}
    for key, value in resource.tags.items():
        if re.sub(r"[^a-z0-9]", "", key.lower()) in keys and isinstance(value, str) \
                and re.sub(r"[^a-z0-9]", "", value.lower()) in values:
            report(message(resource, f"is tagged {key}={value}: it would hold cardholder data and "
                                     "bring the platform into full PCI DSS scope",
                           "keep card data at the payment provider; classify this resource by "
                           "what it really stores"))


cardholder_data_disallow = resource_policy(
    name="cardholder-data-disallow",
    description="No resource may declare or contain raw cardholder data (PAN, CVV, track data).",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check,
    remediation="Remove card-data attributes, columns, variables and values; store the payment "
                "provider's token or payment intent id instead.",
    config={
        "cardDataNames": string_list("Names (separators ignored) that declare raw card data.",
                                     CARD_DATA_NAMES),
        "classificationTagKeys": string_list("Tag keys that classify data.", ["data-classification"]),
        "cardholderClassifications": string_list("Classification values meaning cardholder data.",
                                                 CLASSIFICATIONS)},
    framework=pci("3.2.1, 3.3.1"), tags=["case-study", "pci-dss"],
    antipattern="touching raw card data (PCI scope is minimised by never doing so)",
    covers=("(every resource: names, values, tags)",))

POLICIES = [cardholder_data_disallow]
