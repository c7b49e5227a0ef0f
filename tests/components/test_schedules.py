"""Scheduled jobs on EventBridge Scheduler: each with its function, retry policy, DLQ and alarm."""

from __future__ import annotations

import json
from typing import Any

from offline.engine import Resource, Snapshot
from tests.components.event_flow import (
    FUNCTION,
    JOBS,
    QUEUE,
    ROLE,
    ROLE_POLICY,
    alarms_on,
    as_list,
    config_of,
    role_policy_of,
    statements,
)

SCHEDULE = "aws:scheduler/schedule:Schedule"
EXPECTED = {"outbox-relay": "rate(1 minute)", "abandoned-carts": "cron(0 * * * ? *)",
            "checkout-recovery": "rate(5 minutes)", "sales-rollup": "cron(30 0 * * ? *)",
            "search-reindex": "cron(30 3 ? * SUN *)"}


def job_part(snapshot: Snapshot, type_: str, name: str) -> Resource:
    jobs = snapshot.of_type(JOBS)[0]
    [found] = [r for r in snapshot.descendants(jobs) if r.type == type_ and r.name == name]
    return found


def grants(snapshot: Snapshot, job: str) -> dict[str, list[dict[str, Any]]]:
    """The job function's inline statements, by Sid."""
    found: dict[str, list[dict[str, Any]]] = {}
    for statement in statements(role_policy_of(snapshot, job_part(snapshot, FUNCTION, job))):
        found.setdefault(statement.get("Sid", ""), []).append(statement)
    return found


def test_the_jobs_run_on_their_schedules_in_utc(prod: Snapshot) -> None:
    schedules = {s.name: s for s in prod.of_type(SCHEDULE)}
    assert {name: s.inputs["scheduleExpression"] for name, s in schedules.items()} == EXPECTED
    [group] = prod.of_type("aws:scheduler/scheduleGroup:ScheduleGroup")
    for schedule in schedules.values():
        assert schedule.inputs["scheduleExpressionTimezone"] == "UTC"
        assert schedule.inputs["flexibleTimeWindow"] == {"mode": "OFF"}
        assert schedule.inputs["groupName"] == group.outputs["name"]


def test_each_schedule_invokes_its_own_function_with_retries_and_its_own_dlq(prod: Snapshot) -> None:
    for job in EXPECTED:
        schedule = job_part(prod, SCHEDULE, job)
        function = job_part(prod, FUNCTION, job)
        dlq = job_part(prod, QUEUE, f"{job}-dlq")
        target = schedule.inputs["target"]
        assert target["arn"] == function.outputs["arn"]
        assert target["deadLetterConfig"]["arn"] == dlq.outputs["arn"]
        assert target["retryPolicy"]["maximumRetryAttempts"] > 0
        assert target["retryPolicy"]["maximumEventAgeInSeconds"] >= 60
        assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
        assert dlq.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")
        # the scheduler's role may invoke this function and fill this DLQ, nothing else
        role = next(r for r in prod.of_type(ROLE) if r.outputs["arn"] == target["roleArn"])
        [trust] = statements(role, "assumeRolePolicy")
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
        [role_policy] = [p for p in prod.of_type(ROLE_POLICY) if p.inputs["role"] == role.outputs["id"]]
        by_action = {a: as_list(s["Resource"]) for s in statements(role_policy)
                     for a in as_list(s["Action"])}
        assert by_action["lambda:InvokeFunction"] == [function.outputs["arn"]]
        assert by_action["sqs:SendMessage"] == [dlq.outputs["arn"]]


def test_a_failed_run_lands_in_the_dlq_which_alarms(prod: Snapshot) -> None:
    for job in EXPECTED:
        function = job_part(prod, FUNCTION, job)
        dlq = job_part(prod, QUEUE, f"{job}-dlq")
        [invoke_config] = [c for c in prod.of_type("aws:lambda/functionEventInvokeConfig:"
                                                   "FunctionEventInvokeConfig")
                           if c.inputs["functionName"] == function.outputs["name"]]
        assert invoke_config.inputs["destinationConfig"]["onFailure"]["destination"] == \
            dlq.outputs["arn"]
        assert grants(prod, job)["FailedRunsToItsDlq"][0]["Resource"] == dlq.outputs["arn"]
        [alarm] = alarms_on(prod, dlq)
        assert alarm.inputs["threshold"] == 0
        assert alarm.inputs["alarmActions"] == [prod.outputs["alarmTopicArn"]]
    assert set(prod.outputs["jobDlqUrls"]) == set(EXPECTED)


def test_jobs_reach_postgresql_through_the_proxy_as_their_own_user(prod: Snapshot) -> None:
    [proxy] = prod.of_type("aws:rds/proxy:Proxy")
    proxy_id = proxy.outputs["arn"].rsplit(":", 1)[-1]
    for job in EXPECTED:
        function = job_part(prod, FUNCTION, job)
        user = job.replace("-", "_")
        [connect] = grants(prod, job)["DatabaseThroughTheProxy"]
        assert connect["Action"] == "rds-db:connect"
        assert connect["Resource"] == f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{proxy_id}/{user}"
        variables = function.inputs["environment"]["variables"]
        assert variables["PGHOST"] == proxy.outputs["endpoint"]
        assert variables["PGUSER"] == user
        assert variables["PGSSLMODE"] == "verify-full"
        assert "PGPASSWORD" not in variables
        assert function.inputs["vpcConfig"]["subnetIds"]


def test_only_the_relay_publishes_and_only_the_cart_jobs_touch_carts(prod: Snapshot) -> None:
    bus_arn = prod.outputs["eventBusArn"]
    carts = next(t for t in prod.of_type("aws:dynamodb/table:Table")
                 if t.outputs["name"] == prod.outputs["cartsTableName"])
    relay, abandoned, recovery, rollup, reindex = (grants(prod, job) for job in EXPECTED)
    [publish] = relay["PublishOnTheBus"]
    assert publish["Resource"] == bus_arn
    assert job_part(prod, FUNCTION, "outbox-relay").inputs["environment"]["variables"][
        "EVENT_BUS_NAME"] == prod.outputs["eventBusName"]
    [cart_access] = abandoned["Carts"]
    assert cart_access["Resource"] == carts.outputs["arn"]
    assert set(cart_access["Action"]) == {"dynamodb:Scan", "dynamodb:UpdateItem"}
    [recovery_carts] = recovery["Carts"]
    assert set(recovery_carts["Action"]) == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    for other in (abandoned, recovery, rollup, reindex):
        assert "PublishOnTheBus" not in other
    assert "Carts" not in relay and "Carts" not in rollup and "Carts" not in reindex
    text = json.dumps([relay, rollup, reindex])
    assert carts.outputs["arn"] not in text


def test_only_checkout_recovery_reads_a_payment_provider_key_and_only_the_read_only_one(
        prod: Snapshot) -> None:
    key_arn = config_of(prod).payment_lookup_secret_arn
    assert key_arn != config_of(prod).payment_secret_arn
    for job in EXPECTED:
        reads = grants(prod, job).get("PaymentProviderKey", [])
        if job == "checkout-recovery":
            assert [(s["Action"], s["Resource"]) for s in reads] == [
                ("secretsmanager:GetSecretValue", key_arn)]
            variables = job_part(prod, FUNCTION, job).inputs["environment"]["variables"]
            assert variables["STRIPE_SECRET_ARN"] == key_arn
        else:
            assert not reads
