"""docs/first-order.md, step by step: a staff login, a catalog import, a shopper who signs up, fills a
cart and checks out. Each test is one step of the document, with the parts it names."""

from __future__ import annotations

from typing import Any

from tests.support.alb_standin import EDITORS, VIEWERS, AlbStandIn
from tests.support.app_clients import as_staff, bearer, link_tokens
from tests.support.app_stores import Aws, Db

CATALOG = """sku,name,description,category,category_name,price_cents,currency,stock,active
TEE-ORG-M,"Organic tee, M",Soft and sturdy,tees,T-shirts,2900,USD,50,true
SOCK-3PK,Socks (3 pairs),Merino blend,socks,Socks,1500,USD,200,true
"""


def test_step_1_a_staff_login_is_a_user_in_the_editors_group_of_your_idp(
        admin: Any, alb: AlbStandIn) -> None:  # noqa: F811
    # The IdP's userinfo for the new staff member lists the editors group in the groups claim;
    # the ALB signs those claims into x-amzn-oidc-data.
    editor = as_staff(alb.token({"sub": "u-42", "email": "sam@shop.example.com", "groups": [EDITORS]}))
    assert admin.get("/admin/api/me", headers=editor).json()["roles"] == ["editor", "viewer"]
    viewer = as_staff(alb.token({"sub": "u-43", "email": "kim@shop.example.com", "groups": [VIEWERS]}))
    assert admin.get("/admin/api/me", headers=viewer).json()["roles"] == ["viewer"]


def test_step_2_import_the_catalog_and_it_reaches_the_bus(
        admin: Any, alb: AlbStandIn, db: Db, runtime: Any, aws: Aws) -> None:  # noqa: F811
    response = admin.post("/admin/api/imports", content=CATALOG.encode(),
                          headers={**as_staff(alb.token()), "content-type": "text/csv"})
    assert response.status_code == 201 and response.json()["created"] == 2
    assert runtime.relay.publish_pending().published == 2  # the outbox relay, every minute in AWS
    assert aws.depth(aws.queues["recommendations"]) == 2  # product.updated, twice


def test_steps_3_to_5_a_shopper_fills_a_cart_signs_up_and_checks_out(
        admin: Any, alb: AlbStandIn, api: Any, aws: Aws, db: Db) -> None:  # noqa: F811
    admin.post("/admin/api/imports", content=CATALOG.encode(),
               headers={**as_staff(alb.token()), "content-type": "text/csv"})

    # 3. as a guest, fill a cart
    guest = api.post("/api/sessions/guest").json()["token"]
    cart_id = api.post("/api/carts", headers=bearer(guest)).json()["cart_id"]
    for sku, quantity in (("TEE-ORG-M", 2), ("SOCK-3PK", 1)):
        assert api.put(f"/api/carts/{cart_id}/items/{sku}", json={"quantity": quantity},
                       headers=bearer(guest)).status_code == 200

    # 4. sign up: ask for a link, open it (the guest's cart comes along)
    assert api.post("/api/sign-in-links", json={"email": "first@customer.example"}).status_code == 202
    [token] = link_tokens(aws, "first@customer.example")
    signed_in = api.post("/api/sessions", json={"link_token": token}, headers=bearer(guest)).json()
    assert signed_in["cart_id"] == cart_id

    # 5. check out
    order = api.post("/api/checkout", headers=bearer(signed_in["token"]), json={
        "cart_id": cart_id, "payment_method": "pm_card_visa", "idempotency_key": "first-order-0001",
        "shipping": {"country": "US", "postal_code": "94110"}})
    assert order.status_code == 201, order.text
    assert order.json()["total_cents"] == 2 * 2900 + 1500
    [placed] = db.rows("SELECT customer_id FROM orders")
    assert str(placed["customer_id"]) == signed_in["customer_id"]
