"""The event bus: an archive for replay, and only the order service and the outbox relay publish."""

from __future__ import annotations

from typing import Any

from offline.engine import Resource, Snapshot
from tests.components.event_flow import (
    FUNCTION,
    ROLE_POLICY,
    as_list,
    config_of,
    consumers,
    role_policy_of,
    statements,
)

BUS = "aws:cloudwatch/eventBus:EventBus"


def bus_of(snapshot: Snapshot) -> Resource:
    [bus] = snapshot.of_type(BUS)
    return bus


def function_named(snapshot: Snapshot, name: str) -> Resource:
    [function] = [f for f in snapshot.of_type(FUNCTION) if f.name == name]
    return function


def order_api_task_role(snapshot: Snapshot) -> Resource:
    web = snapshot.of_type("ecommerce:web:WebServices")[0]
    return next(r for r in snapshot.descendants(web)
                if r.type == "aws:iam/role:Role" and r.name == "web-order-api-task")


def test_the_bus_has_an_archive_with_the_configured_retention(prod: Snapshot) -> None:
    bus = bus_of(prod)
    [archive] = prod.of_type("aws:cloudwatch/eventArchive:EventArchive")
    assert archive.inputs["eventSourceArn"] == bus.outputs["arn"]
    assert archive.inputs["retentionDays"] == config_of(prod).events.archive_retention_days
    assert "eventPattern" not in archive.inputs  # every event of the bus can be replayed
    assert prod.outputs["eventBusName"] == bus.outputs["name"]
    assert prod.outputs["eventBusArn"] == bus.outputs["arn"]


def test_only_the_order_service_and_the_outbox_relay_may_put_events(prod: Snapshot) -> None:
    # GIVEN the roles of the order service's tasks and of the outbox relay function
    order_api_role = order_api_task_role(prod)
    relay_role_arn = function_named(prod, "outbox-relay").inputs["role"]
    publishers = {order_api_role.outputs["arn"], relay_role_arn}
    bus = bus_of(prod)
    # THEN the bus policy allows exactly them, and denies everyone else in the account
    [bus_policy] = prod.of_type("aws:cloudwatch/eventBusPolicy:EventBusPolicy")
    assert bus_policy.inputs["eventBusName"] == bus.outputs["name"]
    allow, deny = statements(bus_policy)
    assert allow["Effect"] == "Allow" and set(allow["Principal"]["AWS"]) == publishers
    assert allow["Action"] == "events:PutEvents" and allow["Resource"] == bus.outputs["arn"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "events:PutEvents"
    assert deny["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert set(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == publishers


def test_no_other_role_is_granted_put_events_and_grants_name_this_bus(prod: Snapshot) -> None:
    # GIVEN every inline policy of the stack that grants PutEvents
    bus_arn = bus_of(prod).outputs["arn"]
    granted: dict[str, dict[str, Any]] = {}
    for role_policy in prod.of_type(ROLE_POLICY):
        for statement in statements(role_policy):
            if any(a.startswith("events:Put") for a in as_list(statement["Action"])):
                # THEN each names this bus only, with our source
                assert as_list(statement["Resource"]) == [bus_arn]
                assert statement["Condition"]["StringEquals"]["events:source"] == "ecommerce.orders"
                granted[role_policy.inputs["role"]] = statement
    # AND only the order service's task role and the relay's role have one
    relay_role = role_policy_of(prod, function_named(prod, "outbox-relay")).inputs["role"]
    order_api_role = order_api_task_role(prod).outputs["id"]
    assert set(granted) == {order_api_role, relay_role}
    # the order service publishes order.placed right after its commit, nothing else
    assert granted[order_api_role]["Condition"]["StringEquals"]["events:detail-type"] == [
        "order.placed"]


def test_the_order_service_knows_the_bus(prod: Snapshot) -> None:
    definitions = [t for t in prod.of_type("aws:ecs/taskDefinition:TaskDefinition")
                   if "order-api" in t.name]
    assert definitions
    for definition in definitions:
        containers = definition.inputs["containerDefinitions"]
        text = containers if isinstance(containers, str) else str(containers)
        assert bus_of(prod).outputs["name"] in text


def test_consumer_queues_and_dlqs_are_exported(prod: Snapshot) -> None:
    names = set(consumers(prod))
    assert set(prod.outputs["consumerQueueUrls"]) == names
    assert set(prod.outputs["consumerDlqUrls"]) == names
    assert all(url.startswith("https://sqs.") for url in prod.outputs["consumerQueueUrls"].values())
