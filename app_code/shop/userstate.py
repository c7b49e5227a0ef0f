"""Per-user state in DynamoDB: carts and sessions, each item expiring through the `expires_at` TTL.

Table keys (the data tier creates the tables): carts hash key `cart_id` (S), sessions hash key
`session_id` (S, the SHA-256 of the bearer token, so the table never holds a usable token). TTL
deletion is lazy, so reads also treat an item past `expires_at` as absent.

A session belongs to a customer or to a guest (a random id that owns the carts a shopper fills
before signing in; signing in merges them into the account's cart, see shop.accounts), and names
the shopper's current cart. The API reads the token from `Authorization: Bearer <token>`; the pages
read it from the `SESSION_COOKIE` cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

Clock = Callable[[], float]
MAX_QUANTITY = 99
MAX_LINES = 50
SESSION_COOKIE = "__Host-session"
"""The pages' session cookie (HttpOnly, Secure, SameSite=Lax, Path=/). The `__Host-` prefix makes a
browser refuse it unless it is Secure, host-only and for `/`, so no subdomain can plant one."""
SESSION_TTL_SECONDS = 7 * 24 * 3600
TOKEN_BYTES = 32  # 256-bit session tokens
GUEST_PREFIX = "guest-"
"""A guest's id (the owner of the carts a shopper fills before signing in) starts with this."""


def is_guest(owner: str) -> bool:
    return owner.startswith(GUEST_PREFIX)


class CartNotFound(Exception):
    """No cart with this id for this customer: absent, expired, or another customer's (which must
    answer exactly like an absent one, so that cart ids cannot be probed)."""

    code = "cart_not_found"
    message = "no cart with this id for this customer"


class CartConflict(Exception):
    """The customer's own cart cannot be changed: it is no longer open (already checked out)."""


@dataclass(frozen=True, kw_only=True)
class Session:
    """Whose session it is (a customer, or a guest id that owns carts), and the shopper's cart."""

    customer_id: str
    guest: bool
    cart_id: str | None
    expires_at: int


@dataclass(frozen=True, kw_only=True)
class Cart:
    cart_id: str
    customer_id: str
    items: dict[str, Any]
    status: str
    updated_at: int
    expires_at: int


def _cart(item: dict[str, Any]) -> Cart:
    return Cart(cart_id=str(item["cart_id"]), customer_id=str(item.get("customer_id", "")),
                items=dict(item.get("items") or {}), status=str(item.get("status", "open")),
                updated_at=int(item.get("updated_at", 0)), expires_at=int(item.get("expires_at", 0)))


class CartStore:
    def __init__(self, table: Any, *, ttl_seconds: int = 30 * 24 * 3600, clock: Clock = time.time) -> None:
        self._table = table
        self._ttl = ttl_seconds
        self._clock = clock

    def create(self, customer_id: str) -> Cart:
        now = int(self._clock())
        cart = Cart(cart_id=str(uuid.uuid4()), customer_id=customer_id, items={}, status="open",
                    updated_at=now, expires_at=now + self._ttl)
        self._table.put_item(Item={**cart.__dict__}, ConditionExpression="attribute_not_exists(cart_id)")
        return cart

    def get(self, cart_id: str) -> Cart | None:
        return self._live(self._table.get_item(Key={"cart_id": cart_id}, ConsistentRead=True).get("Item"))

    def _live(self, item: dict[str, Any] | None) -> Cart | None:
        if item is None or int(item.get("expires_at", 0)) <= self._clock():
            return None
        return _cart(item)

    def owned(self, cart_id: str, customer_id: str) -> Cart:
        """The customer's live cart; CartNotFound for any other (absent, expired, someone else's)."""
        cart = self.get(cart_id)
        if cart is None or cart.customer_id != customer_id:
            raise CartNotFound(cart_id)
        return cart

    def set_quantity(self, cart_id: str, customer_id: str, sku: str, quantity: int) -> Cart:
        """Set one line (0 removes it); only the owner may (CartNotFound for anyone else), only while
        the cart is open (CartConflict)."""
        if not 0 <= quantity <= MAX_QUANTITY:
            raise ValueError(f"quantity must be 0 to {MAX_QUANTITY}")
        now = int(self._clock())
        names = {"#items": "items", "#sku": sku, "#status": "status"}
        values: dict[str, Any] = {":customer": customer_id, ":open": "open", ":now": now,
                                  ":expires": now + self._ttl}
        # A change makes the cart fresh again: a later idle spell earns a new reminder.
        if quantity:
            update = "SET #items.#sku = :q, updated_at = :now, expires_at = :expires REMOVE reminded_at"
            values[":q"] = quantity
        else:
            update = "REMOVE #items.#sku, reminded_at SET updated_at = :now, expires_at = :expires"
        try:
            result = self._table.update_item(
                Key={"cart_id": cart_id}, UpdateExpression=update, ExpressionAttributeNames=names,
                ExpressionAttributeValues=values, ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ConditionExpression="customer_id = :customer AND #status = :open AND expires_at > :now")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # The item as it was (ReturnValuesOnConditionCheckFailure): a field of DynamoDB's error that
            # botocore's error type does not declare.
            response: Mapping[str, Any] = error.response
            old = response.get("Item")
            if old is None or str(old.get("customer_id", {}).get("S")) != customer_id \
                    or int(old.get("expires_at", {}).get("N", 0)) <= now:
                raise CartNotFound(cart_id) from error
            raise CartConflict(cart_id) from error
        return _cart(result["Attributes"])

    def adopt(self, cart_id: str, *, from_owner: str, to_owner: str) -> Cart | None:
        """Hand an open cart of `from_owner` (a guest) to `to_owner`; None if it is not one."""
        now = int(self._clock())
        try:
            result = self._table.update_item(
                Key={"cart_id": cart_id}, ReturnValues="ALL_NEW",
                UpdateExpression="SET customer_id = :to, updated_at = :now, expires_at = :expires",
                ConditionExpression="customer_id = :from AND #status = :open AND expires_at > :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":to": to_owner, ":from": from_owner, ":open": "open",
                                           ":now": now, ":expires": now + self._ttl})
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _cart(result["Attributes"])

    def merge(self, source: Cart, into: Cart) -> Cart:
        """Add `source`'s lines to `into` (same owner check as any change), then close `source`.

        Quantities add up to MAX_QUANTITY; lines past MAX_LINES are left out. The target is written
        first: if closing the source then fails, the shopper sees the lines twice, never none.
        """
        merged = {sku: int(q) for sku, q in into.items.items()}
        for sku, raw in sorted(source.items.items()):
            if sku not in merged and len(merged) >= MAX_LINES:
                continue
            merged[sku] = min(MAX_QUANTITY, merged.get(sku, 0) + int(raw))
        now = int(self._clock())
        try:
            result = self._table.update_item(
                Key={"cart_id": into.cart_id}, ReturnValues="ALL_NEW",
                UpdateExpression="SET #items = :items, updated_at = :now, expires_at = :expires "
                                 "REMOVE reminded_at",
                ConditionExpression="customer_id = :owner AND #status = :open AND expires_at > :now",
                ExpressionAttributeNames={"#items": "items", "#status": "status"},
                ExpressionAttributeValues={":items": merged, ":owner": into.customer_id, ":open": "open",
                                           ":now": now, ":expires": now + self._ttl})
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise CartConflict(into.cart_id) from error
            raise
        self._table.update_item(
            Key={"cart_id": source.cart_id}, UpdateExpression="SET #status = :merged, merged_into = :into",
            ConditionExpression="#status = :open", ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":merged": "merged", ":into": into.cart_id, ":open": "open"})
        return _cart(result["Attributes"])

    def mark_ordered(self, cart_id: str, order_id: str) -> None:
        self._table.update_item(
            Key={"cart_id": cart_id}, UpdateExpression="SET #status = :ordered, order_id = :order",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":ordered": "ordered", ":order": order_id},
            ConditionExpression="attribute_exists(cart_id)")

    def stale_open_carts(self, *, idle_seconds: int) -> Iterator[Cart]:
        """Open, unexpired, non-empty carts untouched for idle_seconds and not yet reminded."""
        now = int(self._clock())
        kwargs: dict[str, Any] = {
            "FilterExpression": "#status = :open AND updated_at < :before AND expires_at > :now "
                                "AND attribute_not_exists(reminded_at)",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":open": "open", ":before": now - idle_seconds, ":now": now},
        }
        while True:
            page = self._table.scan(**kwargs)
            for item in page.get("Items", []):
                cart = _cart(item)
                if cart.items:
                    yield cart
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_reminded(self, cart: Cart) -> bool:
        """Record the reminder unless the cart changed meanwhile; False if it did."""
        try:
            self._table.update_item(
                Key={"cart_id": cart.cart_id}, UpdateExpression="SET reminded_at = :now",
                ConditionExpression="updated_at = :seen AND attribute_not_exists(reminded_at)",
                ExpressionAttributeValues={":now": int(self._clock()), ":seen": cart.updated_at})
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def quantities(cart: Cart) -> list[tuple[str, int]]:
    """The cart's lines as (sku, quantity), validated; ValueError on anything malformed."""
    if len(cart.items) > MAX_LINES:
        raise ValueError(f"a cart holds at most {MAX_LINES} lines")
    lines = []
    for sku, raw in sorted(cart.items.items()):
        if not isinstance(raw, int | Decimal) or isinstance(raw, bool) or raw != int(raw):
            raise ValueError(f"quantity of {sku} is not an integer")
        quantity = int(raw)
        if not 1 <= quantity <= MAX_QUANTITY:
            raise ValueError(f"quantity of {sku} must be 1 to {MAX_QUANTITY}")
        lines.append((str(sku), quantity))
    return lines


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_key(token: str) -> str | None:
    """The sessions table's key for a bearer token; None for one that cannot be a token."""
    return _digest(token) if token and len(token) <= 256 else None


class SessionStore:
    def __init__(self, table: Any, *, ttl_seconds: int = SESSION_TTL_SECONDS,
                 clock: Clock = time.time) -> None:
        self._table = table
        self._ttl = ttl_seconds
        self._clock = clock

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def create(self, customer_id: str, *, guest: bool = False, cart_id: str | None = None) -> str:
        """A new 256-bit bearer token for the customer (or guest); only its digest is stored."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = int(self._clock())
        item: dict[str, Any] = {"session_id": _digest(token), "customer_id": customer_id, "guest": guest,
                                "created_at": now, "expires_at": now + self._ttl}
        if cart_id:
            item["cart_id"] = cart_id
        self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(session_id)")
        return token

    def session(self, token: str) -> Session | None:
        """The live session of this token, or None (unknown, expired, revoked or malformed)."""
        key = _session_key(token)
        if key is None:
            return None
        return self._live(self._table.get_item(Key={"session_id": key}, ConsistentRead=True).get("Item"))

    def _live(self, item: dict[str, Any] | None) -> Session | None:
        if item is None or int(item.get("expires_at", 0)) <= self._clock():
            return None
        cart_id = item.get("cart_id")
        return Session(customer_id=str(item["customer_id"]), guest=bool(item.get("guest", False)),
                       cart_id=str(cart_id) if cart_id else None, expires_at=int(item["expires_at"]))

    def customer_for(self, token: str) -> str | None:
        """The customer (or guest) id of a live session, or None."""
        session = self.session(token)
        return session.customer_id if session else None

    def set_cart(self, token: str, cart_id: str) -> None:
        """Make `cart_id` the session's current cart (the session must still exist)."""
        try:
            self._table.update_item(
                Key={"session_id": _digest(token)}, UpdateExpression="SET cart_id = :cart",
                ConditionExpression="attribute_exists(session_id) AND expires_at > :now",
                ExpressionAttributeValues={":cart": cart_id, ":now": int(self._clock())})
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise KeyError("the session has ended") from error
            raise

    def revoke(self, token: str) -> None:
        """End the session now (sign-out, or the guest session replaced at sign-in)."""
        key = _session_key(token)
        if key is not None:
            self._table.delete_item(Key={"session_id": key})


def session_and_cart(sessions: SessionStore, carts: CartStore, token: str,
                     cart_id: str) -> tuple[Session | None, Cart | None]:
    """`sessions.session(token)` and `carts.get(cart_id)`, read in one strongly consistent BatchGetItem.

    Checkout needs both before anything else: one DynamoDB round trip instead of two. Keys that
    DynamoDB leaves unprocessed (throttling) are read one by one, with the client's retries.
    """
    key = _session_key(token)
    session_table, cart_table = sessions._table, carts._table
    client = session_table.meta.client
    if key is None or cart_table.meta.client is not client or cart_table.name == session_table.name:
        return sessions.session(token), carts.get(cart_id)
    # A Table's client is its resource's: it takes and returns items as the Table does.
    response = client.batch_get_item(RequestItems={
        session_table.name: {"Keys": [{"session_id": key}], "ConsistentRead": True},
        cart_table.name: {"Keys": [{"cart_id": cart_id}], "ConsistentRead": True}})
    found, unprocessed = response["Responses"], response.get("UnprocessedKeys") or {}
    session = (sessions.session(token) if session_table.name in unprocessed
               else sessions._live(next(iter(found.get(session_table.name, [])), None)))
    cart = (carts.get(cart_id) if cart_table.name in unprocessed
            else carts._live(next(iter(found.get(cart_table.name, [])), None)))
    return session, cart
