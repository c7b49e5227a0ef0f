"""Finding the event flow's resources in a snapshot: per consumer or job, by type, and their policies."""

from __future__ import annotations

import json
from typing import Any

from components.config import StackConfig, parse_stack_config
from offline.engine import Resource, Snapshot

CONSUMER = "ecommerce:events:QueueConsumer"
JOBS = "ecommerce:events:ScheduledJobs"
QUEUE = "aws:sqs/queue:Queue"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
FUNCTION = "aws:lambda/function:Function"
MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"


def config_of(snapshot: Snapshot) -> StackConfig:
    return parse_stack_config(snapshot.config, stack=snapshot.stack)


def consumers(snapshot: Snapshot) -> dict[str, Resource]:
    return {r.name: r for r in snapshot.of_type(CONSUMER)}


def part(snapshot: Snapshot, owner: Resource | str, type_: str, name: str) -> Resource:
    """The one resource of `type_` named `name` under `owner` (a component or its name)."""
    parent = consumers(snapshot)[owner] if isinstance(owner, str) else owner
    found = [r for r in snapshot.descendants(parent) if r.type == type_ and r.name == name]
    assert len(found) == 1, f"{parent.name} has {len(found)} {type_} named {name}"
    return found[0]


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    value = resource.inputs[key]
    document: dict[str, Any] = json.loads(value) if isinstance(value, str) else value
    return document


def statements(resource: Resource, key: str = "policy") -> list[dict[str, Any]]:
    document = policy(resource, key)
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_policy_of(snapshot: Snapshot, function: Resource) -> Resource:
    """The inline policy of a function's role."""
    role = next(r for r in snapshot.of_type(ROLE) if r.outputs["arn"] == function.inputs["role"])
    return next(p for p in snapshot.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["id"])


def alarms_on(snapshot: Snapshot, queue: Resource) -> list[Resource]:
    return [a for a in snapshot.of_type(ALARM)
            if (a.inputs.get("dimensions") or {}).get("QueueName") == queue.outputs["name"]]
