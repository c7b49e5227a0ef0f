"""Checkout: price the cart, charge synchronously, then write order + items + outbox in one transaction.

The rules this module keeps (docs/checkout.md explains them with a sequence diagram):
- prices come from the catalog in PostgreSQL, never from the client;
- one idempotency key is one checkout: its priced snapshot, one PaymentIntent, one order, and the
  response it settled on, which every repeat of the key gets back;
- concurrent requests for the same key (or the same cart) are refused with 409 while one runs;
- `order.placed` is written only in the transaction that writes the order, after a confirmed charge;
- a failure after a confirmed charge is rolled forward, never charged again: a retry of the key, or
  the recovery job, completes the order from the stored intent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from shop.db import Connection, Database
from shop.events import ORDER_PLACED, SOURCES, event_id_for, order_placed_detail, rfc3339
from shop.payments import PaymentGateway, PaymentResult, PaymentStatus, PaymentUnavailable, provider_key
from shop.userstate import Cart, CartNotFound, CartStore, quantities

logger = logging.getLogger("shop.checkout")
Clock = Callable[[], datetime]


class CheckoutError(Exception):
    """A checkout that ends in a 4xx/5xx answer. `message` never contains request values."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


@dataclass(frozen=True, kw_only=True)
class CheckoutRequest:
    cart_id: str
    payment_method: str
    idempotency_key: str
    shipping: dict[str, str]


@dataclass(frozen=True)
class CartAsRead:
    """The request's cart as the caller already read it (None: absent or expired), to save a read."""

    cart: Cart | None


@dataclass(frozen=True, kw_only=True)
class CheckoutResult:
    status: int
    body: dict[str, Any]
    published: tuple[uuid.UUID, ...] = field(default=())
    """Outbox events committed by this call, to hand to the relay right away."""


@dataclass(frozen=True, kw_only=True)
class _Checkout:
    key: str
    customer_id: str
    cart_id: str
    order_id: uuid.UUID
    currency: str
    total_cents: int
    items: list[dict[str, Any]]
    shipping: dict[str, str]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> _Checkout:
        return cls(key=row["idempotency_key"], customer_id=str(row["customer_id"]), cart_id=row["cart_id"],
                   order_id=row["order_id"], currency=row["currency"], total_cents=row["total_cents"],
                   items=list(row["items"]), shipping=dict(row["shipping"]))


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(b"checkout:" + key.encode()).digest()[:8], "big", signed=True)


def _fingerprint(request: CheckoutRequest, customer_id: str) -> str:
    canonical = json.dumps({"cart_id": request.cart_id, "payment_method": request.payment_method,
                            "shipping": request.shipping, "customer_id": customer_id}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CheckoutService:
    def __init__(self, db: Database, carts: CartStore, gateway: PaymentGateway, *,
                 clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._db = db
        self._carts = carts
        self._gateway = gateway
        self._clock = clock

    # --- the request path -----------------------------------------------------------------------

    def checkout(self, request: CheckoutRequest, customer_id: str, *,
                 cart: CartAsRead | None = None) -> CheckoutResult:
        """Place the order (or answer what this key settled on). `cart`: the request's cart, if the
        caller read it already (the order service reads it with the session); else it is read here."""
        fingerprint = _fingerprint(request, customer_id)
        with self._db.connection() as conn:
            if not self._try_lock(conn, request.idempotency_key):
                raise CheckoutError(409, "checkout_in_progress",
                                    "a checkout with this idempotency key is in progress; retry shortly",
                                    retry_after=1)
            try:
                result = self._checkout_locked(conn, request, customer_id, fingerprint, cart)
            finally:
                self._unlock(conn, request.idempotency_key)
        if result.status == 201 and result.published:
            self._mark_cart_ordered(request.cart_id, str(result.body["order_id"]))
        return result

    def _checkout_locked(self, conn: Connection, request: CheckoutRequest, customer_id: str,
                         fingerprint: str, cart: CartAsRead | None) -> CheckoutResult:
        row = conn.execute("SELECT * FROM checkouts WHERE idempotency_key = %s",
                           (request.idempotency_key,)).fetchone()
        if row is not None:
            if row["request_hash"] != fingerprint:
                raise CheckoutError(422, "idempotency_key_reused",
                                    "this idempotency key was used for a different request")
            if row["status"] != "pending":
                return CheckoutResult(status=row["response_status"], body=row["response_body"])
            checkout = _Checkout.from_row(row)
        else:
            checkout = self._start(conn, request, customer_id, fingerprint,
                                   cart.cart if cart else self._carts.get(request.cart_id))
        return self._pay_and_place(conn, checkout, payment_method=request.payment_method)

    def _start(self, conn: Connection, request: CheckoutRequest, customer_id: str,
               fingerprint: str, cart: Cart | None) -> _Checkout:
        if cart is None or cart.customer_id != customer_id:
            raise CheckoutError(404, CartNotFound.code, CartNotFound.message)
        if cart.status != "open":
            raise CheckoutError(409, "cart_already_checked_out", "this cart has already been ordered")
        try:
            lines = quantities(cart)
        except ValueError as error:
            raise CheckoutError(422, "invalid_cart", str(error)) from error
        if not lines:
            raise CheckoutError(422, "empty_cart", "the cart has no items")
        items, currency = self._price(conn, lines)
        total = sum(item["quantity"] * item["unit_price_cents"] for item in items)
        if total <= 0:
            raise CheckoutError(422, "invalid_cart", "the cart's total must be positive")
        checkout = _Checkout(key=request.idempotency_key, customer_id=customer_id, cart_id=cart.cart_id,
                             order_id=uuid.uuid4(), currency=currency, total_cents=total, items=items,
                             shipping=request.shipping)
        try:
            with conn.transaction():
                conn.execute(
                    """INSERT INTO checkouts (idempotency_key, request_hash, customer_id, cart_id, order_id,
                                              currency, total_cents, items, shipping)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                    (checkout.key, fingerprint, customer_id, checkout.cart_id, checkout.order_id, currency,
                     total, Jsonb(items), Jsonb(checkout.shipping)))
                conn.execute(
                    """INSERT INTO payment_attempts (attempt_id, idempotency_key, provider, provider_key,
                                                     amount_cents, currency)
                       VALUES (%s, %s, %s, %s, %s, %s)""",
                    (uuid.uuid4(), checkout.key, self._gateway.provider,
                     provider_key(checkout.key, "confirm"), total, currency))
        except psycopg.errors.UniqueViolation as error:
            if error.diag.constraint_name == "checkouts_one_live_per_cart":
                raise CheckoutError(409, "cart_checkout_in_progress",
                                    "this cart is already being checked out or was ordered") from error
            raise
        except psycopg.errors.ForeignKeyViolation as error:
            raise CheckoutError(404, "customer_not_found", "no customer record for this session") from error
        return checkout

    @staticmethod
    def _price(conn: Connection, lines: Sequence[tuple[str, int]]) -> tuple[list[dict[str, Any]], str]:
        skus = [sku for sku, _ in lines]
        rows = conn.execute("SELECT sku, price_cents, currency FROM products WHERE sku = ANY(%s) AND active",
                            (skus,)).fetchall()
        catalog = {row["sku"]: row for row in rows}
        missing = [sku for sku in skus if sku not in catalog]
        if missing:
            raise CheckoutError(422, "product_unavailable", f"{len(missing)} cart item(s) are not for sale")
        currencies = {catalog[sku]["currency"] for sku in skus}
        if len(currencies) != 1:
            raise CheckoutError(422, "mixed_currencies",
                                "the cart's items are priced in different currencies")
        items = [{"sku": sku, "quantity": quantity, "unit_price_cents": int(catalog[sku]["price_cents"])}
                 for sku, quantity in lines]
        return items, currencies.pop()

    def _pay_and_place(self, conn: Connection, checkout: _Checkout, *,
                       payment_method: str | None) -> CheckoutResult:
        attempt = conn.execute("SELECT * FROM payment_attempts WHERE idempotency_key = %s",
                               (checkout.key,)).fetchone()
        assert attempt is not None  # written with the checkout row
        intent_id = attempt["intent_id"]
        if intent_id is None:
            if payment_method is None:
                raise CheckoutError(409, "payment_not_started", "no payment was started for this checkout")
            try:
                intent_id = self._gateway.prepare(
                    amount_cents=checkout.total_cents, currency=checkout.currency,
                    payment_method=payment_method, key=provider_key(checkout.key, "create"),
                    metadata={"order_id": str(checkout.order_id)})
            except PaymentUnavailable as error:
                raise CheckoutError(503, "payment_unavailable",
                                    "the payment provider is unavailable; nothing was charged; retry with "
                                    "the same idempotency key", retry_after=2) from error
            conn.execute("UPDATE payment_attempts SET intent_id = %s, updated_at = now() "
                         "WHERE attempt_id = %s", (intent_id, attempt["attempt_id"]))
        result = self._gateway.confirm(intent_id, key=attempt["provider_key"])
        return self._settle(conn, checkout, attempt["attempt_id"], result)

    def _settle(self, conn: Connection, checkout: _Checkout, attempt_id: uuid.UUID,
                result: PaymentResult) -> CheckoutResult:
        if result.status is PaymentStatus.UNKNOWN:
            conn.execute("UPDATE payment_attempts SET status = 'unknown', updated_at = now() "
                         "WHERE attempt_id = %s", (attempt_id,))
            raise CheckoutError(503, "payment_pending",
                                "the payment outcome is not known yet; retry with the same idempotency key "
                                "(you will not be charged twice)", retry_after=2)
        if result.status is PaymentStatus.DECLINED:
            body = {"error": "payment_declined", "message": "the payment was declined",
                    "decline_code": result.decline_code}
            with conn.transaction():
                conn.execute("""UPDATE payment_attempts SET status = 'declined', decline_code = %s,
                                       updated_at = now() WHERE attempt_id = %s""",
                             (result.decline_code, attempt_id))
                conn.execute("""UPDATE checkouts SET status = 'declined', response_status = 402,
                                       response_body = %s, updated_at = now()
                                 WHERE idempotency_key = %s AND status = 'pending'""",
                             (Jsonb(body), checkout.key))
            logger.info("checkout declined", extra={"order_id": str(checkout.order_id),
                                                    "decline_code": result.decline_code})
            return CheckoutResult(status=402, body=body)
        try:
            conn.execute("""UPDATE payment_attempts SET status = 'succeeded', updated_at = now()
                             WHERE attempt_id = %s""", (attempt_id,))
            return self._place_order(conn, checkout, result.intent_id)
        except psycopg.Error as error:
            # Charged, order not recorded: roll forward later (retry of the key or the recovery job).
            logger.error("order not recorded after a confirmed charge; will be completed on retry or "
                         "by checkout recovery", extra={"order_id": str(checkout.order_id),
                                                        "intent_id": result.intent_id,
                                                        "db_error": type(error).__name__})
            raise CheckoutError(503, "order_not_recorded",
                                "the payment succeeded but the order is not recorded yet; retry with the "
                                "same idempotency key (you will not be charged twice)",
                                retry_after=2) from error

    def _place_order(self, conn: Connection, checkout: _Checkout, intent_id: str) -> CheckoutResult:
        placed_at = self._clock()
        event_id = event_id_for(ORDER_PLACED, str(checkout.order_id))
        detail = order_placed_detail(
            event_id=event_id, order_id=checkout.order_id, customer_id=uuid.UUID(checkout.customer_id),
            placed_at=placed_at, currency=checkout.currency, total_cents=checkout.total_cents,
            items=checkout.items, provider=self._gateway.provider, intent_id=intent_id,
            shipping=checkout.shipping)
        body = {"order_id": str(checkout.order_id), "status": "placed", "currency": checkout.currency,
                "total_cents": checkout.total_cents, "placed_at": rfc3339(placed_at), "items": checkout.items}
        with conn.transaction():
            conn.execute(
                """INSERT INTO orders (order_id, customer_id, idempotency_key, currency, total_cents,
                                       payment_provider, payment_intent_id, shipping_country,
                                       shipping_postal_code, placed_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (checkout.order_id, checkout.customer_id, checkout.key, checkout.currency,
                 checkout.total_cents, self._gateway.provider, intent_id, checkout.shipping["country"],
                 checkout.shipping["postal_code"], placed_at))
            with conn.cursor() as cursor:
                cursor.executemany(
                    """INSERT INTO order_items (order_id, line_no, sku, quantity, unit_price_cents)
                       VALUES (%s, %s, %s, %s, %s)""",
                    [(checkout.order_id, line_no, item["sku"], item["quantity"], item["unit_price_cents"])
                     for line_no, item in enumerate(checkout.items, start=1)])
            conn.execute("INSERT INTO outbox (event_id, source, detail_type, detail) VALUES (%s, %s, %s, %s)",
                         (event_id, SOURCES[ORDER_PLACED], ORDER_PLACED, Jsonb(detail)))
            conn.execute("""UPDATE checkouts SET status = 'completed', response_status = 201,
                                   response_body = %s, updated_at = now()
                             WHERE idempotency_key = %s AND status = 'pending'""",
                         (Jsonb(body), checkout.key))
        logger.info("order placed", extra={"order_id": str(checkout.order_id),
                                           "total_cents": checkout.total_cents})
        return CheckoutResult(status=201, body=body, published=(event_id,))

    def _mark_cart_ordered(self, cart_id: str, order_id: str) -> None:
        try:
            self._carts.mark_ordered(cart_id, order_id)
        except Exception:  # the order stands; the cart index on checkouts refuses a second checkout anyway
            logger.warning("could not mark the cart ordered", extra={"order_id": order_id})

    @staticmethod
    def _try_lock(conn: Connection, key: str) -> bool:
        row = conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (_lock_id(key),)).fetchone()
        return bool(row and row["locked"])

    @staticmethod
    def _unlock(conn: Connection, key: str) -> None:
        try:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_lock_id(key),))
        except psycopg.Error:
            pass  # a broken connection is discarded by the pool; its session's locks die with it

    # --- recovery -------------------------------------------------------------------------------

    def recover_stranded(self, *, older_than_seconds: int) -> dict[str, int]:
        """Complete (or close as declined) checkouts left pending after a charge was attempted.

        Only the stored intent is looked up; nothing is confirmed here, so recovery never charges.
        """
        counts = {"completed": 0, "declined": 0, "unresolved": 0, "busy": 0}
        with self._db.connection() as conn:
            keys = [row["idempotency_key"] for row in conn.execute(
                """SELECT c.idempotency_key FROM checkouts c
                     JOIN payment_attempts p USING (idempotency_key)
                    WHERE c.status = 'pending' AND p.intent_id IS NOT NULL
                      AND c.updated_at < now() - make_interval(secs => %s)
                    ORDER BY c.updated_at LIMIT 100""", (older_than_seconds,))]
            for key in keys:
                if not self._try_lock(conn, key):
                    counts["busy"] += 1
                    continue
                try:
                    outcome = self._recover_one(conn, key)
                finally:
                    self._unlock(conn, key)
                counts[outcome] += 1
        return counts

    def _recover_one(self, conn: Connection, key: str) -> str:
        row = conn.execute("SELECT * FROM checkouts WHERE idempotency_key = %s AND status = 'pending'",
                           (key,)).fetchone()
        attempt = conn.execute("SELECT * FROM payment_attempts WHERE idempotency_key = %s", (key,)).fetchone()
        if row is None or attempt is None or attempt["intent_id"] is None:
            return "unresolved"
        checkout = _Checkout.from_row(row)
        result = self._gateway.lookup(attempt["intent_id"])
        try:
            settled = self._settle(conn, checkout, attempt["attempt_id"], result)
        except CheckoutError:
            return "unresolved"
        if settled.status == 201:
            self._mark_cart_ordered(checkout.cart_id, str(checkout.order_id))
            return "completed"
        return "declined"
