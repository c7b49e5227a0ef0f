"""Editing the catalog: products (name, description, category, price, stock, active) and categories.

Optimistic concurrency: an editor sends back the `version` it read. A save whose version is not the
product's current one changes nothing and raises `StaleVersion` (the API answers 409 with the
current version); a save that changes nothing leaves the version alone. Every change, in one
transaction: the product row (version + 1), a `catalog_audit` row (who, when, before and after) and
a `product.updated` outbox row (the contract in shop.events), which the outbox relay publishes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from psycopg.types.json import Jsonb

from shop.db import Connection, Database
from shop.events import PRODUCT_UPDATED, SOURCES, ProductSnapshot, product_updated_detail

PRODUCT_COLUMNS = "sku, name, description, category, price_cents, currency, stock, active, version"
EDITABLE = ("name", "description", "category", "price_cents", "currency", "stock", "active")
MAX_PAGE = 200


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    IMPORT = "import"


class StaleVersion(Exception):
    def __init__(self, sku: str, current: int | None) -> None:
        super().__init__(sku)
        self.sku, self.current = sku, current


class UnknownProduct(LookupError):
    pass


class UnknownCategory(LookupError):
    pass


@dataclass(frozen=True, kw_only=True)
class ProductEdit:
    """A product as an editor wants it (validated like the event contract's snapshot)."""

    sku: str
    name: str
    description: str
    category: str | None
    price_cents: int
    currency: str
    stock: int
    active: bool

    def snapshot(self, version: int) -> ProductSnapshot:
        return ProductSnapshot(sku=self.sku, name=self.name, description=self.description,
                               category=self.category, price_cents=self.price_cents, currency=self.currency,
                               stock=self.stock, active=self.active, version=version)


@dataclass(frozen=True)
class Change:
    before: ProductSnapshot | None
    after: ProductSnapshot
    action: Action


def snapshot_of(row: dict[str, Any]) -> ProductSnapshot:
    return ProductSnapshot(sku=row["sku"], name=row["name"], description=row["description"],
                           category=row["category"], price_cents=int(row["price_cents"]),
                           currency=str(row["currency"]).strip(), stock=int(row["stock"]),
                           active=bool(row["active"]), version=int(row["version"]))


def unchanged(current: ProductSnapshot, edit: ProductEdit) -> bool:
    """Whether `edit` would leave `current` as it is."""
    return all(getattr(current, field) == getattr(edit, field) for field in EDITABLE)


def record_changes(conn: Connection, changes: Sequence[Change], *, actor: str, at: datetime) -> None:
    """The audit rows and `product.updated` outbox rows of `changes` (inside the caller's transaction)."""
    if not changes:
        return
    audit, outbox = [], []
    for change in changes:
        detail = product_updated_detail(change.after, updated_at=at)
        audit.append((change.after.sku, change.after.version, actor, change.action.value,
                      Jsonb(change.before.model_dump(mode="json")) if change.before else None,
                      Jsonb(change.after.model_dump(mode="json")), at))
        outbox.append((uuid.UUID(detail["event_id"]), SOURCES[PRODUCT_UPDATED], PRODUCT_UPDATED,
                       Jsonb(detail), at))
    with conn.cursor() as cursor:
        cursor.executemany("""INSERT INTO catalog_audit (sku, version, actor, action, before, after,
                                                         changed_at)
                              VALUES (%s, %s, %s, %s, %s, %s, %s)""", audit)
        cursor.executemany("""INSERT INTO outbox (event_id, source, detail_type, detail, created_at)
                              VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING""", outbox)


def upsert_product(conn: Connection, edit: ProductEdit, current: ProductSnapshot | None, *,
                   at: datetime, action: Action) -> Change | None:
    """Write `edit` over `current` (locked by the caller); None when nothing changes."""
    if current is None:
        conn.execute(f"""INSERT INTO products ({PRODUCT_COLUMNS}, created_at, updated_at)
                          VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s)""",
                     (edit.sku, edit.name, edit.description, edit.category, edit.price_cents, edit.currency,
                      edit.stock, edit.active, at, at))
        return Change(None, edit.snapshot(1), Action.CREATE if action is Action.UPDATE else action)
    if unchanged(current, edit):
        return None
    conn.execute("""UPDATE products SET name = %s, description = %s, category = %s, price_cents = %s,
                           currency = %s, stock = %s, active = %s, version = version + 1, updated_at = %s
                     WHERE sku = %s AND version = %s""",
                 (edit.name, edit.description, edit.category, edit.price_cents, edit.currency, edit.stock,
                  edit.active, at, edit.sku, current.version))
    return Change(current, edit.snapshot(current.version + 1), action)


class Catalog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, edit: ProductEdit, *, expected_version: int, actor: str) -> tuple[ProductSnapshot, bool]:
        """Create (expected_version 0) or change a product; (the product now, whether it changed)."""
        with self._db.connection() as conn, conn.transaction():
            row = conn.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = %s FOR UPDATE",
                               (edit.sku,)).fetchone()
            current = snapshot_of(row) if row else None
            if current is None and expected_version != 0:
                raise UnknownProduct(edit.sku)
            if (current.version if current else 0) != expected_version:
                raise StaleVersion(edit.sku, current.version if current else None)
            if edit.category is not None and not conn.execute(
                    "SELECT 1 FROM categories WHERE slug = %s", (edit.category,)).fetchone():
                raise UnknownCategory(edit.category)
            now = conn.execute("SELECT now() AS now").fetchone()
            at: datetime = now["now"] if now else datetime.now().astimezone()
            change = upsert_product(conn, edit, current, at=at, action=Action.UPDATE)
            if change is None:
                return current or edit.snapshot(1), False
            record_changes(conn, [change], actor=actor, at=at)
            return change.after, True

    def get(self, sku: str) -> ProductSnapshot | None:
        with self._db.connection() as conn:
            row = conn.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = %s", (sku,)).fetchone()
        return snapshot_of(row) if row else None

    def page(self, *, after: str = "", limit: int = 50) -> list[ProductSnapshot]:
        """Products by SKU (keyset pagination: pass the last SKU seen as `after`)."""
        with self._db.connection() as conn:
            rows = conn.execute(f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku > %s "
                                "ORDER BY sku LIMIT %s", (after, max(1, min(limit, MAX_PAGE)))).fetchall()
        return [snapshot_of(row) for row in rows]

    def categories(self) -> list[dict[str, str]]:
        with self._db.connection() as conn:
            return [{"slug": r["slug"], "name": r["name"]}
                    for r in conn.execute("SELECT slug, name FROM categories ORDER BY slug").fetchall()]

    def save_category(self, slug: str, name: str) -> bool:
        """Create or rename a category; whether anything changed."""
        with self._db.connection() as conn:
            row = conn.execute("""INSERT INTO categories (slug, name) VALUES (%s, %s)
                                  ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name
                                   WHERE categories.name <> EXCLUDED.name
                                  RETURNING slug""", (slug, name)).fetchone()
        return row is not None

    def audit(self, sku: str, *, limit: int = 50) -> list[dict[str, Any]]:
        with self._db.connection() as conn:
            rows = conn.execute("""SELECT version, actor, action, before, after, changed_at FROM catalog_audit
                                    WHERE sku = %s ORDER BY version DESC LIMIT %s""",
                                (sku, max(1, min(limit, MAX_PAGE)))).fetchall()
        return [dict(row) for row in rows]
