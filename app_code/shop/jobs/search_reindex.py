"""Full reindex: both search indexes rebuilt from PostgreSQL, each swapped in behind its alias.

Scheduled weekly (components/schedules.py) and runnable by hand, e.g. after a mapping change or to
set up a new domain: `python -m shop.jobs.search_reindex [products|recommendations ...]` with the
job's environment, or `aws lambda invoke` on the job's function with `{"indexes": ["products"]}`.

Events keep arriving while a new index is built, and the indexers write them to the old one (the
alias). So, after the swap, the job writes once more every product changed since a few minutes
before it started (and every recommendation list), now into the new index: external versions make
those writes idempotent and unable to regress anything the indexers wrote meanwhile.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shop.db import Database
from shop.events import ProductSnapshot
from shop.logs import function_logger
from shop.search.indexes import (
    PRODUCTS,
    RECOMMENDATIONS,
    RECOMMENDATIONS_KEPT,
    Document,
    IndexSpec,
    product_document,
    recommendation_document,
    reindex,
    upsert,
)
from shop.settings import Settings

SETTINGS = Settings.from_env()
logger = function_logger("search-reindex")
CATCH_UP_MARGIN = timedelta(minutes=5)
"""Products changed this long before the reindex started are written again after the swap."""


def product_documents(db: Database, *, changed_since: datetime | None = None) -> Iterator[Document]:
    where = "WHERE updated_at >= %s" if changed_since else ""
    with db.connection() as conn, conn.transaction(), conn.cursor(name="reindex_products") as cursor:
        cursor.execute(f"""SELECT sku, name, description, category, price_cents, currency, stock, active,
                                  version, updated_at FROM products {where} ORDER BY sku""",
                       (changed_since,) if changed_since else None)
        for row in cursor:
            updated_at = row.pop("updated_at")
            product = ProductSnapshot(**{**row, "price_cents": int(row["price_cents"]),
                                         "currency": str(row["currency"])})
            yield product_document(product, updated_at)


def recommendation_documents(db: Database) -> Iterator[Document]:
    now = datetime.now(UTC)
    with db.connection() as conn, conn.transaction(), \
            conn.cursor(name="reindex_recommendations") as cursor:
        cursor.execute(
            """SELECT r.sku, r.revision,
                      COALESCE((SELECT json_agg(json_build_array(c.other_sku, c.orders)
                                                ORDER BY c.orders DESC, c.other_sku)
                                  FROM (SELECT other_sku, orders FROM co_purchases
                                         WHERE sku = r.sku ORDER BY orders DESC, other_sku LIMIT %s) c),
                               '[]'::json) AS partners
                 FROM co_purchase_revisions r ORDER BY r.sku""", (RECOMMENDATIONS_KEPT,))
        for row in cursor:
            yield recommendation_document(row["sku"], int(row["revision"]),
                                          [(other, n) for other, n in row["partners"]], now)


def run(db: Database, client: Any, indexes: Sequence[str] = ("products", "recommendations"), *,
        now: datetime | None = None) -> dict[str, Any]:
    started = now or datetime.now(UTC)
    specs: dict[str, IndexSpec] = {"products": PRODUCTS, "recommendations": RECOMMENDATIONS}
    unknown = sorted(set(indexes) - set(specs))
    if unknown:
        raise ValueError(f"unknown index {unknown[0]!r}: choose from {', '.join(specs)}")
    report: dict[str, Any] = {}
    for name in indexes:
        spec = specs[name]
        source = product_documents(db) if name == "products" else recommendation_documents(db)
        result = reindex(client, spec, source, now=started)
        catch_up = (product_documents(db, changed_since=started - CATCH_UP_MARGIN) if name == "products"
                    else recommendation_documents(db))
        rewritten = sum(upsert(client, spec, document) for document in catch_up)
        report[name] = {"index": result.index, "documents": result.documents,
                        "caughtUp": rewritten, "retired": list(result.retired)}
        logger.info("index rebuilt", alias=spec.alias, **report[name])
    return report


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from shop.runtime import Runtime

    runtime = Runtime(SETTINGS, db_max_size=1)
    try:
        indexes = (event or {}).get("indexes") or ("products", "recommendations")
        return run(runtime.db, runtime.search, indexes)
    finally:
        runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.jobs.search_reindex", description=__doc__)
    parser.add_argument("indexes", nargs="*", default=["products", "recommendations"])
    args = parser.parse_args(argv)
    from shop.runtime import Runtime

    runtime = Runtime(SETTINGS, db_max_size=1)
    try:
        print(run(runtime.db, runtime.search, args.indexes))
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
