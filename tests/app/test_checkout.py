"""Checkout over HTTP against a real PostgreSQL, moto and the payment stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.app_clients import Shopper
from tests.support.app_stores import Db
from tests.support.stripe_standin import StripeStandIn


def test_checkout_prices_from_the_catalog_charges_once_and_writes_order_items_and_outbox(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    # GIVEN a cart of 2 tees (25.00) and 1 mug (12.00)
    cart = alice.cart({"TEE-BLK-M": 2, "MUG-WHT": 1})

    # WHEN the customer checks out with a payment token
    response = alice.checkout(cart)

    # THEN the order is placed for the catalog's total, charged exactly once for that amount
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["total_cents"] == 6200 and body["currency"] == "USD"
    assert stripe_api.charges == [{"intent_id": stripe_api.charges[0]["intent_id"], "amount": 6200,
                                   "currency": "usd"}]
    [order] = db.rows("SELECT * FROM orders")
    assert str(order["order_id"]) == body["order_id"]
    assert order["payment_intent_id"] == stripe_api.charges[0]["intent_id"]
    items = db.rows("SELECT sku, quantity, unit_price_cents FROM order_items ORDER BY sku")
    assert items == [{"sku": "MUG-WHT", "quantity": 1, "unit_price_cents": 1200},
                     {"sku": "TEE-BLK-M", "quantity": 2, "unit_price_cents": 2500}]
    # AND one order.placed outbox row in the contract's shape, with provider ids only
    [event] = db.rows("SELECT * FROM outbox")
    assert (event["source"], event["detail_type"]) == ("ecommerce.orders", "order.placed")
    detail = event["detail"]
    assert detail["event_id"] == str(event["event_id"])
    assert detail["order_id"] == body["order_id"] and detail["total_cents"] == 6200
    assert detail["payment"] == {"provider": "stripe", "intent_id": order["payment_intent_id"],
                                 "status": "succeeded"}
    assert detail["placed_at"].endswith("Z")
    assert detail["shipping"] == {"country": "DE", "postal_code": "10115"}
    # AND the cart is closed for further changes
    assert alice.client.get(f"/api/carts/{cart}", headers=alice.headers).json()["status"] == "ordered"


def test_a_declined_payment_writes_no_order_and_no_event(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})

    response = alice.checkout(cart, payment_method="pm_card_chargeDeclinedInsufficientFunds")

    assert response.status_code == 402
    assert response.json()["decline_code"] == "insufficient_funds"
    assert db.count("orders") == 0 and db.count("outbox") == 0 and stripe_api.charges == []
    assert db.rows("SELECT status, decline_code FROM payment_attempts") == [
        {"status": "declined", "decline_code": "insufficient_funds"}]


def test_after_a_decline_a_new_key_with_another_card_places_the_order(alice: Shopper, db: Db) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})
    assert alice.checkout(cart, payment_method="pm_card_chargeDeclined").status_code == 402

    retry = alice.checkout(cart, payment_method="pm_card_visa")

    assert retry.status_code == 201
    assert db.count("orders") == 1


def test_repeating_a_key_returns_the_first_result_without_charging_again(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"CAP-RED": 3})
    first = alice.checkout(cart, key="replay-key-0001")

    again = alice.checkout(cart, key="replay-key-0001")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(stripe_api.charges) == 1 and db.count("orders") == 1 and db.count("outbox") == 1


def test_repeating_a_declined_key_returns_the_decline(alice: Shopper, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"CAP-RED": 1})
    first = alice.checkout(cart, key="declined-key-01", payment_method="pm_card_chargeDeclined")

    again = alice.checkout(cart, key="declined-key-01", payment_method="pm_card_chargeDeclined")

    assert (first.status_code, again.status_code) == (402, 402)
    assert again.json() == first.json()
    assert stripe_api.calls_to("confirm") == 1


def test_a_key_reused_for_a_different_request_is_refused(alice: Shopper, db: Db) -> None:
    cart = alice.cart({"CAP-RED": 1})
    assert alice.checkout(cart, key="reused-key-0001").status_code == 201

    other = alice.client.post("/api/checkout", headers=alice.headers, json={
        **alice.body(cart, key="reused-key-0001"), "shipping": {"country": "FR", "postal_code": "75001"}})

    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    assert db.count("orders") == 1


def test_a_timeout_after_the_charge_resolves_to_one_charge_and_one_order(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    # GIVEN the provider charges the card but the response never arrives (client timeout)
    cart = alice.cart({"TEE-BLK-M": 1})
    stripe_api.inject("confirm", "timeout_after_charge")

    # WHEN the customer checks out
    response = alice.checkout(cart)

    # THEN the outcome is resolved by re-querying the intent: one charge, one order
    assert response.status_code == 201, response.text
    assert len(stripe_api.charges) == 1
    assert stripe_api.calls_to("retrieve") >= 1
    assert db.count("orders") == 1 and db.count("outbox") == 1


def test_a_5xx_after_the_charge_resolves_to_one_charge_and_one_order(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})
    stripe_api.inject("confirm", "error_500_after_charge")

    response = alice.checkout(cart)

    assert response.status_code == 201, response.text
    assert len(stripe_api.charges) == 1 and db.count("orders") == 1


def test_a_5xx_before_the_charge_is_confirmed_again_under_the_same_key(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})
    stripe_api.inject("confirm", "error_503")

    response = alice.checkout(cart)

    assert response.status_code == 201, response.text
    assert len(stripe_api.charges) == 1 and db.count("orders") == 1
    confirm_keys = {key for name, key in stripe_api.calls if name == "confirm"}
    assert len(confirm_keys) == 1  # the retry used the same idempotency key


def test_an_unreachable_provider_leaves_a_pending_checkout_that_a_retry_completes(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    # GIVEN the confirmation times out after charging and then the provider is down
    cart = alice.cart({"MUG-WHT": 2})
    stripe_api.inject("confirm", "timeout_after_charge")
    stripe_api.inject("confirm", "error_503")
    stripe_api.inject("retrieve", "error_503", times=2)

    first = alice.checkout(cart, key="unknown-outcome-1")

    # THEN the customer is told to retry, nothing is recorded as an order yet
    assert first.status_code == 503 and first.headers["Retry-After"]
    assert first.json()["error"] == "payment_pending"
    assert db.count("orders") == 0 and len(stripe_api.charges) == 1

    # WHEN the customer retries with the same key, THEN the same charge becomes the order
    retry = alice.checkout(cart, key="unknown-outcome-1")
    assert retry.status_code == 201, retry.text
    assert len(stripe_api.charges) == 1 and db.count("orders") == 1


@pytest.fixture
def orders_table_fails(db: Db) -> Any:
    """A database failure on the order insert (after the charge), until the test lifts it."""
    db.execute("""CREATE FUNCTION fail_order_insert() RETURNS trigger LANGUAGE plpgsql AS
                  $$ BEGIN RAISE EXCEPTION 'injected database failure'; END $$""")
    db.execute("CREATE TRIGGER fail_order_insert BEFORE INSERT ON orders "
               "FOR EACH ROW EXECUTE FUNCTION fail_order_insert()")

    def lift() -> None:
        db.execute("DROP TRIGGER IF EXISTS fail_order_insert ON orders")
        db.execute("DROP FUNCTION IF EXISTS fail_order_insert()")

    yield lift
    lift()


def test_db_failure_after_the_charge_is_completed_by_a_retry_without_a_second_charge(
        alice: Shopper, db: Db, stripe_api: StripeStandIn, orders_table_fails: Any) -> None:
    # GIVEN the charge succeeds but the order transaction fails
    cart = alice.cart({"TEE-BLK-M": 1, "CAP-RED": 1})
    first = alice.checkout(cart, key="db-failure-key-1")
    assert first.status_code == 503 and first.json()["error"] == "order_not_recorded"
    assert db.count("orders") == 0 and db.count("outbox") == 0 and len(stripe_api.charges) == 1
    assert db.rows("SELECT status FROM payment_attempts") == [{"status": "succeeded"}]

    # WHEN the database recovers and the client retries with the same key
    orders_table_fails()
    retry = alice.checkout(cart, key="db-failure-key-1")

    # THEN the order is completed from the existing charge (roll forward), never charged again
    assert retry.status_code == 201, retry.text
    assert len(stripe_api.charges) == 1
    [order] = db.rows("SELECT * FROM orders")
    assert order["payment_intent_id"] == stripe_api.charges[0]["intent_id"]
    assert db.count("outbox") == 1


def test_db_failure_after_the_charge_is_completed_by_the_recovery_job(
        alice: Shopper, db: Db, stripe_api: StripeStandIn, orders_table_fails: Any, runtime: Any,
        lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import shop.jobs.checkout_recovery as recovery

    # GIVEN a charged checkout whose order could not be written, and a client that never retries
    cart = alice.cart({"MUG-WHT": 1})
    assert alice.checkout(cart, key="recovery-key-01").status_code == 503
    orders_table_fails()
    db.execute("UPDATE checkouts SET updated_at = now() - interval '10 minutes'")

    # WHEN the scheduled recovery job runs
    monkeypatch.setattr(recovery, "runtime", runtime)
    counts = recovery.handler({}, lambda_context)

    # THEN it completes the order from the stored intent, without confirming anything
    assert counts["completed"] == 1
    assert len(stripe_api.charges) == 1 and stripe_api.calls_to("confirm") == 1
    assert db.count("orders") == 1 and db.count("outbox") == 1
    # AND a late retry of the key gets the same order back
    late = alice.checkout(cart, key="recovery-key-01")
    [order] = db.rows("SELECT order_id FROM orders")
    assert late.status_code == 201 and late.json()["order_id"] == str(order["order_id"])


def test_recovery_leaves_fresh_pending_checkouts_alone(
        alice: Shopper, db: Db, orders_table_fails: Any, runtime: Any) -> None:
    cart = alice.cart({"MUG-WHT": 1})
    assert alice.checkout(cart).status_code == 503
    orders_table_fails()

    counts = runtime.checkout.recover_stranded(older_than_seconds=300)

    assert counts == {"completed": 0, "declined": 0, "unresolved": 0, "busy": 0}
    assert db.count("orders") == 0


# --- bad requests change nothing --------------------------------------------------------------


def _nothing_changed(db: Db, stripe_api: StripeStandIn) -> None:
    assert db.count("checkouts") == 0 and db.count("orders") == 0 and db.count("outbox") == 0
    assert stripe_api.calls == []


@pytest.mark.parametrize(("mutate", "status"), [
    (lambda body: {**body, "cart_id": "00000000-0000-0000-0000-000000000000"}, 404),   # unknown cart
    (lambda body: {**body, "cart_id": 12345}, 422),                                    # wrong type
    (lambda body: {**body, "shipping": {"country": "Germany", "postal_code": "1"}}, 422),
    (lambda body: {**body, "payment_method": "tok_raw_thing"}, 422),                   # not a token id
    (lambda body: {**body, "idempotency_key": "short"}, 422),
    (lambda body: {**body, "unit_price_cents": 1}, 422),                               # no client prices
    (lambda body: {k: v for k, v in body.items() if k != "idempotency_key"}, 422),
], ids=["unknown-cart", "wrong-type", "bad-shipping", "not-a-token", "short-key", "client-price", "no-key"])
def test_bad_checkout_requests_get_4xx_and_change_nothing(
        alice: Shopper, db: Db, stripe_api: StripeStandIn, mutate: Any, status: int) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})

    response = alice.client.post("/api/checkout", json=mutate(alice.body(cart)), headers=alice.headers)

    assert response.status_code == status, response.text
    _nothing_changed(db, stripe_api)


def test_an_empty_cart_is_refused(alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({})

    response = alice.checkout(cart)

    assert response.status_code == 422 and response.json()["error"] == "empty_cart"
    _nothing_changed(db, stripe_api)


def test_a_negative_quantity_is_refused_by_the_cart_api_and_by_checkout(
        alice: Shopper, db: Db, stripe_api: StripeStandIn, runtime: Any) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})

    put = alice.client.put(f"/api/carts/{cart}/items/TEE-BLK-M", json={"quantity": -2}, headers=alice.headers)
    assert put.status_code == 422
    assert runtime.carts.get(cart).items == {"TEE-BLK-M": 1}

    # a cart item corrupted behind the API's back is refused at checkout too
    runtime.carts._table.update_item(Key={"cart_id": cart}, UpdateExpression="SET #i.#s = :q",
                                     ExpressionAttributeNames={"#i": "items", "#s": "MUG-WHT"},
                                     ExpressionAttributeValues={":q": -1})
    response = alice.checkout(cart)
    assert response.status_code == 422 and response.json()["error"] == "invalid_cart"
    _nothing_changed(db, stripe_api)


def test_a_string_quantity_is_a_wrong_type(alice: Shopper, runtime: Any) -> None:
    cart = alice.cart({})

    put = alice.client.put(f"/api/carts/{cart}/items/TEE-BLK-M", json={"quantity": "2"},
                           headers=alice.headers)

    assert put.status_code == 422
    assert runtime.carts.get(cart).items == {}


def test_an_oversized_body_is_refused_before_anything_runs(
        alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})
    body = {**alice.body(cart), "padding": "x" * 20_000}

    response = alice.client.post("/api/checkout", json=body, headers=alice.headers)

    assert response.status_code == 413
    _nothing_changed(db, stripe_api)


def test_malformed_json_is_a_400(alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    response = alice.client.post("/api/checkout", content=b"{not json", headers={
        **alice.headers, "Content-Type": "application/json"})

    assert response.status_code == 400
    _nothing_changed(db, stripe_api)


def test_someone_elses_cart_is_not_found(
        alice: Shopper, bob: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})

    response = bob.checkout(cart)

    assert response.status_code == 404
    _nothing_changed(db, stripe_api)


def test_checkout_needs_a_session(alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})

    response = alice.client.post("/api/checkout", json=alice.body(cart),
                                 headers={"Authorization": "Bearer nope"})

    assert response.status_code == 401
    _nothing_changed(db, stripe_api)


def test_an_unavailable_product_is_refused(alice: Shopper, db: Db, stripe_api: StripeStandIn) -> None:
    cart = alice.cart({"TEE-BLK-M": 1})
    db.execute("UPDATE products SET active = false WHERE sku = 'TEE-BLK-M'")

    response = alice.checkout(cart)

    assert response.status_code == 422 and response.json()["error"] == "product_unavailable"
    _nothing_changed(db, stripe_api)
