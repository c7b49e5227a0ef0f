"""The catalog as the storefront reads it from PostgreSQL (the Aurora reader, never the writer).

Products are `ProductSnapshot`s (shop.events): the same shape `product.updated` carries, so the
cache holds one representation whether a read or an event filled it. Listing pages are keyset
paginated on (name, sku), the order of the `products_listing` index (migration 0006): a page costs
the same at any depth, and a cursor past the last product gives an empty page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from shop.db import Database
from shop.events import MAX_NAME_CHARS, ProductSnapshot

MAX_PAGE_SIZE = 48
DEFAULT_PAGE_SIZE = 24
CURSOR_FORMAT = "listing-cursor"
"""The OpenAPI `format` of a listing cursor: opaque, the `next_cursor` of a previous page."""
_PRODUCT_COLUMNS = "sku, name, description, category, price_cents, currency, stock, active, version"


class BadCursor(ValueError):
    """A listing cursor this service did not issue (or that was altered)."""


class Category(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    slug: str
    name: str


class ListingPage(BaseModel):
    """One page of a category's active products, and the cursor of the next page (None: the last)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    category: Category
    items: tuple[ProductSnapshot, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Cursor:
    """The position after which a listing page starts: the last (name, sku) of the previous page."""

    name: str
    sku: str

    def encode(self) -> str:
        raw = json.dumps([self.name, self.sku], separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        if len(text) > MAX_CURSOR_CHARS:
            raise BadCursor("the cursor is longer than any this service issues")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            value = json.loads(raw)
        except (binascii.Error, ValueError, UnicodeDecodeError) as error:
            raise BadCursor("the cursor is not one this service issued") from error
        if not (isinstance(value, list) and len(value) == 2 and all(map(_storable, value))):
            raise BadCursor("the cursor is not one this service issued")
        return cls(name=value[0], sku=value[1])


MAX_CURSOR_CHARS = len(Cursor("\x01" * MAX_NAME_CHARS, "X" * 64).encode())
"""The longest cursor this service issues: the longest name, in the characters that take the most
room once encoded (a control character is six bytes of JSON), after the longest SKU."""


def _storable(value: object) -> bool:
    """Text a catalog column can hold (so the database can compare it): no NUL, no lone surrogate."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _snapshot(row: dict[str, Any]) -> ProductSnapshot:
    return ProductSnapshot(sku=row["sku"], name=row["name"], description=row["description"],
                           category=row["category"], price_cents=int(row["price_cents"]),
                           currency=str(row["currency"]), stock=int(row["stock"]),
                           active=bool(row["active"]), version=int(row["version"]))


class CatalogReader:
    """Read-only queries of the catalog; every call takes one pooled connection for one statement."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def product(self, sku: str) -> ProductSnapshot | None:
        """The product, active or not (the caller decides what an inactive product means)."""
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE sku = %s", (sku,)).fetchone()
        return _snapshot(row) if row else None

    def products(self, skus: Sequence[str]) -> dict[str, ProductSnapshot]:
        if not skus:
            return {}
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT {_PRODUCT_COLUMNS} FROM products WHERE sku = ANY(%s)",
                                (list(skus),)).fetchall()
        return {row["sku"]: _snapshot(row) for row in rows}

    def categories(self) -> tuple[Category, ...]:
        with self._db.connection() as conn:
            rows = conn.execute("SELECT slug, name FROM categories ORDER BY name, slug").fetchall()
        return tuple(Category(slug=row["slug"], name=row["name"]) for row in rows)

    def listing(self, category: str, *, after: Cursor | None, limit: int) -> ListingPage | None:
        """A page of the category's active products after `after`; None if no such category."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be from 1 to {MAX_PAGE_SIZE}")
        with self._db.connection() as conn:
            found = conn.execute("SELECT slug, name FROM categories WHERE slug = %s", (category,)).fetchone()
            if found is None:
                return None
            if after is None:
                rows = conn.execute(
                    f"""SELECT {_PRODUCT_COLUMNS} FROM products WHERE category = %s AND active
                        ORDER BY name, sku LIMIT %s""", (category, limit + 1)).fetchall()
            else:
                rows = conn.execute(
                    f"""SELECT {_PRODUCT_COLUMNS} FROM products
                        WHERE category = %s AND active AND (name, sku) > (%s, %s)
                        ORDER BY name, sku LIMIT %s""",
                    (category, after.name, after.sku, limit + 1)).fetchall()
        items = tuple(_snapshot(row) for row in rows[:limit])
        more = len(rows) > limit
        return ListingPage(category=Category(slug=found["slug"], name=found["name"]), items=items,
                           next_cursor=Cursor(items[-1].name, items[-1].sku).encode() if more else None)
