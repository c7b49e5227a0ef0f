"""Each workload logs in to PostgreSQL as its own role, limited to the tables its code touches."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.app_stores import Db

WORKLOADS = ("order_api", "storefront", "admin", "fulfillment", "email", "analytics",
             "recommendations", "outbox_relay", "abandoned_carts", "sales_rollup", "checkout_recovery")


def privilege(db: Db, role: str, table: str, action: str) -> bool:
    return bool(db.rows("SELECT has_table_privilege(%s, %s, %s) AS ok", (role, table, action))[0]["ok"])


def test_every_workload_the_infrastructure_names_has_a_login_role(db: Db) -> None:
    roles = {r["rolname"] for r in db.rows("SELECT rolname FROM pg_roles WHERE rolcanlogin")}
    assert set(WORKLOADS) <= roles


@pytest.mark.parametrize(("role", "table", "action"), [
    ("order_api", "orders", "INSERT"), ("order_api", "outbox", "INSERT"),
    ("outbox_relay", "outbox", "UPDATE"), ("analytics", "analytics_events", "INSERT"),
    ("sales_rollup", "daily_sales", "DELETE"), ("email", "customers", "SELECT"),
    # sign-in: the order API's JSON routes and its account pages find or create the customer
    ("order_api", "sign_in_links", "UPDATE"), ("order_api", "sign_in_links", "INSERT"),
    ("order_api", "customers", "INSERT"), ("admin", "catalog_imports", "INSERT"),
    ("admin", "catalog_audit", "INSERT"), ("admin", "categories", "UPDATE"),
])
def test_a_workload_may_do_what_its_code_does(db: Db, role: str, table: str, action: str) -> None:
    assert privilege(db, role, table, action)


@pytest.mark.parametrize(("role", "table", "action"), [
    ("analytics", "orders", "INSERT"), ("storefront", "orders", "SELECT"),
    ("storefront", "customers", "DELETE"), ("storefront", "products", "UPDATE"),
    # the storefront only reads (the readers): signing in is the order service's
    ("storefront", "customers", "INSERT"), ("storefront", "sign_in_links", "INSERT"),
    ("admin", "sign_in_links", "SELECT"), ("admin", "catalog_audit", "UPDATE"),
    ("outbox_relay", "orders", "SELECT"), ("email", "payment_attempts", "SELECT"),
    ("fulfillment", "outbox", "INSERT"), ("order_api", "products", "UPDATE"),
])
def test_a_workload_may_not_touch_other_tables(db: Db, role: str, table: str, action: str) -> None:
    assert not privilege(db, role, table, action)


def test_a_consumer_role_is_refused_when_it_writes_an_order(db: Db) -> None:
    with db.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SET ROLE analytics")
        conn.execute("INSERT INTO orders DEFAULT VALUES")
