"""Payments stay synchronous (case study: payment success is required before `order.placed` is
published; an asynchronous charge creates "did we charge the customer or not" ambiguity).

Payment work is recognised by names, workload tags and code location (handler, code path, image,
task family) -- never by the program's variable names -- and its triggers by the dependency graph:
an event source mapping, subscription, EventBridge target, pipe, schedule, invoke permission or
Step Functions definition that points at it is an asynchronous trigger, whatever it is called.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    MANDATORY,
    UNKNOWN,
    Report,
    Res,
    StackGraph,
    as_list,
    has_keyword,
    is_unknown,
    message,
    parse_json,
    preview_unknown,
    resource_policy,
    stack_policy,
    string_list,
    strings,
    tokens,
)

FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
WORKLOADS = (FUNCTION, ECS_SERVICE, TASK_DEFINITION, STATE_MACHINE)
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
PIPE = "aws:pipes/pipe:Pipe"
ASYNC_PRINCIPALS = ("events.amazonaws.com", "sns.amazonaws.com", "sqs.amazonaws.com",
                    "s3.amazonaws.com", "scheduler.amazonaws.com", "pipes.amazonaws.com",
                    "kinesis.amazonaws.com", "dynamodb.amazonaws.com", "states.amazonaws.com")
# trigger type -> (the properties naming what it triggers, how to describe it)
TRIGGERS: dict[str, tuple[tuple[str, ...], str]] = {
    "aws:lambda/eventSourceMapping:EventSourceMapping": (("functionName",), "an event source mapping"),
    "aws:sns/topicSubscription:TopicSubscription": (("endpoint",), "an SNS subscription"),
    "aws:cloudwatch/eventTarget:EventTarget": (("arn", "ecsTarget"), "an EventBridge rule target"),
    PIPE: (("target",), "an EventBridge pipe"),
    "aws:scheduler/schedule:Schedule": (("target",), "an EventBridge schedule"),
    "aws:lambda/permission:Permission": (("function",), "an invoke permission"),
    STATE_MACHINE: (("definition",), "a Step Functions state machine"),
}
STREAM_SOURCES = (QUEUE, "aws:kinesis/stream:Stream", "aws:dynamodb/table:Table")
CONSUME_ACTIONS = ("sqs:receivemessage", "sqs:*", "kinesis:getrecords", "kinesis:subscribetoshard",
                   "kinesis:*", "dynamodb:getrecords", "dynamodb:*")
REQUEST_WORDS = ("request", "requested", "requests", "process", "processing", "initiate", "initiated",
                 "submit", "submitted", "authorize", "authorise", "authorization", "capture", "charge",
                 "pending", "retry", "create", "command", "execute")
TAGS = ["case-study", "payments"]

_KEYWORDS = {"paymentKeywords": string_list(
    "A token of a name, workload tag or code location starting with one of these marks payment work.",
    ["payment", "charge", "capture", "billing"])}
_TAG_KEYS = {"workloadTagKeys": string_list(
    "Tags whose values name the workload (other tags, such as cost centres, are not read).",
    ["workload", "service", "component", "function"])}


def _code_locations(resource: Res) -> list[str]:
    found = []
    for key in ("handler", "imageUri", "s3Key", "family", "functionName", "name", "stateMachineName"):
        value = resource.props.get(key)
        if isinstance(value, str):
            found.append(value)
    code = resource.props.get("code")  # a folder or archive of its own (not the files of a package)
    for attr in ("path", "uri"):
        value = getattr(code, attr, None)
        if isinstance(value, str):
            found.append(value)
    definitions = parse_json(resource.props.get("containerDefinitions"))
    for container in as_list(definitions) if isinstance(definitions, list) else []:
        if isinstance(container, Mapping):
            for key in ("name", "image", "command", "entryPoint"):
                found.extend(strings(container.get(key)))
    return found


def payment_evidence(resource: Res, config: Mapping[str, Any]) -> str | None:
    """Why `resource` is payment work (name, workload tag or code location), or None."""
    keywords = config["paymentKeywords"]
    if has_keyword(resource.name, keywords):
        return f"its name '{resource.name}'"
    tags = resource.tags
    for key in config["workloadTagKeys"]:
        value = tags.get(key)
        if isinstance(value, str) and has_keyword(value, keywords):
            return f"its {key} tag '{value}'"
    for location in _code_locations(resource):
        if has_keyword(location, keywords):
            return f"its code location '{location}'"
    return None


def _consumes_streams(graph: StackGraph, task_definition: Res) -> Any:
    """Does the task role read queues or streams (a poller is an asynchronous consumer)?

    True or False; UNKNOWN when a policy document of the role is computed from a queue or stream.
    """
    documents: list[tuple[Res | None, Any]] = []
    for role in graph.targets(task_definition, "taskRoleArn"):
        documents += [(None, p.get("policy")) for p in as_list(role.props.get("inlinePolicies"))
                      if isinstance(p, Mapping)]
        for attached in graph.referrers(role, ["aws:iam/rolePolicy:RolePolicy"], "role"):
            documents.append((attached, attached.props.get("policy")))
        for attachment in graph.referrers(role, ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
                                          "role"):
            documents += [(p, p.props.get("policy")) for p in graph.targets(attachment, "policyArn")]
    undecided = False
    for holder, document in documents:
        parsed = parse_json(document)
        if is_unknown(parsed):
            sources = graph.targets(holder, "policy") if holder is not None else []
            undecided = undecided or any(s.type in STREAM_SOURCES for s in sources)
            continue
        statements = as_list(parsed.get("Statement")) if isinstance(parsed, Mapping) else []
        for statement in statements:
            if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
                actions = [a.lower() for a in strings(statement.get("Action"))]
                if any(a in CONSUME_ACTIONS for a in actions):
                    return True
    return UNKNOWN if undecided else False


def _check_async_payment_work(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    payment: dict[str, tuple[Res, str]] = {}
    for resource in graph.of_type(*WORKLOADS):
        reason = payment_evidence(resource, config)
        if reason:
            payment[resource.urn] = (resource, reason)
    # a service runs its task definition: the task definition's evidence marks the service
    for service in graph.of_type(ECS_SERVICE):
        for task in graph.targets(service, "taskDefinition"):
            if task.urn in payment and service.urn not in payment:
                payment[service.urn] = (service, f"its task definition {task.name}")
    # aliases of a payment function invoke it
    aliases = {}
    for alias in graph.of_type(ALIAS):
        for urn, (workload, _) in payment.items():
            if workload.type == FUNCTION and graph.refers(alias, "functionName", workload):
                aliases[alias.urn] = urn
    reported: set[tuple[str, str]] = set()
    for trigger in graph.of_type(*TRIGGERS):
        keys, kind = TRIGGERS[trigger.type]
        if trigger.type == "aws:lambda/permission:Permission" and not any(
                isinstance(p, str) and p in ASYNC_PRINCIPALS for p in [trigger.props.get("principal")]):
            continue  # API Gateway, the ALB, function URLs: synchronous callers
        targets = {r.urn for r in graph.targets(trigger, *keys)}
        targets |= {urn for urn, (w, _) in payment.items()
                    if any(graph.refers(trigger, k, w) for k in keys)}
        targets |= {aliases[a] for a in list(targets) if a in aliases}
        for urn in targets:
            if urn not in payment or urn == trigger.urn or (urn, trigger.urn) in reported:
                continue
            reported.add((urn, trigger.urn))
            workload, reason = payment[urn]
            report(message(workload, f"payment work (recognised by {reason}) is triggered "
                                     f"asynchronously by {kind} '{trigger.name}' ({trigger.type})",
                           "charge the card synchronously in the checkout request (behind the ALB, "
                           "API Gateway or a function URL) and publish order.placed only after the "
                           "charge succeeded; remove the asynchronous trigger"), workload.urn)
    for service in graph.of_type(ECS_SERVICE):
        if service.urn not in payment:
            continue
        for task in graph.targets(service, "taskDefinition"):
            consumes = _consumes_streams(graph, task)
            workload, reason = payment[service.urn]
            if is_unknown(consumes):
                report(preview_unknown(workload, "the task role's policy on a queue or stream",
                                       "serve payments synchronously behind the ALB; the update "
                                       "checks whether the role receives messages"), workload.urn)
            elif consumes:
                report(message(workload, f"payment work (recognised by {reason}) polls a queue or "
                                         "stream: its task role may receive messages",
                               "serve payments synchronously behind the ALB; keep queues for work "
                               "that happens after the charge"), workload.urn)


payment_work_require_synchronous = stack_policy(
    name="payment-work-require-synchronous",
    description="Payment work (charge, capture, billing) must not be triggered by queues, topics, "
                "EventBridge, pipes, schedules, streams or Step Functions.",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check_async_payment_work,
    remediation="Call the payment provider synchronously from the checkout request and publish "
                "order.placed only after the charge succeeded.",
    config={**_KEYWORDS, **_TAG_KEYS}, tags=TAGS)


# ----------------------------------------------------------------------------------------------


def is_payment_request(text: str, keywords: Iterable[str]) -> bool:
    """`payment.requested`, `ChargeCustomer`, `capture-payment`: a payment keyword and a request."""
    words = tokens(text)
    keyed = [w for w in words if any(w.startswith(k.lower()) for k in keywords)]
    return bool(keyed) and any(w in REQUEST_WORDS for w in words)


def _patterns(resource: Res) -> list[Any]:
    if resource.type == EVENT_RULE:
        return [resource.props.get("eventPattern")]
    filters = resource.get("sourceParameters", "filterCriteria", "filters", default=[])
    return [f.get("pattern") for f in as_list(filters) if isinstance(f, Mapping)] \
        if not is_unknown(filters) else [filters]


def _check_request_events(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    for pattern in _patterns(resource):
        if pattern is None:
            continue
        parsed = parse_json(pattern)
        if is_unknown(parsed):
            report(preview_unknown(resource, "the event pattern", "write the event pattern literally"))
            return
        matches = sorted({v for v in strings(parsed)
                          if is_payment_request(v, config["paymentKeywords"])})
        if matches:
            report(message(resource, f"the event pattern matches payment-request events "
                                     f"({', '.join(matches)}), so charging happens after the bus",
                           "charge synchronously in checkout and publish facts (order.placed with "
                           "the payment intent id) instead of payment requests"))


payment_request_events_disallow = resource_policy(
    name="payment-request-events-disallow",
    description="EventBridge rules and pipes must not route payment-request events.",
    level=MANDATORY, severity=Severity.CRITICAL, types=[EVENT_RULE, PIPE], check=_check_request_events,
    remediation="Remove the rule; charge synchronously and publish order.placed after the charge.",
    config=_KEYWORDS, tags=TAGS)


# ----------------------------------------------------------------------------------------------


def _check_request_channels(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    keywords = config["paymentKeywords"]
    names = [resource.name, *(v for k in ("name", "namePrefix")
                              if isinstance(v := resource.props.get(k), str))]
    tags = resource.tags
    names += [v for k in config["workloadTagKeys"] if isinstance(v := tags.get(k), str)]
    if resource.type == QUEUE:
        hits = [n for n in names if has_keyword(n, keywords)]
        what = "a queue carries work, so this queue carries payment work"
    else:  # a topic carries notifications: only payment *requests* are the problem
        hits = [n for n in names if is_payment_request(n, keywords)]
        what = "the topic carries payment requests"
    if hits:
        report(message(resource, f"'{hits[0]}' is dedicated to payments: {what}",
                       "charge synchronously in the checkout request; queues and topics carry work "
                       "that follows a successful charge (fulfillment, email, analytics)"))


payment_request_queues_disallow = resource_policy(
    name="payment-request-queues-disallow",
    description="No SQS queue dedicated to payments and no SNS topic of payment requests.",
    level=MANDATORY, severity=Severity.CRITICAL, types=[QUEUE, TOPIC], check=_check_request_channels,
    remediation="Remove the queue or topic and make the payment call synchronous.",
    config={**_KEYWORDS, **_TAG_KEYS}, tags=TAGS)


POLICIES = [payment_work_require_synchronous, payment_request_events_disallow,
            payment_request_queues_disallow]
