"""The event contract shared with the infrastructure (see /docs/checkout.md, "Events").

Envelope: EventBridge's. `source` is the shop's (one source for every event: the infrastructure's
rules and the bus policy match on it), `detail-type` names the event, and
`detail.event_id` (the outbox row's id) is stable across redeliveries: consumers deduplicate on it.
Amounts are integer minor units; times are RFC 3339 UTC.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ORDER_PLACED = "order.placed"
ORDER_FULFILLED = "order.fulfilled"
CART_ABANDONED = "cart.abandoned"
PRODUCT_UPDATED = "product.updated"

SOURCE = "ecommerce.orders"
SOURCES = {ORDER_PLACED: SOURCE, ORDER_FULFILLED: SOURCE, CART_ABANDONED: SOURCE, PRODUCT_UPDATED: SOURCE}

# Stable ids: the same business fact always yields the same event id.
_EVENT_NAMESPACE = uuid.UUID("6f1c1c1e-3b0e-4f0e-9a51-7d0f3c2b9e10")


def event_id_for(detail_type: str, subject: str) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NAMESPACE, f"{detail_type}:{subject}")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{0,63}$"
Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LineItem(_Strict):
    sku: Sku
    quantity: int = Field(gt=0, le=10_000)
    unit_price_cents: int = Field(ge=0)


class Payment(_Strict):
    provider: str
    intent_id: str
    status: Literal["succeeded"]


class Shipping(_Strict):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class OrderPlaced(_Strict):
    event_id: uuid.UUID
    order_id: uuid.UUID
    customer_id: uuid.UUID
    placed_at: datetime
    currency: Currency
    total_cents: int = Field(gt=0)
    items: tuple[LineItem, ...] = Field(min_length=1)
    payment: Payment
    shipping: Shipping

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class CartAbandoned(_Strict):
    event_id: uuid.UUID
    cart_id: str
    customer_id: uuid.UUID
    abandoned_at: datetime
    items: tuple[dict[str, Any], ...]

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


CATEGORY_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
CategorySlug = Annotated[str, StringConstraints(pattern=CATEGORY_SLUG_PATTERN)]
# What the catalog's columns hold (migrations 0001 and 0006): text without NUL (PostgreSQL's text
# cannot store it) within the CHECKed lengths, stock in an integer. Prices and versions (bigint
# columns) stay below 13 digits: never a run of digits that the card-data guard (shop.cards) refuses.
_NO_NUL = r"^[^\x00]*$"
MAX_NAME_CHARS = 200
MAX_NUMBER = 10**12 - 1
ProductName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS, pattern=_NO_NUL)]
ProductDescription = Annotated[str, StringConstraints(max_length=5000, pattern=_NO_NUL)]
CategoryName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS, pattern=_NO_NUL)]
Price = Annotated[int, Field(ge=0, le=MAX_NUMBER)]
Stock = Annotated[int, Field(ge=0, le=2**31 - 1)]


class ProductSnapshot(_Strict):
    """A product as the catalog holds it after a change (the `products` row, migration 0006)."""

    sku: Sku
    name: ProductName
    description: ProductDescription
    category: CategorySlug | None
    price_cents: Price
    currency: Currency
    stock: Stock
    active: bool
    version: int = Field(gt=0)


class ProductUpdated(_Strict):
    """`product.updated`: a product was created or changed (price, stock, category, active...).

    `version` grows by one with every change of the SKU, so a consumer keeps the highest version it
    has seen and ignores an older event that arrives late (the search index uses it as the
    document's external version). `product` is the whole row after the change, so a consumer needs
    no database read.
    """

    event_id: uuid.UUID
    sku: Sku
    version: int = Field(gt=0)
    active: bool
    updated_at: datetime
    product: ProductSnapshot

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def product_updated_detail(product: ProductSnapshot, *, updated_at: datetime) -> dict[str, Any]:
    """The contract's `product.updated` detail for `product` at its version, validated."""
    detail = ProductUpdated(
        event_id=event_id_for(PRODUCT_UPDATED, f"{product.sku}:{product.version}"),
        sku=product.sku, version=product.version, active=product.active, updated_at=updated_at,
        product=product)
    data = detail.model_dump(mode="json")
    data["updated_at"] = rfc3339(updated_at)
    return data


class GenericEvent(BaseModel):
    """Any other contract event: only the stable id is required."""

    event_id: uuid.UUID
    model_config = ConfigDict(extra="allow", frozen=True)


class Envelope(BaseModel):
    """The EventBridge envelope as SQS delivers it (the message body)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)

    id: str
    source: str
    detail_type: str = Field(alias="detail-type")
    time: datetime
    detail: dict[str, Any]

    @classmethod
    def from_sqs_body(cls, body: str) -> Envelope:
        return cls.model_validate(json.loads(body))

    @property
    def event_id(self) -> str:
        return str(self.detail.get("event_id", ""))


def order_placed_detail(*, event_id: uuid.UUID, order_id: uuid.UUID, customer_id: uuid.UUID,
                        placed_at: datetime, currency: str, total_cents: int,
                        items: list[dict[str, Any]], provider: str, intent_id: str,
                        shipping: dict[str, str]) -> dict[str, Any]:
    """The contract's `order.placed` detail, validated before it is written to the outbox."""
    detail = OrderPlaced(
        event_id=event_id, order_id=order_id, customer_id=customer_id, placed_at=placed_at,
        currency=currency, total_cents=total_cents,
        items=tuple(LineItem(**item) for item in items),
        payment=Payment(provider=provider, intent_id=intent_id, status="succeeded"),
        shipping=Shipping(**shipping))
    data = detail.model_dump(mode="json")
    data["placed_at"] = rfc3339(placed_at)
    return data
