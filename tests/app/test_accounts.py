"""Customer accounts over the order API: sign-in links (SES), guest sessions, carts merged at sign-in,
sessions stored as hashes with a TTL, no account enumeration, throttled link requests."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.support.app_clients import SIGN_IN_LINK, bearer, link_tokens
from tests.support.app_env import ALICE, TABLES
from tests.support.app_stores import Aws, Db


def sign_in(api: Any, aws: Aws, email: str, *, guest_token: str | None = None) -> dict[str, Any]:
    assert api.post("/api/sign-in-links", json={"email": email}).status_code == 202
    headers = {"Authorization": f"Bearer {guest_token}"} if guest_token else {}
    response = api.post("/api/sessions", json={"link_token": link_tokens(aws, email.lower())[-1]},
                        headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_new_shopper_signs_up_with_a_mailed_link_and_the_session_works(api: Any, aws: Aws, db: Db) -> None:
    # GIVEN an address the shop has never seen
    # WHEN the shopper asks for a link and opens it
    signed_in = sign_in(api, aws, "New.Shopper@Example.com")

    # THEN the link came through SES from the shop's address, an account exists, and the token works
    [mail] = aws.sent_emails()
    assert mail.source == "orders@shop.example" and mail.subject == "Your sign-in link"
    [customer] = db.rows("SELECT customer_id, email FROM customers WHERE email = 'new.shopper@example.com'")
    assert str(customer["customer_id"]) == signed_in["customer_id"]
    me = api.get("/api/sessions/current", headers=bearer(signed_in["token"]))
    assert me.json()["customer_id"] == signed_in["customer_id"] and me.json()["guest"] is False
    assert api.post("/api/carts", headers=bearer(signed_in["token"])).status_code == 201


def test_the_session_table_holds_only_a_hash_of_the_256_bit_token_and_a_ttl(api: Any, aws: Aws) -> None:
    signed_in = sign_in(api, aws, "alice@example.com")
    token = signed_in["token"]
    items = aws.client("dynamodb").scan(TableName=TABLES["sessions"])["Items"]

    # THEN the token carries 256 bits, and the table knows it only by its SHA-256
    assert len(token) >= 43  # 32 bytes, base64url
    [item] = items
    assert item["session_id"]["S"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(items)
    assert int(item["expires_at"]["N"]) == signed_in["expires_at"]


def test_asking_for_a_link_gives_the_same_answer_for_customers_and_strangers(api: Any, aws: Aws,
                                                                             db: Db) -> None:
    # GIVEN alice has an account and nobody@example.com has none
    known = api.post("/api/sign-in-links", json={"email": "alice@example.com"})
    unknown = api.post("/api/sign-in-links", json={"email": "nobody@example.com"})

    # THEN the answers are identical, both got the same email, and no account was created by asking
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert {k: v for k, v in known.headers.items() if k != "date"} == \
        {k: v for k, v in unknown.headers.items() if k != "date"}
    mails = aws.sent_emails()
    assert [m.destinations["ToAddresses"] for m in mails] == [["alice@example.com"], ["nobody@example.com"]]
    assert SIGN_IN_LINK.sub("", mails[0].body) == SIGN_IN_LINK.sub("", mails[1].body)
    assert db.count("customers") == 2


def test_link_requests_for_one_address_are_throttled_without_a_different_answer(api: Any, aws: Aws) -> None:
    from shop.accounts.service import LINKS_PER_WINDOW

    answers = [api.post("/api/sign-in-links", json={"email": "alice@example.com"})
               for _ in range(LINKS_PER_WINDOW + 3)]

    # THEN every request got the same 202, but only LINKS_PER_WINDOW emails went out
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert len(link_tokens(aws, "alice@example.com")) == LINKS_PER_WINDOW
    # AND another address is not affected
    assert api.post("/api/sign-in-links", json={"email": "bob@example.com"}).status_code == 202
    assert len(link_tokens(aws, "bob@example.com")) == 1


def test_a_link_works_once_and_not_after_it_expires(api: Any, aws: Aws, db: Db) -> None:
    api.post("/api/sign-in-links", json={"email": "alice@example.com"})
    api.post("/api/sign-in-links", json={"email": "bob@example.com"})
    first, second = link_tokens(aws, "alice@example.com")[0], link_tokens(aws, "bob@example.com")[0]

    assert api.post("/api/sessions", json={"link_token": first}).status_code == 201
    replay = api.post("/api/sessions", json={"link_token": first})
    assert (replay.status_code, replay.json()["error"]) == (401, "invalid_link")

    db.execute("UPDATE sign_in_links SET created_at = now() - interval '1 hour', "
               "expires_at = now() - interval '1 minute'")
    assert api.post("/api/sessions", json={"link_token": second}).status_code == 401
    assert api.post("/api/sessions", json={"link_token": "x" * 43}).status_code == 401


def test_a_guest_cart_is_merged_into_the_accounts_cart_at_sign_in(api: Any, aws: Aws, runtime: Any) -> None:
    # GIVEN alice signed in before and left TEE-BLK-M x1 in her cart
    earlier = sign_in(api, aws, "alice@example.com")
    cart_id = api.post("/api/carts", headers=bearer(earlier["token"])).json()["cart_id"]
    api.put(f"/api/carts/{cart_id}/items/TEE-BLK-M", json={"quantity": 1}, headers=bearer(earlier["token"]))

    # AND, on another device, as a guest, she puts TEE-BLK-M x2 and MUG-WHT x1 in a cart
    guest = api.post("/api/sessions/guest").json()["token"]
    guest_cart = api.post("/api/carts", headers=bearer(guest)).json()["cart_id"]
    for sku, quantity in (("TEE-BLK-M", 2), ("MUG-WHT", 1)):
        assert api.put(f"/api/carts/{guest_cart}/items/{sku}", json={"quantity": quantity},
                       headers=bearer(guest)).status_code == 200

    # WHEN she signs in on that device
    signed_in = sign_in(api, aws, "alice@example.com", guest_token=guest)

    # THEN her session's cart is her account's cart, holding both carts' lines
    assert signed_in["cart_id"] == cart_id
    cart = api.get(f"/api/carts/{cart_id}", headers=bearer(signed_in["token"])).json()
    assert cart["items"] == [{"sku": "MUG-WHT", "quantity": 1}, {"sku": "TEE-BLK-M", "quantity": 3}]
    # AND the guest cart is closed and the guest session is over (its token is not a customer's)
    assert runtime.carts.get(guest_cart).status == "merged"
    assert api.get("/api/sessions/current", headers=bearer(guest)).status_code == 401


def test_a_first_sign_in_adopts_the_guest_cart(api: Any, aws: Aws) -> None:
    guest = api.post("/api/sessions/guest").json()["token"]
    guest_cart = api.post("/api/carts", headers=bearer(guest)).json()["cart_id"]
    api.put(f"/api/carts/{guest_cart}/items/CAP-RED", json={"quantity": 2}, headers=bearer(guest))

    signed_in = sign_in(api, aws, "carol@example.com", guest_token=guest)

    assert signed_in["cart_id"] == guest_cart
    cart = api.get(f"/api/carts/{guest_cart}", headers=bearer(signed_in["token"]))
    assert cart.status_code == 200 and cart.json()["items"] == [{"sku": "CAP-RED", "quantity": 2}]


def test_a_guest_may_fill_a_cart_but_must_sign_in_to_check_out(api: Any) -> None:
    guest = api.post("/api/sessions/guest").json()["token"]
    cart_id = api.post("/api/carts", headers=bearer(guest)).json()["cart_id"]
    api.put(f"/api/carts/{cart_id}/items/CAP-RED", json={"quantity": 1}, headers=bearer(guest))
    response = api.post("/api/checkout", headers=bearer(guest), json={
        "cart_id": cart_id, "payment_method": "pm_card_visa", "idempotency_key": "guest-checkout-1",
        "shipping": {"country": "DE", "postal_code": "10115"}})
    assert (response.status_code, response.json()["error"]) == (403, "sign_in_required")


def test_signing_out_ends_the_session(api: Any, aws: Aws) -> None:
    token = sign_in(api, aws, "alice@example.com")["token"]
    assert api.delete("/api/sessions/current", headers=bearer(token)).status_code == 204
    assert api.get("/api/sessions/current", headers=bearer(token)).status_code == 401
    assert api.post("/api/carts", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "x" * 250 + "@example.com"])
def test_a_malformed_address_is_refused_before_anything_is_sent(api: Any, aws: Aws, email: str) -> None:
    assert api.post("/api/sign-in-links", json={"email": email}).status_code == 422
    assert aws.sent_emails() == []


def test_the_customer_id_of_an_existing_account_is_kept(api: Any, aws: Aws) -> None:
    assert sign_in(api, aws, "ALICE@example.com")["customer_id"] == ALICE
