"""From checkout to every consumer's effect: outbox, relay, bus, queues, Lambda handlers (moto)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.app_clients import Shopper
from tests.support.app_env import CONSUMERS
from tests.support.app_stores import Aws, Db


@pytest.fixture
def handlers() -> dict[str, Any]:
    """The four consumers' Lambda entry points, imported as Lambda imports them."""
    import shop.consumers.analytics
    import shop.consumers.email
    import shop.consumers.fulfillment
    import shop.consumers.recommendations

    return {"fulfillment": shop.consumers.fulfillment.handler, "email": shop.consumers.email.handler,
            "analytics": shop.consumers.analytics.handler,
            "recommendations": shop.consumers.recommendations.handler}


def _place_order(shopper: Shopper, items: dict[str, int]) -> dict[str, Any]:
    response = shopper.checkout(shopper.cart(items))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _messages(aws: Aws, url: str) -> list[dict[str, Any]]:
    sqs = aws.client("sqs")
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(message["Body"]) for message in found]


def recommendation_lists(runtime: Any, *skus: str) -> list[dict[str, Any]]:
    """The recommendation documents of `skus` in the search index (what the storefront serves)."""
    from shop.search.indexes import RECOMMENDATIONS

    found = runtime.search.search(index=RECOMMENDATIONS.alias, body={
        "query": {"ids": {"values": list(skus)}}, "size": len(skus)})
    return [hit["_source"] for hit in found["hits"]["hits"]]


def test_happy_path_reaches_every_consumer_and_each_applies_its_effect(
        alice: Shopper, db: Db, aws: Aws, runtime: Any, handlers: dict[str, Any],
        drain: Callable[..., Any]) -> None:
    # GIVEN an order placed through the API (the relay publishes right after the commit)
    order = _place_order(alice, {"TEE-BLK-M": 2, "MUG-WHT": 1})
    [outbox] = db.rows("SELECT event_id, published_at FROM outbox")
    assert outbox["published_at"] is not None

    # THEN every order.placed consumer's queue holds the contract's order.placed
    for name in (name for name, types in CONSUMERS.items() if "order.placed" in types):
        [envelope] = _messages(aws, aws.queues[name])
        assert envelope["source"] == "ecommerce.orders" and envelope["detail-type"] == "order.placed"
        assert envelope["detail"]["order_id"] == order["order_id"]
        assert envelope["detail"]["event_id"] == str(outbox["event_id"])

    # WHEN each consumer's Lambda processes its queue
    for name, handler in handlers.items():
        responses = drain(name, handler)
        assert responses == [{"batchItemFailures": []}]

    # THEN fulfillment requested shipping, email confirmed, analytics recorded, recommendations counted
    [fulfillment] = db.rows("SELECT order_id, shipping FROM fulfillment_requests")
    assert str(fulfillment["order_id"]) == order["order_id"]
    assert fulfillment["shipping"] == {"country": "DE", "postal_code": "10115"}
    [mail] = aws.sent_emails()
    assert mail.destinations["ToAddresses"] == ["alice@example.com"]
    assert mail.source == "orders@shop.example"
    assert "is confirmed" in mail.subject and "62.00 USD" in mail.body
    assert db.rows("SELECT detail_type, total_cents FROM analytics_events") == [
        {"detail_type": "order.placed", "total_cents": 6200}]
    [document] = recommendation_lists(runtime, "MUG-WHT")
    assert document["bought_together"] == [{"sku": "TEE-BLK-M", "orders": 1}]
    assert all(aws.depth(url) == 0 for url in [*aws.queues.values(), *aws.dlqs.values()])


def test_relay_crash_between_put_events_and_marking_is_absorbed_by_the_consumers(
        alice: Shopper, db: Db, aws: Aws, runtime: Any, handlers: dict[str, Any],
        drain: Callable[..., Any], lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import shop.jobs.outbox_relay as relay_job

    # GIVEN an order whose immediate publish did not happen (the API's relay is off)
    monkeypatch.setattr(runtime, "settings", runtime.settings.__class__(
        **{**runtime.settings.__dict__, "relay_after_commit": False}))
    _place_order(alice, {"CAP-RED": 1})
    monkeypatch.setattr(relay_job, "runtime", runtime)

    # AND a relay that dies right after EventBridge accepted the batch, before it marks the rows
    class Crash(Exception):
        pass

    def crash(**_: Any) -> None:
        raise Crash("relay died after PutEvents")

    runtime.events.meta.events.register("after-call.events.PutEvents", crash)
    with pytest.raises(Crash):
        relay_job.handler({}, lambda_context)
    runtime.events.meta.events.unregister("after-call.events.PutEvents", crash)
    assert db.rows("SELECT published_at FROM outbox") == [{"published_at": None}]

    # WHEN the next scheduled run publishes it again
    assert relay_job.handler({}, lambda_context) == {"published": 1, "failed": 0}

    # THEN each queue got the event twice, and each consumer applied it once
    assert aws.depth(aws.queues["email"]) == 2
    for name, handler in handlers.items():
        drain(name, handler)
    assert len(aws.sent_emails()) == 1
    assert db.count("fulfillment_requests") == 1 and db.count("analytics_events") == 1
    assert db.rows("SELECT orders FROM co_purchases") == []  # one SKU: nothing bought together
    assert db.count("co_purchase_events") == 1


def test_relay_marks_only_the_entries_eventbridge_accepted(
        alice: Shopper, bob: Shopper, db: Db, runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN two unpublished orders
    monkeypatch.setattr(runtime, "settings", runtime.settings.__class__(
        **{**runtime.settings.__dict__, "relay_after_commit": False}))
    _place_order(alice, {"CAP-RED": 1})
    _place_order(bob, {"MUG-WHT": 1})

    # AND EventBridge refuses the second entry of the batch
    def refuse_second(parsed: dict[str, Any], **_: Any) -> None:
        parsed["FailedEntryCount"] = 1
        parsed["Entries"][1] = {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}

    runtime.events.meta.events.register("after-call.events.PutEvents", refuse_second)
    report = runtime.relay.publish_pending()
    runtime.events.meta.events.unregister("after-call.events.PutEvents", refuse_second)

    # THEN only the accepted row is marked; the refused one counts an attempt and stays queued
    assert (report.published, report.failed) == (1, 1)
    rows = db.rows("SELECT published_at IS NOT NULL AS published, attempts, last_error FROM outbox "
                   "ORDER BY published")
    assert rows[0]["published"] is False and rows[0]["attempts"] == 1
    assert "InternalFailure" in rows[0]["last_error"]
    assert rows[1]["published"] is True

    # WHEN the relay runs again, THEN the rest goes out
    again = runtime.relay.publish_pending()
    assert (again.published, again.failed) == (1, 0)
    assert db.rows("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL") == [{"n": 0}]


def test_relay_publishes_in_batches_of_at_most_ten(
        db: Db, aws: Aws, runtime: Any) -> None:
    # GIVEN 23 unpublished rows
    from psycopg.types.json import Jsonb

    with db.connect() as conn, conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO outbox (event_id, source, detail_type, detail) "
            "VALUES (gen_random_uuid(), %s, %s, %s)",
            [("ecommerce.orders", "product.updated",
              Jsonb({"event_id": "x", "sku": f"S{i}", "active": True})) for i in range(23)])
    sizes: list[int] = []
    runtime.events.meta.events.register("before-parameter-build.events.PutEvents",
                                        lambda params, **_: sizes.append(len(params["Entries"])))

    report = runtime.relay.publish_pending()

    assert report.published == 23 and sizes == [10, 10, 3]


def test_a_poison_message_goes_to_the_dlq_while_the_rest_of_the_batch_succeeds(
        alice: Shopper, bob: Shopper, db: Db, aws: Aws, handlers: dict[str, Any],
        drain: Callable[..., Any]) -> None:
    # GIVEN two real orders and, between them, a message no consumer can parse
    _place_order(alice, {"TEE-BLK-M": 1})
    aws.client("sqs").send_message(QueueUrl=aws.queues["fulfillment"],
                                   MessageBody='{"detail-type": "order.pl')
    _place_order(bob, {"MUG-WHT": 1})

    # WHEN the fulfillment Lambda processes its queue
    responses = drain("fulfillment", handlers["fulfillment"])

    # THEN the two orders were fulfilled in the first batch, the poison one failed alone...
    assert len(responses[0]["batchItemFailures"]) == 1
    assert db.count("fulfillment_requests") == 2
    # ...and after the max receive count it sits in the DLQ, not in the queue
    assert aws.depth(aws.queues["fulfillment"]) == 0
    [dead] = aws.client("sqs").receive_message(QueueUrl=aws.dlqs["fulfillment"]).get("Messages", [])
    assert dead["Body"] == '{"detail-type": "order.pl'


def test_an_event_with_a_broken_contract_is_dead_lettered(
        db: Db, aws: Aws, handlers: dict[str, Any], drain: Callable[..., Any]) -> None:
    aws.client("events").put_events(Entries=[{
        "Source": "ecommerce.orders", "DetailType": "order.placed", "EventBusName": "shop-orders",
        "Detail": json.dumps({"event_id": "5b3d9c1e-2f1a-4c4e-8f0e-111111111111", "total_cents": "a lot"})}])

    drain("analytics", handlers["analytics"])

    assert db.count("analytics_events") == 0
    assert aws.depth(aws.dlqs["analytics"]) == 1


def test_a_failing_consumer_does_not_hold_back_another(
        alice: Shopper, db: Db, aws: Aws, handlers: dict[str, Any], drain: Callable[..., Any]) -> None:
    # GIVEN fulfillment's database writes fail (its table is locked away from it)
    db.execute("ALTER TABLE fulfillment_requests RENAME TO fulfillment_requests_offline")
    try:
        _place_order(alice, {"TEE-BLK-M": 1})

        # WHEN both consumers process their queues
        drain("fulfillment", handlers["fulfillment"])
        drain("email", handlers["email"])
    finally:
        db.execute("ALTER TABLE fulfillment_requests_offline RENAME TO fulfillment_requests")

    # THEN email sent the confirmation, while fulfillment's message retried into its own DLQ
    assert len(aws.sent_emails()) == 1
    assert aws.depth(aws.queues["email"]) == 0 and aws.depth(aws.dlqs["email"]) == 0
    assert aws.depth(aws.dlqs["fulfillment"]) == 1
    # AND redriving the DLQ once fulfillment is healthy completes the work
    sqs = aws.client("sqs")
    [dead] = sqs.receive_message(QueueUrl=aws.dlqs["fulfillment"]).get("Messages", [])
    sqs.send_message(QueueUrl=aws.queues["fulfillment"], MessageBody=dead["Body"])
    drain("fulfillment", handlers["fulfillment"])
    assert db.count("fulfillment_requests") == 1


def test_a_delisted_product_leaves_the_recommendations(
        alice: Shopper, db: Db, aws: Aws, runtime: Any, handlers: dict[str, Any],
        drain: Callable[..., Any]) -> None:
    _place_order(alice, {"TEE-BLK-M": 1, "MUG-WHT": 1, "CAP-RED": 1})
    aws.client("events").put_events(Entries=[{
        "Source": "ecommerce.orders", "DetailType": "product.updated", "EventBusName": "shop-orders",
        "Detail": json.dumps({"event_id": "9a1b2c3d-4e5f-4a6b-8c7d-222222222222", "sku": "CAP-RED",
                              "active": False})}])

    drain("recommendations", handlers["recommendations"])

    lists = {d["sku"]: [e["sku"] for e in d["bought_together"]]
             for d in recommendation_lists(runtime, "TEE-BLK-M", "MUG-WHT", "CAP-RED")}
    assert lists == {"TEE-BLK-M": ["MUG-WHT"], "MUG-WHT": ["TEE-BLK-M"], "CAP-RED": []}
