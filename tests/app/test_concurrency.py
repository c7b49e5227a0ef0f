"""Many parallel checkouts of one cart over HTTP (uvicorn): exactly one order and one charge."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import httpx

from tests.support.app_clients import Served
from tests.support.app_env import ALICE
from tests.support.app_stores import Db
from tests.support.stripe_standin import StripeStandIn

PARALLEL = 12
WAIT = 30  # seconds; a bound against hanging, never reached when the code is right


def _cart(client: httpx.Client, headers: dict[str, str]) -> str:
    cart_id = str(client.post("/api/carts", headers=headers).json()["cart_id"])
    assert client.put(f"/api/carts/{cart_id}/items/TEE-BLK-M", json={"quantity": 1},
                      headers=headers).status_code == 200
    return cart_id


def _body(cart_id: str, key: str) -> dict[str, Any]:
    return {"cart_id": cart_id, "payment_method": "pm_card_visa", "idempotency_key": key,
            "shipping": {"country": "DE", "postal_code": "10115"}}


def _race(served: Served, stripe_api: StripeStandIn, bodies: list[dict[str, Any]],
          headers: dict[str, str]) -> list[httpx.Response]:
    """Send all bodies at once while the provider holds the first confirmation; then let it finish."""
    stripe_api.inject("confirm", "hold")
    with httpx.Client(base_url=served.url, timeout=WAIT) as client, ThreadPoolExecutor(len(bodies)) as pool:
        futures = [pool.submit(client.post, "/api/checkout", json=body, headers=headers) for body in bodies]
        assert stripe_api.holding.wait(timeout=WAIT), "no checkout reached the payment provider"
        answered = []
        for future in as_completed(futures, timeout=WAIT):  # all but the held one answer meanwhile
            answered.append(future.result())
            if len(answered) == len(bodies) - 1:
                break
        stripe_api.release()
        return [future.result(timeout=WAIT) for future in futures]


def test_parallel_checkouts_with_one_idempotency_key_make_one_order_and_one_charge(
        served: Served, db: Db, stripe_api: StripeStandIn) -> None:
    # GIVEN a cart, and a client that fires the same checkout many times at once
    headers = served.session(ALICE)
    with httpx.Client(base_url=served.url) as client:
        cart_id = _cart(client, headers)

    # WHEN the requests race while the first one is at the payment provider
    responses = _race(served, stripe_api, [_body(cart_id, "same-key-for-all")] * PARALLEL, headers)

    # THEN one placed the order, the others were told it is in progress; one charge, one order
    assert Counter(r.status_code for r in responses) == {201: 1, 409: PARALLEL - 1}
    assert len(stripe_api.charges) == 1 and stripe_api.calls_to("create") == 1
    assert db.count("orders") == 1 and db.count("outbox") == 1
    # AND afterwards every retry of the key gets the first result
    [placed] = [r.json() for r in responses if r.status_code == 201]
    with httpx.Client(base_url=served.url) as client:
        again = client.post("/api/checkout", json=_body(cart_id, "same-key-for-all"), headers=headers)
    assert again.status_code == 201 and again.json() == placed


def test_parallel_checkouts_of_one_cart_with_different_keys_make_one_order(
        served: Served, db: Db, stripe_api: StripeStandIn) -> None:
    headers = served.session(ALICE)
    with httpx.Client(base_url=served.url) as client:
        cart_id = _cart(client, headers)

    bodies = [_body(cart_id, f"key-number-{i:03d}") for i in range(PARALLEL)]
    responses = _race(served, stripe_api, bodies, headers)

    assert Counter(r.status_code for r in responses) == {201: 1, 409: PARALLEL - 1}
    assert len(stripe_api.charges) == 1 and db.count("orders") == 1
