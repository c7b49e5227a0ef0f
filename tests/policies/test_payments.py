"""Payments stay synchronous: payment work behind the ALB or a function URL passes; payment work
reached through a queue, topic, bus, pipe, schedule, stream or state machine fails, whatever the
program's variables are called."""

from __future__ import annotations

import pytest

from tests.policies.conftest import Analyze, Program, the_violation, violations_of

POLICIES = ("payment-work-require-synchronous", "payment-request-events-disallow",
            "payment-request-queues-disallow")

ROLE = '''
role = aws.iam.Role("lambda-role", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))


def function(name, handler, **extra):
    return aws.lambda_.Function(name, role=role.arn, runtime="python3.12", handler=handler,
                                code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}), **extra)


def queue_with_dlq(name, **extra):
    dlq = aws.sqs.Queue(f"{name}-dlq", sqs_managed_sse_enabled=True)
    return aws.sqs.Queue(name, sqs_managed_sse_enabled=True, redrive_policy=dlq.arn.apply(
        lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})), **extra)
'''

GOOD = ROLE + '''
# the charge happens behind the ALB (a Lambda target) and a function URL: synchronous callers
charge = function("charge-card", "shop.payments.charge.handler")
group = aws.lb.TargetGroup("charge-card", target_type="lambda")
aws.lambda_.Permission("charge-card-from-alb", action="lambda:InvokeFunction", function=charge.name,
                       principal="elasticloadbalancing.amazonaws.com", source_arn=group.arn)
aws.lb.TargetGroupAttachment("charge-card", target_group_arn=group.arn, target_id=charge.arn)
webhook = function("payment-webhook", "shop.payments.webhook.handler")
aws.lambda_.FunctionUrl("payment-webhook", function_name=webhook.name, authorization_type="NONE")

# work that follows a successful charge is asynchronous, and fine
fulfillment_queue = queue_with_dlq("fulfillment")
fulfillment = function("fulfillment", "shop.consumers.fulfillment.handler")
aws.lambda_.EventSourceMapping("fulfillment", event_source_arn=fulfillment_queue.arn,
                               function_name=fulfillment.arn)
bus = aws.cloudwatch.EventBus("orders")
rule = aws.cloudwatch.EventRule("order-placed", event_bus_name=bus.name, event_pattern=json.dumps({
    "source": ["ecommerce.orders"], "detail-type": ["order.placed"],
    "detail": {"payment": {"status": ["succeeded"]}}}))
aws.sns.Topic("payment-receipts", kms_master_key_id="alias/aws/sns")
'''

ASYNC_WORK = {
    "queue consumer recognised by its handler": ('''
worker = function("worker", "shop.payments.charge.handler")
queue = queue_with_dlq("orders-to-settle")
aws.lambda_.EventSourceMapping("worker", event_source_arn=queue.arn, function_name=worker.arn)
''', "worker"),
    "topic subscriber recognised by its workload tag": ('''
settle = function("settle", "shop.jobs.settle.handler", tags={"workload": "billing"})
topic = aws.sns.Topic("orders", kms_master_key_id="alias/aws/sns")
aws.sns.TopicSubscription("settle", topic=topic.arn, protocol="lambda", endpoint=settle.arn)
''', "settle"),
    "EventBridge target recognised by its name": ('''
capture = function("capture-orders", "shop.jobs.nightly.handler")
rule = aws.cloudwatch.EventRule("nightly", schedule_expression="cron(0 3 * * ? *)")
aws.cloudwatch.EventTarget("nightly", rule=rule.name, arn=capture.arn)
''', "capture-orders"),
    "Step Functions state machine": ('''
charge = function("charge-customer", "shop.steps.handler")
sfn_role = aws.iam.Role("flow-role", assume_role_policy="{}")
aws.sfn.StateMachine("order-flow", role_arn=sfn_role.arn, definition=pulumi.Output.json_dumps({
    "StartAt": "Charge", "States": {"Charge": {"Type": "Task", "Resource": charge.arn, "End": True}}}))
''', "charge-customer"),
    "invoke permission for EventBridge": ('''
charge = function("charge-card", "shop.handler")
aws.lambda_.Permission("from-events", action="lambda:InvokeFunction", function=charge.name,
                       principal="events.amazonaws.com")
''', "charge-card"),
    "Kinesis stream consumer": ('''
stream = aws.kinesis.Stream("order-events", shard_count=1, encryption_type="KMS",
                            kms_key_id="alias/aws/kinesis")
processor = function("payment-processor", "shop.handler")
aws.lambda_.EventSourceMapping("processor", event_source_arn=stream.arn, function_name=processor.arn,
                               starting_position="LATEST")
''', "payment-processor"),
    "mapping to an alias of the function": ('''
worker = function("billing-worker", "shop.handler")
live = aws.lambda_.Alias("live", function_name=worker.name, function_version="$LATEST")
queue = queue_with_dlq("jobs")
aws.lambda_.EventSourceMapping("jobs", event_source_arn=queue.arn, function_name=live.arn)
''', "billing-worker"),
    "mapping by a literal function name": ('''
worker = aws.lambda_.Function("worker", name="worker-fn", role=role.arn, runtime="python3.12",
                            handler="shop.payments.capture.handler",
                            code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}))
queue = queue_with_dlq("jobs")
aws.lambda_.EventSourceMapping("jobs", event_source_arn=queue.arn, function_name="worker-fn")
''', "worker"),
    "ECS service polling a queue": ('''
task_role = aws.iam.Role("billing-task", assume_role_policy="{}")
queue = queue_with_dlq("jobs")
aws.iam.RolePolicy("billing-task", role=task_role.id, policy=queue.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:ReceiveMessage",
    "sqs:DeleteMessage"], "Resource": arn}]})))
task = aws.ecs.TaskDefinition("billing", family="billing", task_role_arn=task_role.arn,
                              requires_compatibilities=["FARGATE"], network_mode="awsvpc", cpu="256",
                              memory="512", container_definitions=json.dumps([
                                  {"name": "billing", "image": "billing:1", "essential": True}]))
aws.ecs.Service("jobs-runner", cluster="shop", task_definition=task.arn, launch_type="FARGATE",
                desired_count=2)
''', "jobs-runner"),
}

DECIDED_AT_UPDATE = {"ECS service polling a queue"}

REQUEST_EVENTS = {
    "rule matching payment requests": ('''
aws.cloudwatch.EventRule("to-payments", event_pattern=json.dumps({
    "source": ["ecommerce.orders"], "detail-type": ["payment.requested"]}))
''', "to-payments"),
    "pipe filtering charge commands": ('''
role = aws.iam.Role("pipe-role", assume_role_policy="{}")
source = aws.sqs.Queue("commands", sqs_managed_sse_enabled=True)
target = aws.sqs.Queue("out", sqs_managed_sse_enabled=True)
aws.pipes.Pipe("charges", role_arn=role.arn, source=source.arn, target=target.arn, source_parameters={
    "filter_criteria": {"filters": [{"pattern": json.dumps({"body": {"type": ["ChargeCustomer"]}})}]}})
''', "charges"),
}

REQUEST_CHANNELS = {
    "queue of payment requests": ('''
aws.sqs.Queue("payment-requests", sqs_managed_sse_enabled=True)
''', "payment-requests"),
    "queue tagged for billing": ('''
aws.sqs.Queue("jobs", sqs_managed_sse_enabled=True, tags={"workload": "billing"})
''', "jobs"),
    "topic of charge requests": ('''
aws.sns.Topic("charge-requests", kms_master_key_id="alias/aws/sns")
''', "charge-requests"),
}


def test_synchronous_payments_and_async_fulfillment_pass(program: Program, analyze: Analyze,
                                                          preview: bool) -> None:
    # GIVEN payment functions behind the ALB and a function URL, and async work after the charge
    report = analyze(program(GOOD, preview=preview))

    # THEN no payment policy objects
    assert [v for p in POLICIES for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", ASYNC_WORK)
def test_payment_work_triggered_asynchronously_fails(case: str, program: Program, analyze: Analyze,
                                                     preview: bool) -> None:
    # GIVEN payment work that an asynchronous source triggers
    source, workload = ASYNC_WORK[case]

    # WHEN the pack analyzes it
    report = analyze(program(ROLE + source, preview=preview))

    # THEN the stack policy names the payment workload and the trigger, at mandatory level
    violation = the_violation(report, "payment-work-require-synchronous", workload)
    assert violation.level == "mandatory"
    if case in DECIDED_AT_UPDATE and preview:
        # the task role's document is computed from the queue's ARN: the policy says so, at its level
        assert "cannot be verified during preview" in violation.message
    else:
        assert "asynchronous" in violation.message or "polls a queue" in violation.message


@pytest.mark.parametrize("case", REQUEST_EVENTS)
def test_routing_payment_requests_through_eventbridge_fails(case: str, program: Program, analyze: Analyze,
                                                            preview: bool) -> None:
    source, rule = REQUEST_EVENTS[case]
    report = analyze(program(source, preview=preview))
    assert the_violation(report, "payment-request-events-disallow", rule).level == "mandatory"


@pytest.mark.parametrize("case", REQUEST_CHANNELS)
def test_queues_and_topics_of_payment_requests_fail(case: str, program: Program, analyze: Analyze,
                                                    preview: bool) -> None:
    source, channel = REQUEST_CHANNELS[case]
    report = analyze(program(source, preview=preview))
    assert the_violation(report, "payment-request-queues-disallow", channel).level == "mandatory"
