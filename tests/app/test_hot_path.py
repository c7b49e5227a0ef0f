"""The checkout's hot path does fewer AWS calls without answering differently: the session and the cart
in one DynamoDB call, and the immediate publishes of orders committed together in one PutEvents."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from tests.support.app_clients import Shopper
from tests.support.app_env import ALICE
from tests.support.app_stores import Db

WAIT = 30  # seconds; a bound against hanging, never reached when the code is right


def test_one_call_reads_what_the_session_and_the_cart_reads_would(alice: Shopper, bob: Shopper,
                                                                 runtime: Any) -> None:
    from shop.userstate import session_and_cart

    # GIVEN carts of Alice's and Bob's, one that has expired, and tokens good, unknown and malformed
    mine, bobs = alice.cart({"TEE-BLK-M": 2}), bob.cart({"MUG-WHT": 1})
    expired = runtime.carts.create(ALICE).cart_id
    runtime.carts._table.update_item(Key={"cart_id": expired}, UpdateExpression="SET expires_at = :past",
                                     ExpressionAttributeValues={":past": int(time.time()) - 60})
    tokens = [alice.token, bob.token, "not-a-session-token", "x" * 300, ""]
    calls: list[str] = []
    client = runtime.carts._table.meta.client

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", count)

    for token in tokens:
        for cart_id in (mine, bobs, expired, str(uuid.uuid4())):
            calls.clear()
            # WHEN both are read at once
            both = session_and_cart(runtime.sessions, runtime.carts, token, cart_id)
            made = list(calls)
            # THEN the answer is what the two reads give, with one call for a well-formed token
            assert both == (runtime.sessions.session(token), runtime.carts.get(cart_id)), (token, cart_id)
            assert made == (["BatchGetItem"] if token and len(token) <= 256 else ["GetItem"])
    client.meta.events.unregister("before-call.dynamodb", count)


def test_orders_committed_during_a_publish_go_out_together_and_none_is_left(
        alice: Shopper, bob: Shopper, db: Db, runtime: Any, monkeypatch: Any) -> None:
    from shop.outbox import AfterCommitPublisher

    # GIVEN six committed orders whose events are not published yet
    monkeypatch.setattr(runtime, "settings", runtime.settings.__class__(
        **{**runtime.settings.__dict__, "relay_after_commit": False}))
    for shopper, sku in [(alice, "TEE-BLK-M"), (bob, "MUG-WHT")] * 3:
        assert shopper.checkout(shopper.cart({sku: 1})).status_code == 201
    first, *others = [row["event_id"] for row in db.rows("SELECT event_id FROM outbox ORDER BY created_at")]

    # AND EventBridge slow to answer the first PutEvents
    sent: list[int] = []
    holding, release = threading.Event(), threading.Event()

    def slow(params: dict[str, Any], **_: Any) -> None:
        sent.append(len(params["Entries"]))
        if len(sent) == 1:
            holding.set()
            assert release.wait(WAIT)

    runtime.events.meta.events.register("before-parameter-build.events.PutEvents", slow)
    publisher = AfterCommitPublisher(runtime.relay)
    try:
        # WHEN the first order's publish is under way and the others are handed over meanwhile
        leader = threading.Thread(target=publisher.publish, args=([first],))
        leader.start()
        assert holding.wait(WAIT)
        for event_id in others:
            publisher.publish([event_id])  # returns at once: the running publish takes it
        release.set()
        leader.join(WAIT)
    finally:
        runtime.events.meta.events.unregister("before-parameter-build.events.PutEvents", slow)

    # THEN every event is published, the five that waited in one PutEvents
    assert not leader.is_alive() and sent == [1, 5]
    assert db.rows("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") == [{"n": 0}]
