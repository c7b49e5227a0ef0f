"""Catalog import from CSV: validated row by row, applied all or nothing, idempotent.

The file (UTF-8, a header line, comma-separated; docs/admin.md has an example):

    sku,name,description,category,category_name,price_cents,currency,stock,active

`sku`, `name`, `price_cents`, `currency`, `stock` and `active` are required; `description`,
`category` (a slug) and `category_name` are optional. A category the catalog does not know is
created when some row gives its `category_name`; a `category_name` renames an existing one.

Every row is checked before anything is written, and every problem is reported with its line (as
an editor counts them: the header is line 1), its column and the reason. One problem rejects the
whole file and nothing is written. An accepted file is applied in one transaction: new SKUs are
created, changed ones updated (version + 1, audit row, `product.updated`), identical ones left
alone, so importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shop.admin.catalog import (
    PRODUCT_COLUMNS,
    Action,
    Change,
    ProductEdit,
    record_changes,
    snapshot_of,
    unchanged,
    upsert_product,
)
from shop.db import Database

REQUIRED = ("sku", "name", "price_cents", "currency", "stock", "active")
OPTIONAL = ("description", "category", "category_name")
MAX_ROWS = 20_000
MAX_BYTES = 8 * 1024 * 1024
_INTEGER = re.compile(r"[0-9]{1,12}")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True, order=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = sorted(errors)


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    import_id: uuid.UUID | None
    rows: int
    created: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class _Row:
    line: int
    edit: ProductEdit
    category_name: str | None


def _field_errors(line: int, error: ValidationError) -> list[RowError]:
    return [RowError(line, str(item["loc"][0]) if item.get("loc") else "row", str(item["msg"]))
            for item in error.errors()]


def parse(data: bytes) -> list[_Row]:
    """The file's rows, validated; ImportRejected with every problem found."""
    if len(data) > MAX_BYTES:
        raise ImportRejected([RowError(1, "file", f"larger than {MAX_BYTES // (1024 * 1024)} MiB")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRejected([RowError(1, "file", f"not UTF-8 text ({error.reason})")]) from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ImportRejected([RowError(1, "header", "the file is empty")]) from None
    except csv.Error as error:
        raise ImportRejected([RowError(1, "header", str(error))]) from error
    errors: list[RowError] = []
    known = set(REQUIRED) | set(OPTIONAL)
    columns = ", ".join(REQUIRED + OPTIONAL)
    errors += [RowError(1, name or "(empty)", f"unknown column; the columns are {columns}")
               for name in header if name not in known]
    errors += [RowError(1, name, "required column is missing") for name in REQUIRED if name not in header]
    errors += [RowError(1, name, "column appears twice") for name in sorted(set(header))
               if header.count(name) > 1]
    if errors:
        raise ImportRejected(errors)

    rows: list[_Row] = []
    first_line: dict[str, int] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(rows) >= MAX_ROWS:
                errors.append(RowError(line, "file", f"more than {MAX_ROWS} rows: split the file"))
                break
            if len(values) != len(header):
                errors.append(RowError(line, "row",
                                       f"has {len(values)} fields, the header has {len(header)}"))
                continue
            fields = dict(zip(header, values, strict=True))
            sku = fields["sku"].strip()
            if sku in first_line:
                errors.append(RowError(line, "sku", f"{sku} already appears on line {first_line[sku]}"))
                continue
            first_line[sku] = line
            row = _row(line, fields, errors)
            if row is not None:
                rows.append(row)
    except csv.Error as error:
        errors.append(RowError(reader.line_num, "row", str(error)))
    names: dict[str, tuple[str, int]] = {}
    for row in rows:
        if row.edit.category and row.category_name:
            seen = names.setdefault(row.edit.category, (row.category_name, row.line))
            if seen[0] != row.category_name:
                errors.append(RowError(row.line, "category_name",
                                       f"differs from line {seen[1]} ({seen[0]!r}) for category "
                                       f"{row.edit.category}"))
    if errors:
        raise ImportRejected(errors)
    return rows


def _row(line: int, values: dict[str, str], errors: list[RowError]) -> _Row | None:
    cleaned = {key: value.strip() for key, value in values.items()}
    found: list[RowError] = []

    def integer(column: str) -> int:
        text = cleaned.get(column, "")
        if not _INTEGER.fullmatch(text):
            found.append(RowError(line, column, f"{text!r} is not a whole number (0 or more)"))
            return 0
        return int(text)

    def flag(column: str) -> bool:
        text = cleaned.get(column, "").lower()
        if text not in _TRUE | _FALSE:
            found.append(RowError(line, column, f"{text!r} is not true or false"))
        return text in _TRUE

    price, stock, active = integer("price_cents"), integer("stock"), flag("active")
    category = cleaned.get("category") or None
    if category is not None and not _CATEGORY.fullmatch(category):
        found.append(RowError(line, "category", f"{category!r} is not a category slug (a-z, 0-9, dashes)"))
    category_name = cleaned.get("category_name") or None
    if category_name is not None and category is None:
        found.append(RowError(line, "category_name", "given without a category"))
    if category_name is not None and len(category_name) > 200:
        found.append(RowError(line, "category_name", "longer than 200 characters"))
    edit = ProductEdit(sku=cleaned.get("sku", ""), name=cleaned.get("name", ""),
                       description=cleaned.get("description", ""),
                       category=category if category and _CATEGORY.fullmatch(category) else None,
                       price_cents=price, currency=cleaned.get("currency", ""), stock=stock, active=active)
    try:
        edit.snapshot(1)  # the event contract's rules: SKU pattern, lengths, currency code
    except ValidationError as error:
        reported = {e.column for e in found}
        found += [e for e in _field_errors(line, error) if e.column not in reported]
    if found:
        errors.extend(found)
        return None
    return _Row(line, edit, category_name)


class Importer:
    def __init__(self, db: Database) -> None:
        self._db = db

    def run(self, data: bytes, *, actor: str, source: str, dry_run: bool = False) -> ImportResult:
        """Validate and apply `data` (nothing written with dry_run); ImportRejected on any problem."""
        rows = parse(data)
        with self._db.connection() as conn, conn.transaction():
            skus = [row.edit.sku for row in rows]
            # Lock the file's products (in a fixed order, so two imports cannot deadlock).
            current = {r["sku"]: snapshot_of(r) for r in conn.execute(
                f"SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = ANY(%s) ORDER BY sku FOR UPDATE",
                (skus,)).fetchall()}
            known = {r["slug"]: r["name"]
                     for r in conn.execute("SELECT slug, name FROM categories").fetchall()}
            named = {row.edit.category: row.category_name for row in rows
                     if row.edit.category and row.category_name}
            missing = [RowError(row.line, "category", f"unknown category {row.edit.category!r}: add a "
                                                      "category_name on one of its rows to create it")
                       for row in rows if row.edit.category and row.edit.category not in known
                       and row.edit.category not in named]
            if missing:
                raise ImportRejected(missing)
            if dry_run:
                changed = sum(1 for row in rows if row.edit.sku in current
                              and not unchanged(current[row.edit.sku], row.edit))
                created = sum(1 for row in rows if row.edit.sku not in current)
                return ImportResult(import_id=None, rows=len(rows), created=created, updated=changed,
                                    unchanged=len(rows) - created - changed)
            for slug, name in sorted(named.items()):
                if known.get(slug) != name:
                    conn.execute("INSERT INTO categories (slug, name) VALUES (%s, %s) "
                                 "ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name", (slug, name))
            now = conn.execute("SELECT now() AS now").fetchone()
            at: datetime = now["now"] if now else datetime.now().astimezone()
            changes: list[Change] = []
            for row in rows:
                change = upsert_product(conn, row.edit, current.get(row.edit.sku), at=at,
                                        action=Action.IMPORT)
                if change is not None:
                    changes.append(change)
            record_changes(conn, changes, actor=actor, at=at)
            created = sum(1 for change in changes if change.before is None)
            result = ImportResult(import_id=uuid.uuid4(), rows=len(rows), created=created,
                                  updated=len(changes) - created, unchanged=len(rows) - len(changes))
            conn.execute("""INSERT INTO catalog_imports (import_id, sha256, actor, source, rows, created,
                                                         updated, unchanged, imported_at)
                            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                         (result.import_id, hashlib.sha256(data).hexdigest(), actor, source, result.rows,
                          result.created, result.updated, result.unchanged, at))
        return result


def as_dict(result: ImportResult) -> dict[str, Any]:
    return {"import_id": str(result.import_id) if result.import_id else None, "rows": result.rows,
            "created": result.created, "updated": result.updated, "unchanged": result.unchanged}
