"""The custom event bus that `order.placed` and its siblings travel on, with an archive for replay.

Only named publishers may put events on it: the bus policy allows their roles and denies every
other principal of the account (an identity policy with `events:PutEvents` on `*` elsewhere in the
account does not get through). Consumers attach their own rules (components/consumers.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import EVENT_SOURCE, KNOWN_EVENTS
from components.defaults import Statement, policy_document


@dataclass(frozen=True, kw_only=True)
class EventBusArgs:
    account_id: pulumi.Input[str]
    archive_retention_days: int
    """How far back events can be replayed after an incident."""


def put_events_statement(bus_arn: pulumi.Input[str], *, detail_types: Sequence[str] = KNOWN_EVENTS,
                         sid: str = "PublishOnTheBus") -> Statement:
    """For a publisher's role: PutEvents on this bus only, with our source and these detail-types."""
    return {"Sid": sid, "Effect": "Allow", "Action": "events:PutEvents", "Resource": bus_arn,
            "Condition": {"StringEquals": {"events:source": EVENT_SOURCE,
                                           "events:detail-type": list(detail_types)}}}


@dataclass(frozen=True, kw_only=True)
class Publisher:
    """A role allowed to put events on the bus."""

    name: str
    role_arn: pulumi.Input[str]
    role_name: pulumi.Input[str] | None = None
    """Set for a role of another tier: the bus attaches its PutEvents permission to it."""
    detail_types: Sequence[str] = KNOWN_EVENTS


class EventBus(pulumi.ComponentResource):
    bus_name: pulumi.Output[str]
    bus_arn: pulumi.Output[str]
    archive_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EventBusArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if not 1 <= args.archive_retention_days <= 3650:
            raise ValueError(f"{name}: archive_retention_days={args.archive_retention_days} must "
                             "be from 1 to 3650")
        super().__init__("ecommerce:events:EventBus", name, None, opts)
        self._name = name
        self._account_id = args.account_id
        self._policy: aws.cloudwatch.EventBusPolicy | None = None
        child = pulumi.ResourceOptions(parent=self)
        bus = aws.cloudwatch.EventBus(name, description="Order events of the shop (order.placed, "
                                                        "...), fanned out to one queue per consumer",
                                      opts=child)
        archive = aws.cloudwatch.EventArchive(
            f"{name}-archive", event_source_arn=bus.arn,
            retention_days=args.archive_retention_days,
            description=f"Every event of the bus, kept {args.archive_retention_days} days for replay",
            opts=child)
        self.bus_name = bus.name
        self.bus_arn = bus.arn
        self.archive_arn = archive.arn
        self.register_outputs({"bus_name": self.bus_name, "bus_arn": self.bus_arn,
                               "archive_arn": self.archive_arn})

    def allow_publishers(self, publishers: Sequence[Publisher]) -> aws.cloudwatch.EventBusPolicy:
        """Make `publishers` the only principals that may put events on the bus (call once).

        A publisher given with its role's name also gets `put_events_statement` attached to that
        role here (a role of another tier); the others carry it in their own policy already.
        """
        if self._policy is not None:
            raise ValueError(f"{self._name}: the publishers are already set; pass them all at once")
        if not publishers:
            raise ValueError(f"{self._name}: name at least one publisher")
        role_arns = [p.role_arn for p in publishers]
        self._policy = aws.cloudwatch.EventBusPolicy(
            f"{self._name}-publishers", event_bus_name=self.bus_name, policy=policy_document([
                {"Sid": "NamedPublishers", "Effect": "Allow", "Principal": {"AWS": role_arns},
                 "Action": "events:PutEvents", "Resource": self.bus_arn},
                {"Sid": "NobodyElseInTheAccount", "Effect": "Deny",
                 "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", self._account_id,
                                                           ":root")},
                 "Action": "events:PutEvents", "Resource": self.bus_arn,
                 "Condition": {"ArnNotEquals": {"aws:PrincipalArn": role_arns}}}]),
            opts=pulumi.ResourceOptions(parent=self))
        for publisher in publishers:
            if publisher.role_name is not None:
                aws.iam.RolePolicy(
                    f"{self._name}-{publisher.name}-publishes", role=publisher.role_name,
                    policy=policy_document([put_events_statement(
                        self.bus_arn, detail_types=publisher.detail_types)]),
                    opts=pulumi.ResourceOptions(parent=self))
        return self._policy
