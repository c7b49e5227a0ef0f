"""The pack's building blocks, imported from the repository root without building the PolicyPack."""

from __future__ import annotations

import pytest

from policies.guardrails import POLICIES
from policies.guardrails.cardholder_data import card_numbers, is_card_data_name, luhn_valid
from policies.guardrails.common import UNKNOWN, plain, tokens
from policies.guardrails.payments import is_payment_request
from policies.guardrails.secrets import is_secret_name, plaintext_secret


def test_the_package_imports_without_starting_a_pack() -> None:
    assert len({p.name for p in POLICIES}) == len(POLICIES) >= 39


@pytest.mark.parametrize(("text", "expected"), [
    ("orderPaymentsQueue-dlq", ["order", "payments", "queue", "dlq"]),
    ("STRIPE_API_KEY", ["stripe", "api", "key"]),
    ("ChargeCustomer", ["charge", "customer"]),
])
def test_names_split_into_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_unknowns_become_an_explicit_marker_that_refuses_truthiness() -> None:
    value = plain({"a": "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "b": ["x"]})
    assert value["a"] is UNKNOWN and value["b"] == ["x"]
    with pytest.raises(TypeError):
        bool(value["a"])


@pytest.mark.parametrize(("number", "valid"), [("4111111111111111", True), ("4111111111111112", False),
                                               ("378282246310005", True), ("5555555555554444", True)])
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_card_numbers_need_luhn_length_and_a_network_prefix() -> None:
    assert card_numbers("card 4111-1111-1111-1111 on file") == ["411111******1111"]
    assert card_numbers("epoch ms 1700000000000, account 123456789012, uuid 0f3a") == []


@pytest.mark.parametrize(("name", "declares"), [("card_number", True), ("customerCardNumber", True),
                                                ("PAN", True), ("cvv2", True), ("track_data", True),
                                                ("card_last4", False), ("span_id", False),
                                                ("company", False), ("card_brand", False)])
def test_card_data_names(name: str, declares: bool) -> None:
    forbidden = {"cardnumber", "pan", "cvv2", "trackdata"}
    assert is_card_data_name(name, forbidden) is declares


@pytest.mark.parametrize(("name", "secret"), [("DB_PASSWORD", True), ("stripeApiKey", True),
                                              ("WEBHOOK_SECRET", True), ("API_KEY_SECRET_ARN", False),
                                              ("TOKEN_TTL", False), ("PAYMENT_PROVIDER_URL", False)])
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_known_credential_formats_are_secrets_under_any_name() -> None:
    assert plaintext_secret("GREETING", "AKIAIOSFODNN7EXAMPLE")
    assert plaintext_secret("DB_PASSWORD", "arn:aws:secretsmanager:us-east-1:1:secret:db") is None


@pytest.mark.parametrize(("text", "request_"), [("payment.requested", True), ("ChargeCustomer", True),
                                                ("payment.capture", True), ("payment.succeeded", False),
                                                ("order.placed", False), ("payment-receipts", False)])
def test_payment_requests(text: str, request_: bool) -> None:
    assert is_payment_request(text, ["payment", "charge", "capture", "billing"]) is request_
