"""The admin service: staff identity from the ALB-signed token (verified with a key served over HTTP),
roles from its claims, catalog edits with optimistic concurrency, the audit trail, and each change
reaching the bus as `product.updated` through the outbox."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.routing import Route

from tests.support.alb_standin import ALB_ARN, EDITORS, VIEWERS, AlbStandIn
from tests.support.app_clients import as_staff
from tests.support.app_stores import Aws, Db

MUG = {"name": "Blue mug", "description": "Stoneware, 350 ml", "category": None, "price_cents": 1400,
       "currency": "USD", "stock": 40, "active": True}


# --- who is calling ---------------------------------------------------------------------------------


def test_an_alb_signed_token_makes_an_editor_and_the_key_is_fetched_once(admin: Any, alb: AlbStandIn) -> None:
    for _ in range(3):
        me = admin.get("/admin/api/me", headers=as_staff(alb.token()))
        assert me.status_code == 200, me.text
    assert me.json() == {"subject": "staff-1", "email": "editor@example.com", "roles": ["editor", "viewer"]}
    assert alb.key_requests == [f"/{alb.kid}"]


def _unsigned(alb: AlbStandIn) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": alb.kid, "signer": ALB_ARN}).encode())
    body = base64.urlsafe_b64encode(json.dumps({"sub": "x", "groups": [EDITORS]}).encode())
    return f"{header.decode()}.{body.decode()}."


def _tampered(alb: AlbStandIn) -> str:
    header, _, signature = alb.token({"sub": "viewer-1", "groups": [VIEWERS]}).split(".")
    claims = json.dumps({"sub": "viewer-1", "groups": [EDITORS]}).encode()
    promoted = base64.urlsafe_b64encode(claims).decode()
    return f"{header}.{promoted}.{signature}"


FORGERIES: dict[str, Callable[[AlbStandIn], str | None]] = {
    "no token": lambda alb: None,
    "unsigned (alg none)": _unsigned,
    "signed with another key": lambda alb: alb.token(key=ec.generate_private_key(ec.SECP256R1())),
    "another load balancer": lambda alb: alb.token(signer=ALB_ARN.replace("/web/", "/other/")),
    "another OIDC client": lambda alb: alb.token(client="someone-else"),
    "another issuer": lambda alb: alb.token(iss="https://evil.example.com"),
    "expired": lambda alb: alb.token(exp=int(time.time()) - 3600),
    "an unknown key id": lambda alb: alb.token(kid=str(uuid.uuid4())),
    "a key id that is a path": lambda alb: alb.token(kid="../../etc/passwd"),
    "HS256 with the public key": lambda alb: alb.token(alg="HS256"),
    "tampered claims": _tampered,
    "garbage": lambda alb: "not.a.jwt",
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_or_unsigned_token_gets_401(admin: Any, alb: AlbStandIn, db: Db, forgery: str) -> None:
    token = FORGERIES[forgery](alb)
    headers = as_staff(token) if token is not None else {}
    assert admin.get("/admin/api/me", headers=headers).status_code == 401
    response = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 0}, headers=headers)
    assert response.status_code == 401
    assert db.rows("SELECT sku FROM products WHERE sku = 'MUG-BLU'") == []


def test_a_viewer_reads_but_may_not_edit_and_staff_without_a_group_may_do_neither(
        admin: Any, alb: AlbStandIn) -> None:
    viewer = as_staff(alb.token({"sub": "v-1", "email": "v@example.com", "groups": [VIEWERS]}))
    assert admin.get("/admin/api/products", headers=viewer).status_code == 200
    edit = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 0}, headers=viewer)
    assert edit.status_code == 403
    nobody = as_staff(alb.token({"sub": "n-1", "groups": "marketing, sales"}))
    assert admin.get("/admin/api/me", headers=nobody).json()["roles"] == []
    assert admin.get("/admin/api/products", headers=nobody).status_code == 403


def test_the_health_check_needs_no_token(admin: Any) -> None:
    assert admin.get("/admin/health").json() == {"status": "ok"}


# --- editing ----------------------------------------------------------------------------------------


def test_an_edit_writes_the_product_an_audit_row_and_a_product_updated_outbox_row(
        admin: Any, alb: AlbStandIn, db: Db) -> None:
    editor = as_staff(alb.token())
    created = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 0}, headers=editor)
    assert created.status_code == 201 and created.json()["version"] == 1
    changed = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "price_cents": 1200, "version": 1},
                        headers=editor)
    assert changed.status_code == 200 and changed.json()["version"] == 2

    [row] = db.rows("SELECT price_cents, version FROM products WHERE sku = 'MUG-BLU'")
    assert (row["price_cents"], row["version"]) == (1200, 2)
    audit = admin.get("/admin/api/products/MUG-BLU/audit", headers=editor).json()["changes"]
    assert [(a["version"], a["action"], a["actor"]) for a in audit] == [
        (2, "update", "editor@example.com"), (1, "create", "editor@example.com")]
    assert audit[0]["before"]["price_cents"] == 1400 and audit[0]["after"]["price_cents"] == 1200
    assert audit[1]["before"] is None
    details = [r["detail"] for r in db.rows("SELECT detail FROM outbox WHERE detail_type = 'product.updated' "
                                            "ORDER BY created_at, (detail->>'version')::int")]
    assert [(d["sku"], d["version"], d["product"]["price_cents"]) for d in details] == [
        ("MUG-BLU", 1, 1400), ("MUG-BLU", 2, 1200)]


def test_a_stale_edit_gets_409_and_changes_nothing(admin: Any, alb: AlbStandIn, db: Db) -> None:
    editor = as_staff(alb.token())
    admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 0}, headers=editor)
    # GIVEN two editors read version 1; the first saves a new price
    assert admin.put("/admin/api/products/MUG-BLU", json={**MUG, "price_cents": 1300, "version": 1},
                     headers=editor).status_code == 200
    before = (db.rows("SELECT * FROM products WHERE sku = 'MUG-BLU'"), db.count("catalog_audit"),
              db.count("outbox"))

    # WHEN the second saves their edit of version 1
    stale = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "stock": 0, "version": 1}, headers=editor)

    # THEN 409 with the current version, and the product, the audit trail and the outbox are as they were
    assert stale.status_code == 409
    assert stale.json()["error"] == "stale_version" and stale.json()["current_version"] == 2
    assert (db.rows("SELECT * FROM products WHERE sku = 'MUG-BLU'"), db.count("catalog_audit"),
            db.count("outbox")) == before
    # AND creating a SKU that exists is stale too
    recreate = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 0}, headers=editor)
    assert recreate.status_code == 409


def test_saving_what_is_already_there_changes_no_version(admin: Any, alb: AlbStandIn, db: Db) -> None:
    editor = as_staff(alb.token())
    admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 0}, headers=editor)
    again = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 1}, headers=editor)
    assert again.status_code == 200 and again.json()["version"] == 1
    assert db.count("catalog_audit") == 1


def test_categories_are_edited_and_a_product_must_name_a_known_one(admin: Any, alb: AlbStandIn) -> None:
    editor = as_staff(alb.token())
    bad = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "category": "kitchen", "version": 0},
                    headers=editor)
    assert (bad.status_code, bad.json()["error"]) == (409, "unknown_category")  # valid, but not yet there
    category = admin.put("/admin/api/categories/kitchen", json={"name": "Kitchen"}, headers=editor)
    assert category.status_code == 200
    assert admin.put("/admin/api/products/MUG-BLU", json={**MUG, "category": "kitchen", "version": 0},
                     headers=editor).status_code == 201
    assert admin.get("/admin/api/categories", headers=editor).json() == {
        "categories": [{"slug": "kitchen", "name": "Kitchen"}]}


@pytest.mark.parametrize(("field", "value"), [
    ("name", "Blue\u0000mug"),  # PostgreSQL's text cannot hold NUL (was a 500)
    ("description", "\u0000"),
    ("price_cents", 10**12),  # 13 digits: beyond any price, and what the card-data guard watches for
    ("stock", 2**31),  # beyond the integer column (was a 500)
    ("price_cents", 14.5),
])
def test_a_product_the_catalog_cannot_hold_is_422_naming_the_field(
        admin: Any, alb: AlbStandIn, db: Db, field: str, value: Any) -> None:
    response = admin.put("/admin/api/products/MUG-BLU", json={**MUG, field: value, "version": 0},
                         headers=as_staff(alb.token()))
    assert response.status_code == 422, response.text
    assert [issue["loc"] for issue in response.json()["details"]] == [[field]]
    assert db.rows("SELECT sku FROM products WHERE sku = 'MUG-BLU'") == []


def test_a_whole_number_written_with_a_fraction_is_a_whole_number(admin: Any, alb: AlbStandIn) -> None:
    # JSON has one number type: 1400.0 is an integer to JSON Schema, so to the service's OpenAPI document
    response = admin.put("/admin/api/products/MUG-BLU", json={**MUG, "price_cents": 1400.0, "version": 0.0},
                         headers=as_staff(alb.token()))
    assert response.status_code == 201 and response.json()["price_cents"] == 1400


def test_bad_parameters_and_unknown_addresses_get_the_services_own_errors(
        admin: Any, alb: AlbStandIn) -> None:
    editor = as_staff(alb.token())
    # a page size out of range is refused (it was silently clamped), without echoing the input
    for query in ("limit=0", "limit=201", "after=lower-case"):
        response = admin.get(f"/admin/api/products?{query}", headers=editor)
        assert response.status_code == 422 and response.json()["error"] == "invalid_request", query
        assert all("input" not in issue for issue in response.json()["details"])
    impossible = admin.get("/admin/api/products/not a sku", headers=editor)
    assert impossible.status_code == 422 and impossible.json()["details"][0]["loc"] == ["path", "sku"]
    unknown = admin.get("/admin/api/nothing-here", headers=editor)
    assert unknown.status_code == 404 and unknown.json() == {"error": "not_found", "message": "Not Found"}
    wrong_verb = admin.delete("/admin/api/categories", headers=editor)
    assert wrong_verb.status_code == 405 and wrong_verb.json()["error"] == "method_not_allowed"


def test_a_product_change_reaches_the_bus_as_product_updated(
        admin: Any, alb: AlbStandIn, runtime: Any, aws: Aws) -> None:
    from shop.events import PRODUCT_UPDATED, ProductUpdated, event_id_for

    admin.put("/admin/api/products/MUG-BLU", json={**MUG, "version": 0}, headers=as_staff(alb.token()))

    # WHEN the outbox relay runs (every minute in AWS)
    assert runtime.relay.publish_pending().published == 1

    # THEN the recommendations queue (subscribed to product.updated) holds the contract's event
    sqs = aws.client("sqs")
    received = sqs.receive_message(QueueUrl=aws.queues["recommendations"], MaxNumberOfMessages=10)
    [message] = received["Messages"]
    envelope = json.loads(message["Body"])
    assert (envelope["source"], envelope["detail-type"]) == ("ecommerce.orders", PRODUCT_UPDATED)
    detail = ProductUpdated.model_validate(envelope["detail"])
    assert detail.sku == "MUG-BLU" and detail.version == 1 and detail.product.stock == 40
    assert detail.event_id == event_id_for(PRODUCT_UPDATED, "MUG-BLU:1")
    assert aws.depth(aws.queues["fulfillment"]) == 0  # not a fulfillment event


def test_the_edge_lets_large_bodies_through_exactly_on_the_import_routes() -> None:
    """The WAF's exemption from its 8 KB body limit (components/stack.py) names the app's upload routes."""
    from components.stack import ADMIN_UPLOAD_PATHS
    from shop.admin.app import app

    posts = {route.path for route in app.routes
             if isinstance(route, Route) and "POST" in (route.methods or ())}
    assert posts == set(ADMIN_UPLOAD_PATHS)
