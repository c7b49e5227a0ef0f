"""Payments stay synchronous (case study: payment success is required before `order.placed` is
published; an asynchronous charge creates "did we charge the customer or not" ambiguity).

Payment work is decided from what the code can do, not from what it is called: a function, task or
job is payment work when its role can read the payment provider's secret, or its configuration
points at that secret (an environment variable or an ECS secret that names it, or the provider's
key itself). A receipt e-mail, a ledger export or an analytics consumer has no such access, so it may
run asynchronously whatever its name. The provider's secret is the one the stack config
(`paymentSecretConfigKeys`) or the policy config (`paymentSecretArns`) names; only when neither
names one does the pack recognise it by the name of the secret (`paymentProviderKeywords`).
Asynchronous triggers are recognised by the dependency graph, whatever the program calls them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    ADVISORY,
    MANDATORY,
    UNKNOWN,
    Report,
    Res,
    StackGraph,
    as_list,
    config_value,
    has_keyword,
    is_unknown,
    message,
    parse_json,
    preview_unknown,
    resource_policy,
    stack_config,
    stack_policy,
    string_list,
    strings,
    tokens,
)

FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
ECS_SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
BATCH_JOB = "aws:batch/jobDefinition:JobDefinition"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
WORKLOADS = (FUNCTION, TASK_DEFINITION, BATCH_JOB)
SECRET = "aws:secretsmanager/secret:Secret"
PARAMETER = "aws:ssm/parameter:Parameter"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
POLICY = "aws:iam/policy:Policy"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
PIPE = "aws:pipes/pipe:Pipe"
PERMISSION = "aws:lambda/permission:Permission"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ASYNC_PRINCIPALS = ("events.amazonaws.com", "sns.amazonaws.com", "sqs.amazonaws.com",
                    "s3.amazonaws.com", "scheduler.amazonaws.com", "pipes.amazonaws.com",
                    "kinesis.amazonaws.com", "dynamodb.amazonaws.com", "states.amazonaws.com",
                    "logs.amazonaws.com", "ses.amazonaws.com", "iot.amazonaws.com",
                    "config.amazonaws.com", "codecommit.amazonaws.com")
# trigger type -> (the properties naming what it runs, how to describe it)
TRIGGERS: dict[str, tuple[tuple[str, ...], str]] = {
    "aws:lambda/eventSourceMapping:EventSourceMapping": (("functionName",), "an event source mapping"),
    "aws:sns/topicSubscription:TopicSubscription": (("endpoint",), "an SNS subscription"),
    "aws:cloudwatch/eventTarget:EventTarget": (("arn", "ecsTarget", "batchTarget"),
                                               "an EventBridge rule target"),
    PIPE: (("target", "targetParameters"), "an EventBridge pipe"),
    "aws:scheduler/schedule:Schedule": (("target",), "an EventBridge schedule"),
    PERMISSION: (("function",), "an invoke permission for an asynchronous service"),
    STATE_MACHINE: (("definition",), "a Step Functions state machine"),
    INVOKE_CONFIG: (("functionName", "destinationConfig"),
                    "an asynchronous invocation configuration (or its destination)"),
    "aws:s3/bucketNotification:BucketNotification": (("lambdaFunctions",), "an S3 event notification"),
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": (("destinationArn",),
                                                                   "a log subscription filter"),
    "aws:ses/receiptRule:ReceiptRule": (("lambdaActions",), "an SES receipt rule"),
    "aws:iot/topicRule:TopicRule": (("lambdas", "stepFunctions"), "an IoT rule"),
}
STREAM_SOURCES = (QUEUE, "aws:kinesis/stream:Stream", "aws:dynamodb/table:Table")
CONSUME_ACTIONS = ("sqs:receivemessage", "sqs:*", "kinesis:getrecords", "kinesis:subscribetoshard",
                   "kinesis:*", "dynamodb:getrecords", "dynamodb:*")
READ_SECRET_ACTIONS = ("secretsmanager:getsecretvalue", "ssm:getparameter", "ssm:getparameters",
                       "ssm:getparametersbypath")  # an Action pattern ("*", "secretsmanager:Get*") may match
# a payment provider's key itself (Stripe's secret and restricted keys)
PROVIDER_KEY = re.compile(r"\b(sk|rk)_(live|test)_[0-9A-Za-z]{10,}")
REQUEST_WORDS = ("request", "requested", "requests", "process", "processing", "initiate", "initiated",
                 "submit", "submitted", "authorize", "authorise", "authorization", "capture", "charge",
                 "pending", "retry", "create", "command", "execute")
TAGS = ["case-study", "payments"]
FACT_WORDS = ("receipt", "receipts", "refunded", "succeeded", "settled", "settlement", "report",
              "reports", "export", "audit", "analytics", "notification", "notifications", "email")

_SECRETS = {
    "paymentSecretArns": string_list(
        "ARNs (shell-style patterns allowed) of the payment provider's secrets that can charge.", []),
    "paymentSecretConfigKeys": string_list(
        "Stack config keys (any namespace) whose values are such ARNs.", ["paymentSecretArn"]),
    "paymentProviderKeywords": string_list(
        "When no ARN is configured: a secret or parameter whose name has one of these tokens is the "
        "provider's.", ["stripe", "adyen", "braintree", "paypal", "checkoutcom", "worldpay", "mollie",
                        "klarna", "payment", "payments"]),
}
_KEYWORDS = {"paymentKeywords": string_list(
    "A token of an event pattern, queue or topic name starting with one of these names payments.",
    ["payment", "charge", "capture", "billing"])}
_TAG_KEYS = {"workloadTagKeys": string_list(
    "Tags whose values name the workload (other tags, such as cost centres, are not read).",
    ["workload", "service", "component", "function"])}


class PaymentSecrets:
    """The payment provider's secrets: configured ARNs, else the secrets named after the provider."""

    def __init__(self, graph: StackGraph, config: Mapping[str, Any]) -> None:
        stack = stack_config()
        configured = [*config["paymentSecretArns"],
                      *(v for key in config["paymentSecretConfigKeys"] if (v := config_value(stack, key)))]
        self.patterns = [p for p in configured if p]
        self.keywords = [k.lower() for k in config["paymentProviderKeywords"]]
        self.resources = {r.urn: r for r in graph.of_type(SECRET, PARAMETER) if self._names_it(r)}

    @property
    def configured(self) -> bool:
        return bool(self.patterns)

    def _names_it(self, secret: Res) -> bool:
        if self.patterns:
            return any(self.matches(i) for i in secret.identifiers())
        texts = [*secret.names(), *(v for k in ("description",) if isinstance(v := secret.props.get(k), str))]
        return any(has_keyword(t, self.keywords) for t in texts)

    def matches(self, text: str) -> bool:
        """Does `text` (an ARN, a name, or an IAM resource pattern) name a payment secret?"""
        if self.patterns:
            return any(fnmatch.fnmatchcase(text, p) or fnmatch.fnmatchcase(p, text) for p in self.patterns)
        name = re.sub(r"^arn:[^:]*:(secretsmanager|ssm):[^:]*:[^:]*:(secret:|parameter/?)", "", text)
        return name != text and has_keyword(name, self.keywords)

    def grants(self, resource_pattern: str) -> bool:
        """Does an IAM statement's Resource reach a payment secret?"""
        if resource_pattern == "*" or resource_pattern.startswith(("arn:aws:secretsmanager:*", "arn:*")):
            return bool(self.patterns or self.resources)
        return self.matches(resource_pattern) or any(
            fnmatch.fnmatchcase(ident, resource_pattern)
            for r in self.resources.values() for ident in r.identifiers() if ident.startswith("arn:"))

    def in_value(self, value: Any, dependencies: Iterable[str]) -> str | None:
        """The payment secret (or provider key) a configuration value points at, if any."""
        for urn in dependencies:
            if urn in self.resources:
                return f"the secret {self.resources[urn].name}"
        for text in strings(value):
            if PROVIDER_KEY.search(text):
                return "the provider's key itself"
            if self.matches(text) or any(text in r.identifiers() for r in self.resources.values()):
                return f"the secret {text}"
        return None


def _roles(graph: StackGraph, workload: Res) -> list[Res]:
    """The roles the workload's code (or, for ECS, its secret injection) runs as, by dependency or
    by a literal ARN of a role of this stack."""
    keys = {FUNCTION: ("role",), TASK_DEFINITION: ("taskRoleArn", "executionRoleArn"),
            BATCH_JOB: ("containerProperties", "ecsProperties")}[workload.type]
    roles = {r.urn: r for r in graph.targets(workload, *keys) if r.type == ROLE}
    literal = [v for k in keys for v in strings(parse_json(workload.props.get(k))
                                                 if workload.type == BATCH_JOB else workload.props.get(k))
               if ":role/" in v]
    for arn in literal:
        roles.update((r.urn, r) for r in graph.by_identifier(arn, ROLE))
    return list(roles.values())


def _role_documents(graph: StackGraph, role: Res) -> Iterator[tuple[Res, Any]]:
    """(the resource holding it, the document) for every policy of the role."""
    for inline in as_list(role.props.get("inlinePolicies")):
        if isinstance(inline, Mapping):
            yield role, inline.get("policy")
    for attached in graph.referrers(role, [ROLE_POLICY], "role"):
        yield attached, attached.props.get("policy")
    for attachment in graph.referrers(role, [ATTACHMENT], "role"):
        for policy in graph.targets(attachment, "policyArn"):
            yield policy, policy.props.get("policy")


def _reads_payment_secret(graph: StackGraph, role: Res, secrets: PaymentSecrets) -> str | None:
    """How the role reaches the payment provider's secret, or None.

    A policy document that is computed (unknown during preview) from a payment secret of the stack
    names that secret: it is taken as access (fail closed); the update decides from the document.
    """
    for holder, document in _role_documents(graph, role):
        parsed = parse_json(document)
        if is_unknown(parsed):
            key = "inlinePolicies" if holder.type == ROLE else "policy"
            if any(u in secrets.resources for u in holder.property_dependencies.get(key, ())):
                return f"a policy of its role {role.name} is built from the payment provider's secret"
            continue
        for statement in as_list(parsed.get("Statement")) if isinstance(parsed, Mapping) else []:
            if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
                continue
            actions = [a.lower() for a in strings(statement.get("Action"))]
            if any(fnmatch.fnmatchcase(wanted, a) for a in actions for wanted in READ_SECRET_ACTIONS) \
                    and any(secrets.grants(r) for r in strings(statement.get("Resource"))):
                return f"its role {role.name} can read the payment provider's secret"
    return None


def _configuration(workload: Res) -> Iterator[tuple[str, Any]]:
    """(property, value) pairs that configure what the code reads: environment and secrets."""
    if workload.type == FUNCTION:
        yield "environment", workload.props.get("environment")
    elif workload.type == TASK_DEFINITION:
        yield "containerDefinitions", parse_json(workload.props.get("containerDefinitions"))
    else:
        yield "containerProperties", parse_json(workload.props.get("containerProperties"))


def payment_capability(graph: StackGraph, workload: Res, secrets: PaymentSecrets) -> str | None:
    """Why `workload` can charge (its access to the provider's secret), or None."""
    for key, value in _configuration(workload):
        found = secrets.in_value(value, workload.property_dependencies.get(key, ()))
        if found:
            return f"its configuration points at {found}"
    for role in _roles(graph, workload):
        reason = _reads_payment_secret(graph, role, secrets)
        if reason:
            return reason
    return None


def _consumes_streams(graph: StackGraph, task_definition: Res) -> Any:
    """Does the task role read queues or streams (a poller is an asynchronous consumer)?

    True or False; UNKNOWN when a policy document of the role is computed from a queue or stream.
    """
    undecided = False
    for role in graph.targets(task_definition, "taskRoleArn"):
        for holder, document in _role_documents(graph, role):
            parsed = parse_json(document)
            if is_unknown(parsed):
                sources = graph.targets(holder, "policy") if holder.type != ROLE else []
                undecided = undecided or any(s.type in STREAM_SOURCES for s in sources)
                continue
            statements = as_list(parsed.get("Statement")) if isinstance(parsed, Mapping) else []
            for statement in statements:
                if isinstance(statement, Mapping) and statement.get("Effect") == "Allow":
                    actions = [a.lower() for a in strings(statement.get("Action"))]
                    if any(a in CONSUME_ACTIONS for a in actions):
                        return True
    return UNKNOWN if undecided else False


def _payment_work(graph: StackGraph, config: Mapping[str, Any]) -> dict[str, tuple[Res, str]]:
    """URN of what a trigger may name (a workload, its service or alias) -> (the workload, why it is
    payment work)."""
    secrets = PaymentSecrets(graph, config)
    payment: dict[str, tuple[Res, str]] = {}
    for workload in graph.of_type(*WORKLOADS):
        reason = payment_capability(graph, workload, secrets)
        if reason:
            payment[workload.urn] = (workload, reason)
    for service in graph.of_type(ECS_SERVICE):  # a service runs its task definition
        for task in graph.targets(service, "taskDefinition"):
            if task.urn in payment and service.urn not in payment:
                payment[service.urn] = (service, f"its task definition {task.name}: {payment[task.urn][1]}")
    functions = [entry for entry in payment.values() if entry[0].type == FUNCTION]
    for alias in graph.of_type(ALIAS):  # an alias of a payment function runs it
        for workload, reason in functions:
            if graph.refers(alias, "functionName", workload):
                payment[alias.urn] = (workload, reason)
    return payment


def _check_async_payment_work(graph: StackGraph,  # noqa: PLR0912 - one branch per asynchronous trigger type it follows
                              config: Mapping[str, Any], report: Report) -> None:
    """Code that can charge a card is never run by an asynchronous trigger.

    Covers (payment work): aws:lambda/function:Function, aws:lambda/alias:Alias,
    aws:ecs/taskDefinition:TaskDefinition, aws:ecs/service:Service,
    aws:batch/jobDefinition:JobDefinition (always asynchronous: jobs wait in a job queue), through
    their roles (aws:iam/role:Role, aws:iam/rolePolicy:RolePolicy,
    aws:iam/rolePolicyAttachment:RolePolicyAttachment, aws:iam/policy:Policy) and the provider's
    secret (aws:secretsmanager/secret:Secret, aws:ssm/parameter:Parameter).
    Covers (asynchronous triggers): aws:lambda/eventSourceMapping:EventSourceMapping (SQS, Kinesis,
    DynamoDB streams, Kafka, MQ), aws:sns/topicSubscription:TopicSubscription,
    aws:cloudwatch/eventTarget:EventTarget, aws:pipes/pipe:Pipe, aws:scheduler/schedule:Schedule,
    aws:lambda/permission:Permission (for asynchronous service principals),
    aws:sfn/stateMachine:StateMachine, aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig
    (asynchronous invocation and its destinations), aws:s3/bucketNotification:BucketNotification,
    aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter, aws:ses/receiptRule:ReceiptRule,
    aws:iot/topicRule:TopicRule, and an ECS service whose task role receives from queues or streams.
    Synchronous callers pass: the ALB, API Gateway, function URLs, direct SDK invocation.

    Well-built programs: only the checkout path holds the provider's key and it is called
    synchronously (ALB, API Gateway, function URL); jobs that only look payments up use a
    restricted read-only key that the config does not name as the charging one.
    """
    payment = _payment_work(graph, config)
    if not payment:
        return
    reported: set[tuple[str, str]] = set()
    for trigger in graph.of_type(*TRIGGERS):
        keys, kind = TRIGGERS[trigger.type]
        if trigger.type == PERMISSION and not any(
                isinstance(p, str) and p in ASYNC_PRINCIPALS for p in [trigger.props.get("principal")]):
            continue  # API Gateway, the ALB, function URLs: synchronous callers
        targets = {r.urn for r in graph.targets(trigger, *keys)}
        targets |= {urn for urn in payment if urn not in targets
                    and (named := graph.get(urn)) is not None
                    and any(graph.refers(trigger, k, named) for k in keys)}
        for urn in targets:
            if urn not in payment or urn == trigger.urn:
                continue
            workload, reason = payment[urn]
            if (workload.urn, trigger.urn) in reported:
                continue
            reported.add((workload.urn, trigger.urn))
            report(message(workload, f"payment work ({reason}) is triggered asynchronously by {kind} "
                                     f"'{trigger.name}' ({trigger.type})",
                           "charge the card synchronously in the checkout request (behind the ALB, "
                           "API Gateway or a function URL) and publish order.placed only after the "
                           "charge succeeded; remove the asynchronous trigger, or give work that only "
                           "looks payments up a read-only key"), workload.urn)
    for urn, (workload, reason) in payment.items():
        if workload.type == BATCH_JOB and urn == workload.urn:
            report(message(workload, f"payment work ({reason}) runs as an AWS Batch job, which waits "
                                     "in a job queue: asynchronous by design",
                           "charge synchronously in the checkout request"), workload.urn)
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
                report(message(workload, f"payment work ({reason}) polls a queue or stream: its task "
                                         "role may receive messages",
                               "serve payments synchronously behind the ALB; keep queues for work "
                               "that happens after the charge"), workload.urn)


payment_work_require_synchronous = stack_policy(
    name="payment-work-require-synchronous",
    description="Code that can charge (its role or configuration reaches the payment provider's "
                "secret) must not be run by queues, topics, EventBridge, pipes, schedules, streams, "
                "Step Functions, S3, logs, SES, IoT, asynchronous invocation or Batch.",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check_async_payment_work,
    remediation="Call the payment provider synchronously from the checkout request and publish "
                "order.placed only after the charge succeeded.",
    config=_SECRETS, tags=TAGS, antipattern="payments made asynchronous through the event bus",
    covers=(FUNCTION, ALIAS, TASK_DEFINITION, ECS_SERVICE, BATCH_JOB, ROLE, ROLE_POLICY, ATTACHMENT,
            POLICY, SECRET, PARAMETER, *TRIGGERS))


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
    """A rule or pipe routes events whose names are payment requests (a hint: the mandatory
    decision is `payment-work-require-synchronous`, from what the target can do).

    Covers: aws:cloudwatch/eventRule:EventRule, aws:pipes/pipe:Pipe.
    """
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
    description="EventBridge rules and pipes should not route payment-request events (a name-based "
                "hint; payment-work-require-synchronous decides from what the target can do).",
    level=ADVISORY, severity=Severity.MEDIUM, types=[EVENT_RULE, PIPE], check=_check_request_events,
    remediation="Remove the rule; charge synchronously and publish order.placed after the charge.",
    config=_KEYWORDS, tags=TAGS, antipattern="payments made asynchronous through the event bus")


# ----------------------------------------------------------------------------------------------


def _check_request_channels(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """A queue or topic is named after payment work (a hint, advisory: a `payment-receipts` queue
    is fine; `payment-work-require-synchronous` decides from what the consumer can do).

    Covers: aws:sqs/queue:Queue, aws:sns/topic:Topic.
    """
    keywords = config["paymentKeywords"]
    names = [resource.name, *(v for k in ("name", "namePrefix")
                              if isinstance(v := resource.props.get(k), str))]
    tags = resource.tags
    names += [v for k in config["workloadTagKeys"] if isinstance(v := tags.get(k), str)]
    # a queue or topic may carry facts about payments (receipts, settlements): only requests count
    hits = [n for n in names if is_payment_request(n, keywords)] if resource.type == TOPIC else \
        [n for n in names if has_keyword(n, keywords) and not has_keyword(n, FACT_WORDS)]
    if hits:
        report(message(resource, f"'{hits[0]}' names payment work: if its consumer charges, payments "
                                 "happen after the bus",
                       "charge synchronously in the checkout request; queues and topics carry work "
                       "that follows a successful charge (fulfillment, email, analytics)"))


payment_request_queues_disallow = resource_policy(
    name="payment-request-queues-disallow",
    description="SQS queues and SNS topics should not be named for payment requests (a name-based "
                "hint; payment-work-require-synchronous decides from what the consumer can do).",
    level=ADVISORY, severity=Severity.MEDIUM, types=[QUEUE, TOPIC], check=_check_request_channels,
    remediation="Remove the queue or topic and make the payment call synchronous.",
    config={**_KEYWORDS, **_TAG_KEYS}, tags=TAGS,
    antipattern="payments made asynchronous through the event bus")


POLICIES = [payment_work_require_synchronous, payment_request_events_disallow,
            payment_request_queues_disallow]
