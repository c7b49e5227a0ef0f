"""Another customer's cart answers exactly like a cart that does not exist, whatever the verb."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.support.app_clients import Shopper

# Every operation that takes a cart id, with how to call it for one (extend when a route is added:
# the test fails while one of the API's cart routes is missing here).
CART_CALLS: dict[tuple[str, str], Callable[[Shopper, str], httpx.Response]] = {
    ("get", "/api/carts/{cart_id}"): lambda shopper, cart_id: shopper.client.get(
        f"/api/carts/{cart_id}", headers=shopper.headers),
    ("put", "/api/carts/{cart_id}/items/{sku}"): lambda shopper, cart_id: shopper.client.put(
        f"/api/carts/{cart_id}/items/MUG-WHT", json={"quantity": 2}, headers=shopper.headers),
    ("post", "/api/checkout"): lambda shopper, cart_id: shopper.checkout(cart_id),
}


def _cart_operations(schema: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = str(operation.get("requestBody", ""))
            if "{cart_id}" in path or "'cart_id'" in body:
                found.add((method, path))
    return found


def test_another_customers_cart_gets_the_same_404_as_no_cart_for_every_verb(
        alice: Shopper, bob: Shopper) -> None:
    # GIVEN Bob's open cart and Bob's ordered cart
    open_cart = bob.cart({"TEE-BLK-M": 1})
    ordered_cart = bob.cart({"CAP-RED": 1})
    assert bob.checkout(ordered_cart).status_code == 201
    assert _cart_operations(alice.client.app.openapi()) == set(CART_CALLS)

    for operation, call in CART_CALLS.items():
        # WHEN Alice uses them, or a cart id that does not exist
        missing = call(alice, str(uuid.uuid4()))
        answers = {"open": call(alice, open_cart), "ordered": call(alice, ordered_cart)}

        # THEN every answer is the missing cart's 404, byte for byte
        assert missing.status_code == 404, (operation, missing.text)
        for name, answer in answers.items():
            assert (answer.status_code, answer.content) == (404, missing.content), (operation, name)

    # AND Alice's own ordered cart still says what it is (409), Bob's carts are unchanged
    own = alice.cart({"MUG-WHT": 1})
    assert alice.checkout(own).status_code == 201
    changed = CART_CALLS[("put", "/api/carts/{cart_id}/items/{sku}")](alice, own)
    assert (changed.status_code, changed.json()["error"]) == (409, "cart_not_open")
    assert bob.client.get(f"/api/carts/{open_cart}", headers=bob.headers).json()["items"] == [
        {"sku": "TEE-BLK-M", "quantity": 1}]
