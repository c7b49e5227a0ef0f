"""Observability: the checkout SLO's burn-rate alarms, the tier alarms, every alarm reaching the
topic, the dashboard, the payment-errors metric, log groups, tracing and the APM seam."""

from __future__ import annotations

import ast
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from components.config import PROJECT_DIR
from components.observability import (
    BURN_RATE_ALERTS,
    MAX_ALARM_METRICS,
    PAYMENT_ERROR_MESSAGES,
    CheckoutSlo,
    DataMetrics,
    EdgeMetrics,
    Observability,
    ObservabilityArgs,
    WebMetrics,
    payment_errors_pattern,
    window_label,
)
from components.schedules import JOBS
from offline.engine import Resource, Snapshot, run_program
from tests.components.event_flow import config_of

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
TOPIC = "aws:sns/topic:Topic"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
APM_ENDPOINT = "https://otlp.apm.example.com"
APM_KEY = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:apm-otlp-headers-AbCdEf"
APP_CODE = PROJECT_DIR / "app_code"


@pytest.fixture(scope="module")
def reconfigured() -> Snapshot:
    """Staging moved out of us-east-1, with an APM configured and a 99.9% checkout target (one run
    for the three changes these tests make: each is checked on its own resources)."""
    return run_program("staging", overrides={
        "aws:region": "eu-central-1", "ecommerce:apmOtlpEndpoint": APM_ENDPOINT,
        "ecommerce:apmApiKeySecretArn": APM_KEY, "ecommerce:checkoutAvailabilityTarget": "99.9"})


# -- helpers --------------------------------------------------------------------------------------


def observability(snapshot: Snapshot) -> Resource:
    (component,) = snapshot.of_type("ecommerce:observability:Observability")
    return component


def alarm(snapshot: Snapshot, suffix: str) -> Resource:
    """The observability tier's (metric or composite) alarm named `<component>-<suffix>`."""
    name = f"{observability(snapshot).name}-{suffix}"
    (found,) = [r for r in snapshot.of_type(ALARM, COMPOSITE) if r.name == name]
    return found


def queries(resource: Resource) -> list[dict[str, Any]]:
    return list(resource.inputs.get("metricQueries") or [])


def metric_dimensions(resource: Resource) -> list[dict[str, str]]:
    """The dimensions of every metric an alarm reads (plain or metric math)."""
    if resource.inputs.get("metricQueries"):
        return [q["metric"].get("dimensions") or {} for q in queries(resource) if "metric" in q]
    return [resource.inputs.get("dimensions") or {}]


def region_of(snapshot: Snapshot, resource: Resource) -> str:
    """Where a resource lives: its own `region`, else its provider's, else the stack's."""
    if resource.inputs.get("region"):
        return str(resource.inputs["region"])
    provider = snapshot.provider_of(resource)
    if provider is None:
        for ancestor in snapshot.ancestors(resource):
            provider = snapshot.provider_of(ancestor)
            if provider is not None:
                break
    return str((provider.inputs.get("region") if provider else None) or snapshot.config["aws:region"])


def alarm_topics(snapshot: Snapshot) -> dict[str, str]:
    """ARN -> Region of every topic made by an AlarmTopic component."""
    topics = {}
    for component in snapshot.of_type("ecommerce:observability:AlarmTopic"):
        for topic in snapshot.descendants(component):
            if topic.type == TOPIC:
                topics[topic.outputs["arn"]] = topic.outputs["arn"].split(":")[3]
    return topics


def target_group(snapshot: Snapshot, name: str) -> Resource:
    (found,) = [r for r in snapshot.of_type(TARGET_GROUP) if r.name == f"web-{name}"]
    return found


def alb_suffix(snapshot: Snapshot) -> str:
    (alb,) = snapshot.of_type("aws:lb/loadBalancer:LoadBalancer")
    return str(alb.outputs["arnSuffix"])


def dead_letter_queue_arns(snapshot: Snapshot) -> set[str]:
    """Every queue something dead-letters into: redrive policies, rule targets, schedules and
    Lambda's async on-failure destinations."""
    arns: set[str | None] = set()
    for queue in snapshot.of_type(QUEUE):
        if queue.inputs.get("redrivePolicy"):
            arns.add(json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"])
    for target in snapshot.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        arns.add((target.inputs.get("deadLetterConfig") or {}).get("arn"))
    for schedule in snapshot.of_type("aws:scheduler/schedule:Schedule"):
        arns.add((schedule.inputs["target"].get("deadLetterConfig") or {}).get("arn"))
    for config in snapshot.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"):
        arns.add(config.inputs["destinationConfig"]["onFailure"]["destination"])
    return {arn for arn in arns if arn is not None}


def dashboard(snapshot: Snapshot) -> dict[str, Any]:
    (board,) = snapshot.of_type("aws:cloudwatch/dashboard:Dashboard")
    return dict(json.loads(board.inputs["dashboardBody"]))


def dashboard_values(widgets: list[dict[str, Any]]) -> set[str]:
    """Every string in the widgets' metric rows (namespaces, names, dimension values)."""
    values: set[str] = set()
    for widget in widgets:
        for row in widget["properties"].get("metrics", []):
            values.update(item for item in row if isinstance(item, str))
    return values


def containers(task: Resource) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(task.inputs["containerDefinitions"])}


def environment(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def secrets(container: dict[str, Any]) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}


# -- the checkout SLO -----------------------------------------------------------------------------


def test_the_burn_rate_windows_measure_the_checkout_target_group(prod: Snapshot) -> None:
    # GIVEN the target group that only /api/checkout is routed to
    checkout = target_group(prod, "checkout")
    (rule,) = [r for r in prod.of_type("aws:lb/listenerRule:ListenerRule") if r.name == "web-checkout"]
    assert rule.inputs["actions"][0]["targetGroupArn"] == checkout.outputs["arn"]
    assert "/api/checkout" in rule.inputs["conditions"][0]["pathPattern"]["values"]

    for alert in BURN_RATE_ALERTS:
        for seconds in (alert.long_window_seconds, alert.short_window_seconds):
            window = alarm(prod, f"checkout-{alert.name}-burn-{window_label(seconds)}")
            # THEN every metric of the window is that target group's, over the whole window
            metrics = [q["metric"] for q in queries(window) if "metric" in q]
            assert {m["metricName"] for m in metrics} == {
                "RequestCount", "HTTPCode_Target_5XX_Count", "TargetConnectionErrorCount"}
            for metric in metrics:
                assert metric["dimensions"] == {"TargetGroup": checkout.outputs["arnSuffix"],
                                                "LoadBalancer": alb_suffix(prod)}
                assert (metric["namespace"], metric["stat"], metric["period"]) == (
                    "AWS/ApplicationELB", "Sum", seconds)
            (returned,) = [q for q in queries(window) if q.get("returnData")]
            assert "100 * (FILL(errors, 0) + FILL(refused, 0)) / requests" in returned["expression"]
            assert window.inputs["evaluationPeriods"] == 1
            assert window.inputs["comparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize(("stack", "budget"), [("prod", 0.05), ("reconfigured", 0.1)])
def test_thresholds_are_the_burn_rate_times_the_configured_error_budget(
        stack: str, budget: float, request: pytest.FixtureRequest) -> None:
    # GIVEN a stack whose checkout target is 99.95% (prod) or 99.9% (set by override)
    snapshot: Snapshot = request.getfixturevalue(stack)
    target = config_of(snapshot).observability.checkout_availability_target
    assert target == pytest.approx(100 - budget)
    # THEN fast burn pages above 14.4 x budget over 1h and 5m, slow burn above 6 x over 6h and 30m
    expected = {("fast", "1h"): 14.4 * budget, ("fast", "5m"): 14.4 * budget,
                ("slow", "6h"): 6 * budget, ("slow", "30m"): 6 * budget}
    for (speed, window), threshold in expected.items():
        resource = alarm(snapshot, f"checkout-{speed}-burn-{window}")
        assert resource.inputs["threshold"] == pytest.approx(threshold)


def test_each_composite_pages_when_both_of_its_windows_burn(prod: Snapshot) -> None:
    topic = prod.outputs["alarmTopicArn"]
    for alert in BURN_RATE_ALERTS:
        composite = alarm(prod, f"checkout-{alert.name}-burn")
        long_window, short_window = (
            alarm(prod, f"checkout-{alert.name}-burn-{window_label(s)}")
            for s in (alert.long_window_seconds, alert.short_window_seconds))
        assert composite.type == COMPOSITE
        assert composite.inputs["alarmRule"] == (f'ALARM("{long_window.outputs["name"]}") AND '
                                                 f'ALARM("{short_window.outputs["name"]}")')
        assert composite.inputs["alarmActions"] == [topic]
        assert composite.inputs["okActions"] == [topic]
        assert prod.outputs["checkoutSloAlarmArns"][alert.name] == composite.outputs["arn"]


def test_checkout_p99_latency_has_its_own_alarm(prod: Snapshot) -> None:
    latency = alarm(prod, "checkout-latency-p99")
    objective_ms = config_of(prod).observability.checkout_latency_p99_ms
    assert latency.inputs["metricName"] == "TargetResponseTime"
    assert latency.inputs["extendedStatistic"] == "p99"
    assert latency.inputs["dimensions"]["TargetGroup"] == target_group(prod, "checkout").outputs[
        "arnSuffix"]
    assert latency.inputs["threshold"] == pytest.approx(objective_ms / 1000)


# -- every alarm reaches someone ------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "reconfigured"])
def test_every_alarm_notifies_the_alarm_topic_of_its_region(stack: str,
                                                            request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    topics = alarm_topics(snapshot)
    composites = snapshot.of_type(COMPOSITE)
    silent = []
    for resource in [*snapshot.of_type(ALARM), *composites]:
        actions = resource.inputs.get("alarmActions") or []
        if not actions:
            silent.append(resource)
            continue
        # THEN its actions (and OK actions) go to an alarm topic in the alarm's own Region
        assert resource.inputs.get("actionsEnabled", True), resource.name
        assert set(actions) <= set(topics), f"{resource.name} notifies {actions}"
        assert resource.inputs.get("okActions") == actions, resource.name
        assert {topics[a] for a in actions} == {region_of(snapshot, resource)}, resource.name
    # AND the only silent alarms are the SLO windows, each an input of a composite that pages
    rules = " ".join(c.inputs["alarmRule"] for c in composites if c.inputs.get("alarmActions"))
    assert len(silent) == 2 * len(BURN_RATE_ALERTS)
    for window in silent:
        assert f'ALARM("{window.outputs["name"]}")' in rules, window.name


def test_the_edge_alarm_lives_with_cloudfront_s_metrics_in_us_east_1(reconfigured: Snapshot) -> None:
    # GIVEN a stack outside us-east-1 THEN the edge alarm and its own topic are in us-east-1
    edge = alarm(reconfigured, "edge-5xx")
    assert edge.inputs["region"] == "us-east-1"
    (distribution,) = reconfigured.of_type("aws:cloudfront/distribution:Distribution")
    assert edge.inputs["dimensions"] == {"DistributionId": distribution.outputs["id"],
                                         "Region": "Global"}
    assert alarm_topics(reconfigured)[edge.inputs["alarmActions"][0]] == "us-east-1"


def test_every_alarm_is_one_cloudwatch_accepts(prod: Snapshot) -> None:
    for resource in prod.of_type(ALARM):
        metrics = [q for q in queries(resource) if "metric" in q]
        periods = {q["metric"]["period"] for q in metrics} or {resource.inputs["period"]}
        # one period per alarm, a multiple of 60 s, evaluating at most a day
        assert len(periods) == 1, resource.name
        (period,) = periods
        assert period % 60 == 0, resource.name
        assert period * resource.inputs["evaluationPeriods"] <= 24 * 3600, resource.name
        assert len(metrics) <= MAX_ALARM_METRICS, resource.name
        if metrics:  # exactly one query is the alarm's value
            assert sum(1 for q in queries(resource) if q.get("returnData")) == 1, resource.name


# -- tier alarms ----------------------------------------------------------------------------------


def test_every_dlq_and_every_consumer_has_its_alarms(prod: Snapshot) -> None:
    topic = prod.outputs["alarmTopicArn"]
    queues = {q.outputs["arn"]: q for q in prod.of_type(QUEUE)}
    alarms = prod.of_type(ALARM)

    def on(metric: str, dimension: str, value: str) -> list[Resource]:
        return [a for a in alarms if a.inputs.get("metricName") == metric
                and (a.inputs.get("dimensions") or {}).get(dimension) == value
                and a.inputs["alarmActions"] == [topic]]

    # every queue that receives dead letters (each consumer's, each job's) alarms on its first message
    dlqs = dead_letter_queue_arns(prod)
    assert len(dlqs) == len(config_of(prod).events.consumers) + len(JOBS)
    for arn in dlqs:
        depth = on("ApproximateNumberOfMessagesVisible", "QueueName", queues[arn].outputs["name"])
        assert [(a.inputs["threshold"], a.inputs["comparisonOperator"]) for a in depth] == [
            (0, "GreaterThanThreshold")], queues[arn].name
    # every consumer: its queue's oldest message, and its function's error rate
    for consumer in prod.of_type("ecommerce:events:QueueConsumer"):
        parts = prod.descendants(consumer)
        (queue,) = [r for r in parts if r.type == QUEUE and r.name == f"{consumer.name}-queue"]
        (function,) = [r for r in parts if r.type == FUNCTION]
        assert on("ApproximateAgeOfOldestMessage", "QueueName", queue.outputs["name"])
        errors = alarm(prod, f"{consumer.name}-function-errors")
        assert {d["FunctionName"] for d in metric_dimensions(errors)} == {function.outputs["name"]}
        assert errors.inputs["threshold"] == 5.0


def test_the_issue_s_tier_alarms_watch_the_real_resources(prod: Snapshot) -> None:
    (distribution,) = prod.of_type("aws:cloudfront/distribution:Distribution")
    (cluster,) = prod.of_type("aws:rds/cluster:Cluster")
    writer = prod.named("database-writer")
    (cache,) = prod.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    (domain,) = prod.of_type("aws:opensearch/domain:Domain")

    assert alarm(prod, "edge-5xx").inputs["dimensions"]["DistributionId"] == distribution.outputs["id"]
    assert metric_dimensions(alarm(prod, "alb-5xx")) == [{"LoadBalancer": alb_suffix(prod)}] * 3
    assert alarm(prod, "database-writer-failover").inputs["dimensions"] == {
        "DBInstanceIdentifier": writer.outputs["identifier"]}
    assert alarm(prod, "database-replica-lag").inputs["dimensions"] == {
        "DBClusterIdentifier": cluster.outputs["clusterIdentifier"], "Role": "READER"}
    # the cache's first member is the node created as primary (ElastiCache names them -001, -002..)
    assert cache.inputs["numCacheClusters"] == config_of(prod).data.cache_node_count
    assert alarm(prod, "cache-failover").inputs["dimensions"] == {
        "CacheClusterId": f"{cache.outputs['replicationGroupId']}-001"}
    for color in ("red", "yellow"):
        search = alarm(prod, f"search-{color}")
        assert search.inputs["metricName"] == f"ClusterStatus.{color}"
        assert search.inputs["dimensions"] == {"DomainName": domain.outputs["domainName"],
                                               "ClientId": "123456789012"}


def test_unhealthy_targets_and_max_capacity_are_watched_per_service(prod: Snapshot) -> None:
    services = {s.outputs["name"]: s for s in prod.of_type("aws:ecs/service:Service")}
    scaling = {t.inputs["resourceId"].rsplit("/", 1)[1]: t
               for t in prod.of_type("aws:appautoscaling/target:Target")
               if t.inputs["serviceNamespace"] == "ecs"}
    for spec in config_of(prod).web.services:
        assert alarm(prod, f"{spec.name}-unhealthy-targets").inputs["dimensions"] == {
            "TargetGroup": target_group(prod, spec.name).outputs["arnSuffix"],
            "LoadBalancer": alb_suffix(prod)}
        if spec.max_tasks(config_of(prod).spike_factor) <= spec.min_tasks:
            # a fixed-size service always runs at its maximum: an alarm there would never clear
            assert not [a for a in prod.of_type(ALARM) if a.name == f"{spec.name}-at-max-capacity"]
            continue
        at_max = alarm(prod, f"{spec.name}-at-max-capacity")
        service_name = at_max.inputs["dimensions"]["ServiceName"]
        assert service_name in services
        # THEN it fires at autoscaling's own ceiling for that service
        assert at_max.inputs["threshold"] == scaling[service_name].inputs["maxCapacity"]
        assert at_max.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm(prod, "checkout-unhealthy-targets").inputs["dimensions"]["TargetGroup"] == (
        target_group(prod, "checkout").outputs["arnSuffix"])


# -- payment errors -------------------------------------------------------------------------------


def test_payment_errors_are_counted_from_the_order_service_s_logs(prod: Snapshot) -> None:
    (metric_filter,) = prod.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    (order_logs,) = [g for g in prod.of_type(LOG_GROUP) if g.name == "web-order-api"]
    assert metric_filter.inputs["logGroupName"] == order_logs.outputs["name"]
    assert metric_filter.inputs["pattern"] == payment_errors_pattern()
    transformation = metric_filter.inputs["metricTransformation"]
    payment_alarm = alarm(prod, "payment-errors")
    assert (payment_alarm.inputs["namespace"], payment_alarm.inputs["metricName"]) == (
        transformation["namespace"], transformation["name"])
    assert transformation["namespace"] == "ecommerce/prod"  # stacks sharing an account stay apart


def _matches(pattern: str, event: str) -> bool:
    """CloudWatch Logs term matching for a pattern of `?"phrase"` alternatives."""
    phrases = re.findall(r'\?"([^"]+)"', pattern)
    assert " ".join(f'?"{p}"' for p in phrases) == pattern, "only ?\"phrase\" terms are modelled"
    return any(phrase in event for phrase in phrases)


@pytest.fixture
def shop_payments() -> Iterator[Any]:
    sys.path.insert(0, str(APP_CODE))
    try:
        from shop import payments

        yield payments
    finally:
        sys.path.remove(str(APP_CODE))


def test_the_filter_matches_what_the_gateway_logs_when_the_provider_fails(
        shop_payments: Any, caplog: pytest.LogCaptureFixture) -> None:
    import stripe

    def fail(*_: Any, **__: Any) -> Any:
        raise stripe.APIConnectionError("connection reset")

    def decline(*_: Any, **__: Any) -> Any:
        raise stripe.CardError("Your card was declined.", None, "card_declined")

    intents = SimpleNamespace(create=fail, retrieve=fail, confirm=decline)
    gateway = shop_payments.StripeGateway(SimpleNamespace(v1=SimpleNamespace(payment_intents=intents)))
    pattern = payment_errors_pattern()

    # WHEN the provider cannot be reached to start or to look up a payment
    with caplog.at_level(logging.WARNING, logger="shop.payments"):
        with pytest.raises(shop_payments.PaymentUnavailable):
            gateway.prepare(amount_cents=100, currency="USD", payment_method="pm_card", key="k1",
                            metadata={})
        assert gateway.lookup("pi_1").status is shop_payments.PaymentStatus.UNKNOWN
    # THEN each line is counted, as plain text (no handler: Python's last resort) or as JSON
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    for line in lines:
        assert _matches(pattern, line), line
        assert _matches(pattern, json.dumps({"level": "WARNING", "message": line}))

    # AND a declined card is the customer's outcome, not an error: nothing is logged or counted
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="shop.payments"):
        assert gateway.confirm("pi_2", key="k2").status is shop_payments.PaymentStatus.DECLINED
    assert not any(_matches(pattern, r.getMessage()) for r in caplog.records)


def _logged_at_warning_or_above(path: Path) -> list[str]:
    """The literal messages of `logger.warning/error/exception/critical(...)` calls in a module."""
    messages = []
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("warning", "error", "exception", "critical") and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            messages.append(node.args[0].value)
    return messages


def test_every_phrase_of_the_filter_is_a_message_the_app_logs_as_a_problem() -> None:
    logged = [m for path in (APP_CODE / "shop").rglob("*.py") for m in _logged_at_warning_or_above(path)]
    for phrase in PAYMENT_ERROR_MESSAGES:
        assert any(m.startswith(phrase) for m in logged), f"nothing in app_code logs {phrase!r}"


# -- the dashboard --------------------------------------------------------------------------------


def test_the_dashboard_has_a_section_per_tier_and_fits_the_grid(prod: Snapshot) -> None:
    widgets = dashboard(prod)["widgets"]
    titles = [w["properties"].get("title", "") for w in widgets]
    for tier in ("Checkout SLO", "Edge", "Web", "Data", "Events"):
        assert any(t.startswith(f"{tier} ·") for t in titles), f"no {tier} widget"
    cells: set[tuple[int, int]] = set()
    for widget in widgets:
        assert 0 <= widget["x"] and widget["x"] + widget["width"] <= 24
        area = {(widget["x"] + dx, widget["y"] + dy)
                for dx in range(widget["width"]) for dy in range(widget["height"])}
        assert not cells & area, f"{widget['properties']} overlaps another widget"
        cells |= area


def test_dashboard_graphs_read_cloudfront_in_us_east_1_and_the_rest_in_the_stack_s_region(
        reconfigured: Snapshot) -> None:
    graphs = [w["properties"] for w in dashboard(reconfigured)["widgets"] if w["type"] == "metric"]
    for graph in graphs:
        expected = "us-east-1" if graph["title"].startswith("Edge") else "eu-central-1"
        assert graph["region"] == expected, graph["title"]


def test_the_dashboard_graphs_the_stack_s_own_resources(prod: Snapshot) -> None:
    # GIVEN what the tiers made, as AWS names them
    def outputs(type_: str, key: str) -> set[str]:
        return {str(r.outputs[key]) for r in prod.of_type(type_)}

    (cluster,) = prod.of_type("aws:rds/cluster:Cluster")
    (cache,) = prod.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    expected = {
        "edge": outputs("aws:cloudfront/distribution:Distribution", "id"),
        "alb": {alb_suffix(prod)},
        "target groups": outputs(TARGET_GROUP, "arnSuffix"),
        "ecs cluster": outputs("aws:ecs/cluster:Cluster", "name"),
        "ecs services": outputs("aws:ecs/service:Service", "name"),
        "aurora": {cluster.outputs["clusterIdentifier"]},
        "tables": outputs("aws:dynamodb/table:Table", "name"),
        "cache nodes": {f"{cache.outputs['replicationGroupId']}-{i:03d}"
                        for i in range(1, int(cache.inputs["numCacheClusters"]) + 1)},
        "search": outputs("aws:opensearch/domain:Domain", "domainName"),
        "queues and DLQs": outputs(QUEUE, "name"),
        # the schema migrator runs inside `pulumi up`, which reports its outcome
        "functions": outputs(FUNCTION, "name") - {
            str(f.outputs["name"]) for f in prod.of_type(FUNCTION)
            if "ecommerce:data:SchemaMigrations" in f.urn},
    }
    # WHEN the dashboard body is read THEN every one of them is graphed
    graphed = dashboard_values(dashboard(prod)["widgets"])
    for what, names in expected.items():
        assert names and names <= graphed, f"{what}: {sorted(names - graphed)} not on the dashboard"
    # AND the alarm widget shows the SLO composites
    (alarm_widget,) = [w for w in dashboard(prod)["widgets"] if w["type"] == "alarm"]
    assert set(prod.outputs["checkoutSloAlarmArns"].values()) <= set(alarm_widget["properties"]["alarms"])


# -- logs, tracing and the APM seam ---------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_log_group_expires_and_is_encrypted_with_a_stack_key(stack: str,
                                                                    request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    keys = {k.outputs["arn"] for k in snapshot.of_type("aws:kms/key:Key")}
    groups = snapshot.of_type(LOG_GROUP)
    assert len(groups) >= 10
    for group in groups:
        assert group.inputs.get("retentionInDays") == config_of(snapshot).log_retention_days, group.name
        assert group.inputs.get("kmsKeyId") in keys, group.name


def test_every_function_is_traced_and_every_task_runs_the_collector(prod: Snapshot) -> None:
    functions = prod.of_type(FUNCTION)
    assert len(functions) >= 7  # 4 consumers + 3 jobs
    for function in functions:
        assert function.inputs["tracingConfig"] == {"mode": "Active"}, function.name
    for task in prod.of_type(TASK):
        assert "otel-collector" in containers(task), task.name


def test_the_apm_config_wires_every_service_and_function(reconfigured: Snapshot,
                                                         staging: Snapshot) -> None:
    # GIVEN the APM endpoint and key secret set (reconfigured) or not (staging)
    for task in reconfigured.of_type(TASK):
        # THEN the app and its collector sidecar export to the APM, the key as a secret reference
        for container in containers(task).values():
            assert environment(container)["OTEL_EXPORTER_OTLP_ENDPOINT"] == APM_ENDPOINT, task.name
            assert secrets(container)["OTEL_EXPORTER_OTLP_HEADERS"] == APM_KEY, task.name
    for function in reconfigured.of_type(FUNCTION):
        variables = function.inputs["environment"]["variables"]
        # AND every function runs the ADOT layer's wrapper with the collector config for the APM
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/otel-instrument", function.name
        assert variables["OPENTELEMETRY_COLLECTOR_CONFIG_URI"].endswith(".yaml"), function.name
        assert any(":layer:aws-otel-python-" in layer for layer in function.inputs["layers"]), (
            function.name)
        assert APM_KEY not in json.dumps(variables)  # the key is read by ARN at start, not passed
    # AND without the config nothing points at an APM
    for task in staging.of_type(TASK):
        for name, container in containers(task).items():
            assert "OTEL_EXPORTER_OTLP_HEADERS" not in secrets(container), task.name
            if name != "otel-collector":  # the app sends to its sidecar, which sends to X-Ray
                assert environment(container)["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
                    "http://127.0.0.1:4318"), task.name
    for function in staging.of_type(FUNCTION):
        assert "AWS_LAMBDA_EXEC_WRAPPER" not in function.inputs["environment"]["variables"]
        assert not any("aws-otel" in layer for layer in function.inputs["layers"])


# -- the component's own checks -------------------------------------------------------------------


def _args(**web: Any) -> ObservabilityArgs:
    return ObservabilityArgs(
        region="us-east-1", alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:alarms",
        slo=CheckoutSlo(availability_target=99.95, latency_p99_ms=1500),
        edge=EdgeMetrics(distribution_id="E1", alarm_topic_arn="arn:aws:sns:us-east-1:1:a"),
        web=WebMetrics(**{"alb_arn_suffix": "app/x/1", "cluster_name": "c", "services": {},
                          "checkout_target_group_arn_suffix": "targetgroup/c/1",
                          "payments_log_group_name": "/ecs/order-api", **web}),
        data=DataMetrics(cluster_identifier="db", writer_instance_identifier="db-1", table_names={},
                         cache_node_ids=["cache-001"], search_domain_name="s", account_id="1"),
        consumers={})


@pytest.mark.parametrize(("web", "message"), [
    ({"checkout_target_group_arn_suffix": None}, "dedicated_routes"),
    ({"payments_log_group_name": None}, "order service's log group"),
])
def test_the_component_refuses_to_build_without_what_the_slo_needs(web: dict[str, Any],
                                                                   message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Observability("observability", _args(**web))


def test_the_error_budget_is_exact() -> None:
    slo = CheckoutSlo(availability_target=99.95, latency_p99_ms=1500)
    assert str(slo.error_budget_percent) == "0.05"
    assert slo.threshold_percent(14.4) == 0.72
    assert slo.threshold_percent(6) == 0.3


# -- the runbook ----------------------------------------------------------------------------------


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#{2,4} (.+)$", markdown, flags=re.MULTILINE)}


def test_every_alarm_links_to_a_runbook_section_that_exists(prod: Snapshot) -> None:
    runbook = (PROJECT_DIR / "docs" / "operations.md").read_text()
    anchors = _anchors(runbook)
    linked = 0
    for resource in [*prod.of_type(ALARM), *prod.of_type(COMPOSITE)]:
        for anchor in re.findall(r"docs/operations\.md#([\w-]+)", resource.inputs["alarmDescription"]):
            assert anchor in anchors, f"{resource.name} links to a missing section #{anchor}"
            linked += 1
    assert linked >= 20
    for section in ("consumer-dlq-depth", "consumer-oldest-message", "scheduled-job-dlq",
                    "ses-bounce-and-complaint-rates"):  # the alarms other tiers raise
        assert section in anchors
