"""Pricers of SQS, SNS, EventBridge buses, archives and Scheduler, SES."""

from __future__ import annotations

from collections.abc import Mapping

from ...common import Res, is_true, number
from ..context import (
    EVENT_BUS,
    MAPPING,
    QUEUE,
    SCHEDULE,
    SES_IDENTITIES,
    Pricer,
    PricingContext,
    Unpriceable,
    schedule_fires,
)
from ..result import Charge
from ..usage import (
    DAYS_PER_MONTH,
    EVENT_KB,
    KB_PER_GB,
    SES_FEEDBACK_SHARE,
    SNS_BASE_PUBLISHES,
    SQS_POLLERS,
    SQS_REQUESTS_PER_MESSAGE,
    UNBOUNDED_MONTHS,
)


def _queue(resource: Res, ctx: PricingContext) -> list[Charge]:
    messages = ctx.queue_messages(resource)
    polled = bool(ctx.referrers(resource, [MAPPING], "eventSourceArn"))
    requests = messages * SQS_REQUESTS_PER_MESSAGE
    if polled:
        requests += SQS_POLLERS * ctx.usage.seconds / 20
    if not requests:
        return []
    fifo = is_true(resource.props.get("fifoQueue"))
    key = "sqs.fifoRequestMillion" if fifo else "sqs.standardRequestMillion"
    charges = [Charge("requests (send, receive, delete" + (", empty long polls" if polled else "") +
                      "), millions", requests / 1e6, key)]
    kms_key = resource.props.get("kmsMasterKeyId")
    if kms_key is not None and not (isinstance(kms_key, str) and kms_key.startswith("alias/aws/")):
        reuse = number(resource.props.get("kmsDataKeyReusePeriodSeconds")) or 300.0
        charges.append(Charge("KMS requests for SSE-KMS data keys (producer and consumer), millions",
                              2 * ctx.usage.seconds / reuse / 1e6, "kms.requestMillion"))
    return charges


def _topic(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("publishes, millions", _topic_publishes(resource, ctx) / 1e6, "sns.publishMillion")]


def _topic_publishes(topic: Res, ctx: PricingContext) -> float:
    publishes = float(SNS_BASE_PUBLISHES)
    for destination in ctx.of_type("aws:sesv2/configurationSetEventDestination:"
                                   "ConfigurationSetEventDestination"):
        if ctx.refers(destination, "eventDestination", topic):
            kinds = destination.get("eventDestination", "matchingEventTypes")
            every_mail = isinstance(kinds, list) and any(k in ("SEND", "DELIVERY") for k in kinds)
            identities = ctx.in_region(ctx.region(destination), *SES_IDENTITIES) or [destination]
            emails = ctx.usage.emails * ctx.traffic_share(identities[0], ctx.of_type(*SES_IDENTITIES))
            publishes += emails * (1.0 if every_mail else SES_FEEDBACK_SHARE)
    return publishes


def _subscription(resource: Res, ctx: PricingContext) -> list[Charge]:
    protocol = resource.props.get("protocol")
    keys = {"email": "sns.emailDeliveryMillion", "email-json": "sns.emailDeliveryMillion",
            "http": "sns.httpDeliveryMillion", "https": "sns.httpDeliveryMillion"}
    if protocol in ("sqs", "lambda", "firehose", "application"):
        return []  # deliveries to AWS services are free
    if protocol not in keys:
        raise Unpriceable(f"{protocol} deliveries are not in the price table")
    topics = ctx.targets(resource, "topicArn", "aws:sns/topic:Topic")
    deliveries = _topic_publishes(topics[0], ctx) if topics else float(SNS_BASE_PUBLISHES)
    return [Charge(f"{protocol} notifications, millions", deliveries / 1e6, keys[str(protocol)])]


def _event_bus(resource: Res, ctx: PricingContext) -> list[Charge]:
    share = ctx.traffic_share(resource)
    return [Charge("custom events published, millions", ctx.usage.events * share / 1e6,
                   "events.customEventMillion")]


def _event_archive(resource: Res, ctx: PricingContext) -> list[Charge]:
    buses = ctx.targets(resource, "eventSourceArn", EVENT_BUS)
    events = ctx.usage.events * (ctx.traffic_share(buses[0]) if buses else 1.0)
    gb = events * EVENT_KB / KB_PER_GB
    days = number(resource.props.get("retentionDays")) or UNBOUNDED_MONTHS * DAYS_PER_MONTH
    return [Charge("GB of events archived", gb, "events.archiveGb"),
            Charge(f"archive GB stored ({days:g} days)", gb * days / DAYS_PER_MONTH,
                   "events.archiveStorageGb")]


def _schedule(resource: Res, ctx: PricingContext) -> list[Charge]:
    fires = schedule_fires(resource, ctx.hours)
    expression = resource.props.get("scheduleExpression")
    label = expression if isinstance(expression, str) else "computed expression"
    return [Charge(f"invocations ({label}), millions", fires / 1e6, "scheduler.invocationMillion")]


def _email_identity(resource: Res, ctx: PricingContext) -> list[Charge]:
    share = ctx.traffic_share(resource, ctx.of_type(*SES_IDENTITIES))
    return [Charge("emails sent, millions", ctx.usage.emails * share / 1e6, "ses.messageMillion")]


PRICERS: Mapping[str, Pricer] = {
    QUEUE: _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    EVENT_BUS: _event_bus,
    "aws:cloudwatch/eventArchive:EventArchive": _event_archive,
    SCHEDULE: _schedule,
    **dict.fromkeys(SES_IDENTITIES, _email_identity),
}
