"""Payments through a provider, behind the `PaymentGateway` interface. Only tokens and provider ids.

One checkout = one PaymentIntent. The intent is created first (no money moves) under an idempotency
key derived from the checkout's key, its id is stored, and only then is it confirmed under a second
derived key. A PaymentIntent can succeed at most once, so a retried or re-queried confirmation can
never charge twice. An unknown outcome (timeout, connection error, 5xx, 409) is resolved by
re-querying the intent by id; if that fails too the outcome stays UNKNOWN and the caller retries
later with the same keys.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import stripe

logger = logging.getLogger("shop.payments")


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PaymentResult:
    status: PaymentStatus
    intent_id: str
    decline_code: str = ""


class PaymentUnavailable(Exception):
    """The provider could not be reached before any money could move; safe to retry."""


class PaymentGateway(Protocol):
    provider: str

    def prepare(self, *, amount_cents: int, currency: str, payment_method: str, key: str,
                metadata: dict[str, str]) -> str:
        """Create (or, for a repeated key, find) the intent; returns its id. Never moves money."""
        ...

    def confirm(self, intent_id: str, *, key: str) -> PaymentResult:
        """Charge the intent once; resolves timeouts and 5xx by re-querying the intent."""
        ...

    def lookup(self, intent_id: str) -> PaymentResult:
        """The intent's current outcome, UNKNOWN if the provider cannot say right now."""
        ...


def provider_key(checkout_key: str, step: str) -> str:
    """The provider-side idempotency key for one step of one checkout (stable, opaque)."""
    digest = hashlib.sha256(checkout_key.encode()).hexdigest()[:40]
    return f"shop-{digest}-{step}"


def _result_from_intent(intent: Any) -> PaymentResult:
    status = str(intent["status"])
    intent_id = str(intent["id"])
    if status == "succeeded":
        return PaymentResult(PaymentStatus.SUCCEEDED, intent_id)
    error = intent.get("last_payment_error") if hasattr(intent, "get") else None
    if status == "requires_payment_method" and error:
        code = str(error.get("decline_code") or error.get("code") or "declined")
        return PaymentResult(PaymentStatus.DECLINED, intent_id, code)
    if status == "canceled":
        return PaymentResult(PaymentStatus.DECLINED, intent_id, "canceled")
    if status == "requires_action":
        # Customer authentication (3-D Secure) is not supported by this flow: treated as a decline.
        return PaymentResult(PaymentStatus.DECLINED, intent_id, "authentication_required")
    # requires_confirmation (confirm never arrived), processing: not settled yet.
    return PaymentResult(PaymentStatus.UNKNOWN, intent_id)


_UNKNOWN_OUTCOME = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError,
                    stripe.IdempotencyError)


class StripeGateway:
    """PaymentGateway over Stripe's official client (PaymentIntents)."""

    provider = "stripe"

    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    @classmethod
    def create(cls, api_key: str, *, api_base: str = "", timeout_seconds: float = 10.0) -> StripeGateway:
        kwargs: dict[str, Any] = {}
        if api_base:
            kwargs["base_addresses"] = {"api": api_base}
        client = stripe.StripeClient(api_key, http_client=stripe.RequestsClient(timeout=timeout_seconds),
                                     max_network_retries=0, **kwargs)
        return cls(client)

    def prepare(self, *, amount_cents: int, currency: str, payment_method: str, key: str,
                metadata: dict[str, str]) -> str:
        params: dict[str, Any] = {
            "amount": amount_cents, "currency": currency.lower(), "payment_method": payment_method,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "metadata": metadata,
        }
        try:
            intent = self._client.v1.payment_intents.create(params=params,  # type: ignore[arg-type]
                                                            options={"idempotency_key": key})
        except stripe.StripeError as error:
            # Creating an intent moves no money: whatever happened, retrying with the key is safe.
            logger.warning("payment intent creation failed: %s", type(error).__name__)
            raise PaymentUnavailable(type(error).__name__) from error
        return str(intent.id)

    def confirm(self, intent_id: str, *, key: str) -> PaymentResult:
        try:
            intent = self._client.v1.payment_intents.confirm(intent_id, options={"idempotency_key": key})
        except stripe.CardError as error:
            code = str(error.code or "card_declined")
            decline = (error.error.decline_code if error.error else None) or code
            return PaymentResult(PaymentStatus.DECLINED, intent_id, str(decline))
        except _UNKNOWN_OUTCOME as error:
            logger.warning("payment confirmation outcome unknown (%s); re-querying intent %s",
                           type(error).__name__, intent_id)
            return self._resolve(intent_id, key)
        except stripe.InvalidRequestError as error:
            # e.g. payment_intent_unexpected_state: it was confirmed before (key expired). Ask.
            logger.warning("payment confirmation refused (%s); re-querying intent %s", error.code, intent_id)
            return self.lookup(intent_id)
        return _result_from_intent(intent)

    def _resolve(self, intent_id: str, key: str) -> PaymentResult:
        result = self.lookup(intent_id)
        if result.status is not PaymentStatus.UNKNOWN:
            return result
        # Still requires_confirmation: the confirm may never have reached the provider. Repeating it
        # under the same key is safe: executed at most once, and an intent succeeds at most once.
        try:
            intent = self._client.v1.payment_intents.confirm(intent_id, options={"idempotency_key": key})
        except stripe.CardError as error:
            return PaymentResult(PaymentStatus.DECLINED, intent_id, str(error.code or "card_declined"))
        except stripe.StripeError:
            return self.lookup(intent_id)
        return _result_from_intent(intent)

    def lookup(self, intent_id: str) -> PaymentResult:
        try:
            intent = self._client.v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as error:
            logger.warning("payment intent lookup failed: %s", type(error).__name__)
            return PaymentResult(PaymentStatus.UNKNOWN, intent_id)
        return _result_from_intent(intent)


def stripe_api_key_from_secret(secret_arn: str, *, secretsmanager: Any) -> str:
    """The Stripe secret key stored in Secrets Manager: a plain string or {"api_key": "..."}."""
    import json

    value = str(secretsmanager.get_secret_value(SecretId=secret_arn)["SecretString"]).strip()
    if value.startswith("{"):
        value = str(json.loads(value)["api_key"])
    return value
