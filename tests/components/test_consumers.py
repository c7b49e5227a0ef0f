"""Every consumer is a complete, isolated set: rule -> own queue -> own function, own DLQ, alarms."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from components.config import EVENT_SOURCE, KNOWN_EVENTS, load_schema
from components.consumers import visibility_timeout
from offline.engine import ProgramError, Snapshot
from tests.components.event_flow import (
    FUNCTION,
    LOG_GROUP,
    MAPPING,
    QUEUE,
    QUEUE_POLICY,
    RULE,
    TARGET,
    alarms_on,
    as_list,
    config_of,
    consumers,
    part,
    role_policy_of,
    statements,
)
from tests.support.stacks import RunStack


def test_every_configured_consumer_is_built(prod: Snapshot) -> None:
    # GIVEN the prod stack's consumers config
    specs = config_of(prod).events.consumers
    # THEN there is one QueueConsumer per entry: the case study's four
    assert set(consumers(prod)) == {s.name for s in specs}
    assert {"fulfillment", "email", "analytics", "recommendations"} <= set(consumers(prod))


def test_each_rule_matches_its_events_and_targets_its_own_queue(prod: Snapshot) -> None:
    for spec in config_of(prod).events.consumers:
        rule = part(prod, spec.name, RULE, f"{spec.name}-rule")
        target = part(prod, spec.name, TARGET, f"{spec.name}-target")
        queue = part(prod, spec.name, QUEUE, f"{spec.name}-queue")
        dlq = part(prod, spec.name, QUEUE, f"{spec.name}-dlq")

        assert json.loads(rule.inputs["eventPattern"]) == {"source": [EVENT_SOURCE],
                                                           "detail-type": list(spec.events)}
        assert rule.inputs["eventBusName"] == prod.outputs["eventBusName"]
        assert target.inputs["rule"] == rule.outputs["name"]
        assert target.inputs["arn"] == queue.outputs["arn"], f"{spec.name} targets another queue"
        # delivery failures (after EventBridge's own retries) land in the consumer's DLQ
        assert target.inputs["deadLetterConfig"]["arn"] == dlq.outputs["arn"]
        assert target.inputs["retryPolicy"]["maximumRetryAttempts"] > 0


def test_each_queue_redrives_to_its_own_dlq_and_only_its_queue_may_redrive_there(
        prod: Snapshot) -> None:
    messaging_key = prod.of_type("ecommerce:security:EncryptionKeys")[0]
    key_arns = {k.outputs["arn"] for k in prod.descendants(messaging_key)
                if k.type == "aws:kms/key:Key"}
    for spec in config_of(prod).events.consumers:
        queue = part(prod, spec.name, QUEUE, f"{spec.name}-queue")
        dlq = part(prod, spec.name, QUEUE, f"{spec.name}-dlq")
        redrive = json.loads(queue.inputs["redrivePolicy"])
        assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"],
                           "maxReceiveCount": spec.max_receive_count}
        assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
        assert "redrivePolicy" not in dlq.inputs
        allow = part(prod, spec.name, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
                     f"{spec.name}-dlq")
        assert allow.inputs["queueUrl"] == dlq.outputs["url"]
        assert json.loads(allow.inputs["redriveAllowPolicy"]) == {
            "redrivePermission": "byQueue", "sourceQueueArns": [queue.outputs["arn"]]}
        for q in (queue, dlq):  # SSE with the customer-managed messaging key
            assert q.inputs["kmsMasterKeyId"] in key_arns
            assert q.inputs["tags"]["workload"] == spec.name


def test_visibility_timeout_is_at_least_six_times_the_function_timeout(prod: Snapshot) -> None:
    for spec in config_of(prod).events.consumers:
        queue = part(prod, spec.name, QUEUE, f"{spec.name}-queue")
        function = part(prod, spec.name, FUNCTION, spec.name)
        assert queue.inputs["visibilityTimeoutSeconds"] >= 6 * function.inputs["timeout"]
        assert queue.inputs["visibilityTimeoutSeconds"] == visibility_timeout(spec)


def test_queue_policies_admit_only_their_own_rule(prod: Snapshot) -> None:
    for spec in config_of(prod).events.consumers:
        rule = part(prod, spec.name, RULE, f"{spec.name}-rule")
        for queue_name in (f"{spec.name}-queue", f"{spec.name}-dlq"):
            queue = part(prod, spec.name, QUEUE, queue_name)
            queue_policy = part(prod, spec.name, QUEUE_POLICY, queue_name)
            assert queue_policy.inputs["queueUrl"] == queue.outputs["url"]
            [only] = statements(queue_policy)
            assert only["Principal"] == {"Service": "events.amazonaws.com"}
            assert only["Action"] == "sqs:SendMessage"
            assert only["Resource"] == queue.outputs["arn"]
            assert only["Condition"] == {"ArnEquals": {"aws:SourceArn": rule.outputs["arn"]}}


def test_each_mapping_reports_batch_item_failures_with_a_maximum_concurrency(prod: Snapshot) -> None:
    for spec in config_of(prod).events.consumers:
        mapping = part(prod, spec.name, MAPPING, f"{spec.name}-mapping")
        queue = part(prod, spec.name, QUEUE, f"{spec.name}-queue")
        function = part(prod, spec.name, FUNCTION, spec.name)
        assert mapping.inputs["eventSourceArn"] == queue.outputs["arn"]
        assert mapping.inputs["functionName"] == function.outputs["arn"]
        assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping.inputs["scalingConfig"]["maximumConcurrency"] == spec.max_concurrency
        assert mapping.inputs["batchSize"] == spec.batch_size
        if spec.batch_size > 10:  # SQS requires a batching window for larger batches
            assert mapping.inputs["maximumBatchingWindowInSeconds"] >= 1


def test_functions_run_python_3_12_on_arm64_traced_with_their_own_log_group_in_private_subnets(
        prod: Snapshot) -> None:
    from components.network import SubnetRole

    private = {s.outputs["id"] for s in prod.of_type("aws:ec2/subnet:Subnet")
               if s.inputs["tags"]["subnet-role"] == SubnetRole.PRIVATE}
    data_clients = prod.of_type("ecommerce:data:DataClients")[0]
    lambda_client_group = next(g for g in prod.descendants(data_clients)
                               if g.name.endswith("-lambda"))
    retention = config_of(prod).log_retention_days
    for spec in config_of(prod).events.consumers:
        function = part(prod, spec.name, FUNCTION, spec.name)
        logs = part(prod, spec.name, LOG_GROUP, f"{spec.name}-logs")
        runtime = function.inputs["runtime"]
        assert runtime.startswith("python3.") and int(runtime.split(".")[1]) >= 12
        assert function.inputs["architectures"] == ["arm64"]
        assert function.inputs["tracingConfig"] == {"mode": "Active"}
        assert function.inputs["handler"] == spec.handler
        assert function.inputs["tags"]["workload"] == spec.name
        assert function.inputs["loggingConfig"]["logGroup"] == logs.outputs["name"]
        assert logs.inputs["retentionInDays"] == retention and logs.inputs["kmsKeyId"]
        if spec.vpc:
            vpc = function.inputs["vpcConfig"]
            assert set(vpc["subnetIds"]) == private
            assert lambda_client_group.outputs["id"] in vpc["securityGroupIds"]


def test_each_role_names_only_its_own_resources(prod: Snapshot) -> None:
    # GIVEN every consumer's queue ARN and function role policy
    queue_arns = {name: part(prod, name, QUEUE, f"{name}-queue").outputs["arn"]
                  for name in consumers(prod)}
    idempotency = next(t for t in prod.of_type("aws:dynamodb/table:Table")
                       if t.outputs["name"] == prod.outputs["idempotencyTableName"])
    for name in consumers(prod):
        function = part(prod, name, FUNCTION, name)
        role_policy = role_policy_of(prod, function)
        logs = part(prod, name, LOG_GROUP, f"{name}-logs")
        text = role_policy.inputs["policy"]
        for statement in statements(role_policy):
            actions = as_list(statement["Action"])
            resources = as_list(statement["Resource"])
            # THEN nothing is granted on `*`, and no action is a wildcard
            assert "*" not in resources and not any(a.endswith("*") for a in actions), statement
            for action in actions:
                service = action.split(":")[0]
                if service == "sqs":
                    assert resources == [queue_arns[name]], statement
                elif service == "logs":
                    assert resources == [f"{logs.outputs['arn']}:*"]
                elif service == "dynamodb":
                    assert resources == [idempotency.outputs["arn"]]
                elif service == "rds-db":
                    assert resources[0].endswith(f"/{name.replace('-', '_')}")
                elif service == "ses":
                    assert name == "email", f"{name} may send mail"
        # AND no other consumer's queue appears in it
        for other, arn in queue_arns.items():
            if other != name:
                assert arn not in text, f"{name}'s role names {other}'s queue"


def test_dlq_depth_and_oldest_message_alarms_notify_the_alarm_topic(prod: Snapshot) -> None:
    topic = prod.outputs["alarmTopicArn"]
    for spec in config_of(prod).events.consumers:
        dlq = part(prod, spec.name, QUEUE, f"{spec.name}-dlq")
        queue = part(prod, spec.name, QUEUE, f"{spec.name}-queue")
        [depth] = alarms_on(prod, dlq)
        assert depth.inputs["metricName"] == "ApproximateNumberOfMessagesVisible"
        assert depth.inputs["threshold"] == 0
        assert depth.inputs["comparisonOperator"] == "GreaterThanThreshold"
        [age] = alarms_on(prod, queue)
        assert age.inputs["metricName"] == "ApproximateAgeOfOldestMessage"
        # a message older than its whole retry budget is backlog, not a retry in progress
        assert age.inputs["threshold"] > spec.max_receive_count * visibility_timeout(spec)
        for alarm in (depth, age):
            assert alarm.inputs["alarmActions"] == [topic]


def test_no_two_consumers_share_a_queue_a_function_or_a_role(prod: Snapshot) -> None:
    targets = [t.inputs["arn"] for t in prod.of_type(TARGET)]
    sources = [m.inputs["eventSourceArn"] for m in prod.of_type(MAPPING)]
    functions = [m.inputs["functionName"] for m in prod.of_type(MAPPING)]
    roles = [part(prod, name, FUNCTION, name).inputs["role"] for name in consumers(prod)]
    for values in (targets, sources, functions, roles):
        assert len(values) == len(set(values)) == len(consumers(prod))
    assert set(targets) == set(sources)  # each queue has exactly one rule and one consumer


def test_no_payment_work_is_consumed_from_the_bus(prod: Snapshot) -> None:
    # The case study: charging happens synchronously in checkout, never from a queue.
    words = ("payment", "charge", "capture", "billing")
    for rule in prod.of_type(RULE):
        assert set(json.loads(rule.inputs["eventPattern"])["detail-type"]) <= set(KNOWN_EVENTS)
    for resource in (*prod.of_type(QUEUE), *prod.of_type(FUNCTION), *prod.of_type(RULE)):
        handler = resource.inputs.get("handler", "")
        assert not any(w in f"{resource.name} {handler}".lower() for w in words), resource.urn


def test_adding_a_consumer_in_config_adds_exactly_one_complete_set(prod: Snapshot,
                                                                   run_stack: RunStack) -> None:
    # GIVEN the default consumers plus one more
    defaults = list(load_schema()["consumers"]["default"])
    extra = "loyalty events=order.placed,cart.abandoned handler=shop.consumers.analytics.handler"
    # WHEN the stack runs with it
    grown = run_stack("prod", overrides={"ecommerce:consumers": [*defaults, extra]})
    # THEN `loyalty` has exactly the resources every consumer has
    loyalty = consumers(grown)["loyalty"]
    one_set = Counter(r.type for r in [consumers(prod)["analytics"],
                                       *prod.descendants(consumers(prod)["analytics"])])
    assert Counter(r.type for r in [loyalty, *grown.descendants(loyalty)]) == one_set
    # AND nothing else changed in number, but what other tiers add for it (its alarms elsewhere)
    known = {r.urn for r in prod}
    new_elsewhere = [r for r in grown if r.urn not in known and r.urn != loyalty.urn
                     and loyalty.urn not in [a.urn for a in grown.ancestors(r)]]
    assert all("loyalty" in json.dumps(r.inputs) for r in new_elsewhere), new_elsewhere
    assert known <= {r.urn for r in grown}
    assert len(grown) == len(prod) + sum(one_set.values()) + len(new_elsewhere)
    for type_, name in ((RULE, "loyalty-rule"), (TARGET, "loyalty-target"), (QUEUE, "loyalty-queue"),
                        (QUEUE, "loyalty-dlq"), (FUNCTION, "loyalty"), (MAPPING, "loyalty-mapping")):
        part(grown, loyalty, type_, name)
    assert len(alarms_on(grown, part(grown, loyalty, QUEUE, "loyalty-dlq"))) == 1
    assert json.loads(part(grown, loyalty, RULE, "loyalty-rule").inputs["eventPattern"])[
        "detail-type"] == ["order.placed", "cart.abandoned"]
    assert set(grown.outputs["consumerQueueUrls"]) == {*consumers(prod), "loyalty"}


@pytest.mark.parametrize(("line", "says"), [
    ("fulfillment events=order.placed batchSize=0",
     "batchSize=0 is not allowed: must be from 1 to 10000"),
    ("fulfillment events=order.placed maxReceiveCount=0",
     "maxReceiveCount=0 is not allowed: must be from 1 to 1000"),
    ("fulfillment events=order.shipped", "events= names unknown event 'order.shipped'"),
    ("fulfillment events=order.placed reservedConcurrency=5 maxConcurrency=10",
     "reservedConcurrency=5 is not allowed below maxConcurrency=10"),
])
def test_a_bad_consumer_setting_fails_with_one_line_naming_it(run_stack: RunStack, line: str,
                                                              says: str) -> None:
    # WHEN a consumer line carries a bad value
    with pytest.raises(ProgramError) as raised:
        run_stack("prod", overrides={"ecommerce:consumers": [line]})
    # THEN the program stops with one line naming the stack file, the key and what is allowed
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("Pulumi.prod.yaml: ecommerce:consumers[0] ")
    assert says in message


def test_a_consumer_whose_handler_module_is_missing_fails_with_one_line(run_stack: RunStack) -> None:
    with pytest.raises(ProgramError) as raised:
        run_stack("prod", overrides={"ecommerce:consumers": [
            "returns events=order.placed handler=shop.consumers.returns.handler"]})
    message = str(raised.value)
    assert "\n" not in message
    assert message == ("consumer 'returns': handler 'shop.consumers.returns.handler' needs module "
                       "app_code/shop/consumers/returns.py, which does not exist")
