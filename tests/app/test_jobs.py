"""Scheduled jobs and migrations: abandoned carts, the sales roll-up, the relay sweeper."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from tests.support.app_clients import Shopper
from tests.support.app_stores import Aws, Db


@pytest.fixture
def jobs(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The jobs' Lambda modules, wired to the test runtime."""
    import shop.jobs.abandoned_carts
    import shop.jobs.outbox_relay
    import shop.jobs.sales_rollup

    modules = {"abandoned_carts": shop.jobs.abandoned_carts, "outbox_relay": shop.jobs.outbox_relay,
               "sales_rollup": shop.jobs.sales_rollup}
    for module in modules.values():
        monkeypatch.setattr(module, "runtime", runtime)
    return modules


def test_an_idle_cart_is_reminded_by_email_once(
        alice: Shopper, db: Db, aws: Aws, runtime: Any, jobs: dict[str, Any], lambda_context: Any,
        drain: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import shop.consumers.analytics
    import shop.consumers.email

    # GIVEN a cart left alone for longer than the threshold, and one just touched
    idle = alice.cart({"TEE-BLK-M": 1})
    alice.cart({"MUG-WHT": 1})
    runtime.carts._table.update_item(Key={"cart_id": idle}, UpdateExpression="SET updated_at = :old",
                                     ExpressionAttributeValues={":old": 1})

    # WHEN the job runs twice and the relay publishes
    assert jobs["abandoned_carts"].handler({}, lambda_context) == {"queued": 1}
    assert jobs["abandoned_carts"].handler({}, lambda_context) == {"queued": 0}
    assert jobs["outbox_relay"].handler({}, lambda_context) == {"published": 1, "failed": 0}

    # THEN one cart.abandoned event went out, and the email and analytics consumers handled it
    [event] = db.rows("SELECT source, detail_type, detail FROM outbox")
    assert (event["source"], event["detail_type"]) == ("ecommerce.orders", "cart.abandoned")
    assert event["detail"]["cart_id"] == idle
    assert event["detail"]["items"] == [{"sku": "TEE-BLK-M", "quantity": 1}]
    drain("email", shop.consumers.email.handler)
    drain("analytics", shop.consumers.analytics.handler)
    [mail] = aws.sent_emails()
    assert mail.destinations["ToAddresses"] == ["alice@example.com"] and "left 1 item" in mail.subject
    assert db.rows("SELECT detail_type FROM analytics_events") == [{"detail_type": "cart.abandoned"}]
    assert aws.depth(aws.queues["fulfillment"]) == 0  # fulfillment does not subscribe to carts


def test_the_sales_rollup_sums_a_utc_day_and_can_be_rerun(
        alice: Shopper, bob: Shopper, db: Db, jobs: dict[str, Any], lambda_context: Any) -> None:
    assert alice.checkout(alice.cart({"TEE-BLK-M": 2})).status_code == 201
    assert bob.checkout(bob.cart({"MUG-WHT": 1, "CAP-RED": 1})).status_code == 201
    db.execute("UPDATE orders SET placed_at = '2026-11-24T23:59:59Z' WHERE total_cents = 5000")
    db.execute("UPDATE orders SET placed_at = '2026-11-24T00:00:00Z' WHERE total_cents = 3000")

    first = jobs["sales_rollup"].handler({"day": "2026-11-24"}, lambda_context)
    again = jobs["sales_rollup"].handler({"day": "2026-11-24"}, lambda_context)

    assert first == again == {"day": "2026-11-24", "currencies": 1}
    assert db.rows("SELECT day, currency, orders, units, total_cents FROM daily_sales") == [
        {"day": date(2026, 11, 24), "currency": "USD", "orders": 2, "units": 4, "total_cents": 8000}]


def test_the_relay_can_be_invoked_for_specific_events(
        alice: Shopper, db: Db, aws: Aws, runtime: Any, jobs: dict[str, Any], lambda_context: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "settings", runtime.settings.__class__(
        **{**runtime.settings.__dict__, "relay_after_commit": False}))
    assert alice.checkout(alice.cart({"CAP-RED": 1})).status_code == 201
    [row] = db.rows("SELECT event_id FROM outbox WHERE published_at IS NULL")

    result = jobs["outbox_relay"].handler({"event_ids": [str(row["event_id"])]}, lambda_context)

    assert result == {"published": 1, "failed": 0}
    assert aws.depth(aws.queues["fulfillment"]) == 1


def test_migrations_are_applied_once(db: Db) -> None:
    from shop.migrate import apply_migrations, migration_files

    with db.connect() as conn:
        assert apply_migrations(conn) == []
    applied = [row["version"] for row in db.rows("SELECT version FROM schema_migrations ORDER BY version")]
    assert applied == [version for version, _ in migration_files()]
    assert applied[0] == "0001_catalog_and_customers"


def test_the_schema_refuses_what_the_code_must_never_write(db: Db) -> None:
    import psycopg

    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("INSERT INTO products (sku, name, price_cents) VALUES ('NEG-1', 'x', -1)")
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("""INSERT INTO checkouts (idempotency_key, request_hash, customer_id, cart_id, order_id,
                                             currency, total_cents, items, shipping, status)
                      VALUES ('a-key-000', 'h', '0b6e8c0e-2f7e-4f6c-9a0b-3c1f2d4e5a61', 'c',
                              gen_random_uuid(), 'USD', 100, '[]', '{}', 'completed')""")
        # (settled without a response)


def test_a_cart_changed_after_its_reminder_is_reminded_again_when_idle_again(
        alice: Shopper, db: Db, runtime: Any, jobs: dict[str, Any], lambda_context: Any) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})
    table = runtime.carts._table
    table.update_item(Key={"cart_id": cart}, UpdateExpression="SET updated_at = :old",
                      ExpressionAttributeValues={":old": 1})
    assert jobs["abandoned_carts"].handler({}, lambda_context) == {"queued": 1}

    # WHEN the customer comes back, changes the cart, and leaves it idle again
    alice.client.put(f"/api/carts/{cart}/items/MUG-WHT", json={"quantity": 1}, headers=alice.headers)
    table.update_item(Key={"cart_id": cart}, UpdateExpression="SET updated_at = :old",
                      ExpressionAttributeValues={":old": 2})

    # THEN a second, distinct cart.abandoned is queued
    assert jobs["abandoned_carts"].handler({}, lambda_context) == {"queued": 1}
    assert db.count("outbox") == 2
