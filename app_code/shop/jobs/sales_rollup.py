"""Nightly sales roll-up: orders, units and revenue per UTC day and currency into `daily_sales`.

Re-running a day overwrites its rows, so the job is safe to retry. The event may name the day as
{"day": "YYYY-MM-DD"}; by default it rolls up yesterday (UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shop.db import Database
from shop.logs import function_logger
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()
runtime = Runtime(SETTINGS, db_max_size=1)
logger = function_logger("sales-rollup")


def roll_up(db: Database, day: date) -> int:
    """Recompute one day; returns the number of currency rows written."""
    with db.connection() as conn, conn.transaction():
        conn.execute("DELETE FROM daily_sales WHERE day = %s", (day,))
        return conn.execute(
            """INSERT INTO daily_sales (day, currency, orders, units, total_cents)
               SELECT %(day)s, o.currency, count(*), sum(u.units), sum(o.total_cents)
                 FROM orders o
                 JOIN (SELECT order_id, sum(quantity) AS units FROM order_items GROUP BY order_id) u
                   USING (order_id)
                WHERE o.placed_at >= %(day)s::date AND o.placed_at < %(day)s::date + 1
                  AND o.status <> 'cancelled'
                GROUP BY o.currency""", {"day": day}).rowcount


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    requested = (event or {}).get("day")
    day = date.fromisoformat(requested) if requested else (datetime.now(UTC) - timedelta(days=1)).date()
    rows = roll_up(runtime.db, day)
    logger.info("sales rolled up", day=day.isoformat(), currencies=rows)
    return {"day": day.isoformat(), "currencies": rows}
