"""Payments stay synchronous, decided from what the code can do: code that can read the payment
provider's secret (by its role, or because its configuration points at it) passes behind the ALB or a
function URL and fails behind any asynchronous trigger; code that cannot charge may run
asynchronously whatever it is called."""

from __future__ import annotations

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICY = "payment-work-require-synchronous"
HINTS = ("payment-request-events-disallow", "payment-request-queues-disallow")

HELPERS = '''
stripe_key = aws.secretsmanager.Secret("stripe-api-key")


def function(logical, handler="app.handler", reads_key=False, **extra):
    name = logical
    role = aws.iam.Role(name, assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    if reads_key:
        aws.iam.RolePolicy(f"{name}-key", role=role.id, policy=stripe_key.arn.apply(lambda arn: json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": arn,
                                                    "Action": "secretsmanager:GetSecretValue"}]})))
    return aws.lambda_.Function(name, role=role.arn, runtime="python3.12", handler=handler,
                                code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}), **extra)


def queue_with_dlq(name, **extra):
    dlq = aws.sqs.Queue(f"{name}-dlq")
    return aws.sqs.Queue(name, redrive_policy=dlq.arn.apply(
        lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})), **extra)
'''

GOOD = HELPERS + '''
# the charge happens behind the ALB (a Lambda target) and a function URL: synchronous callers
charge = function("checkout", reads_key=True)
group = aws.lb.TargetGroup("checkout", target_type="lambda")
aws.lambda_.Permission("checkout-from-alb", action="lambda:InvokeFunction", function=charge.name,
                       principal="elasticloadbalancing.amazonaws.com", source_arn=group.arn)
aws.lb.TargetGroupAttachment("checkout", target_group_arn=group.arn, target_id=charge.arn)
quote = function("quote", environment={"variables": {"STRIPE_SECRET_ARN": stripe_key.arn}})
aws.lambda_.FunctionUrl("quote", function_name=quote.name, authorization_type="AWS_IAM")

# work after the charge is asynchronous, and fine, whatever it is called: it cannot charge
receipts = queue_with_dlq("payment-receipts")
send_receipt = function("send-payment-receipt", "shop.payments.send_receipt.handler",
                        tags={"workload": "billing"})
aws.lambda_.EventSourceMapping("send-payment-receipt", event_source_arn=receipts.arn,
                               function_name=send_receipt.arn)
bus = aws.cloudwatch.EventBus("orders")
rule = aws.cloudwatch.EventRule("order-placed", event_bus_name=bus.name, event_pattern=json.dumps({
    "source": ["ecommerce.orders"], "detail-type": ["order.placed"],
    "detail": {"payment": {"status": ["succeeded"]}}}))
aws.sns.Topic("payment-receipts")
'''

ASYNC_WORK = {
    "queue consumer whose role reads the provider's key": ('''
worker = function("worker", reads_key=True)
queue = queue_with_dlq("orders-to-settle")
aws.lambda_.EventSourceMapping("worker", event_source_arn=queue.arn, function_name=worker.arn)
''', "worker"),
    "topic subscriber whose environment names the key": ('''
settle = function("settle", environment={"variables": {"PSP_KEY_ARN": stripe_key.arn}})
topic = aws.sns.Topic("orders")
aws.sns.TopicSubscription("settle", topic=topic.arn, protocol="lambda", endpoint=settle.arn)
''', "settle"),
    "EventBridge target holding the provider's key itself": ('''
nightly = function("nightly", environment={"variables": {"KEY": "sk_live_51HzQ2rExampleExampleExample"}})
rule = aws.cloudwatch.EventRule("nightly", schedule_expression="cron(0 3 * * ? *)")
aws.cloudwatch.EventTarget("nightly", rule=rule.name, arn=nightly.arn)
''', "nightly"),
    "Step Functions state machine": ('''
step = function("charge-step", reads_key=True)
sfn_role = aws.iam.Role("flow-role", assume_role_policy="{}")
aws.sfn.StateMachine("order-flow", role_arn=sfn_role.arn, definition=pulumi.Output.json_dumps({
    "StartAt": "Charge", "States": {"Charge": {"Type": "Task", "Resource": step.arn, "End": True}}}))
''', "charge-step"),
    "invoke permission for EventBridge": ('''
handler = function("handler", reads_key=True)
aws.lambda_.Permission("from-events", action="lambda:InvokeFunction", function=handler.name,
                       principal="events.amazonaws.com")
''', "handler"),
    "Kinesis stream consumer": ('''
stream = aws.kinesis.Stream("order-events", shard_count=1, encryption_type="KMS",
                            kms_key_id="alias/aws/kinesis")
processor = function("processor", reads_key=True)
aws.lambda_.EventSourceMapping("processor", event_source_arn=stream.arn, function_name=processor.arn,
                               starting_position="LATEST")
''', "processor"),
    "mapping to an alias of the function": ('''
worker = function("worker", reads_key=True)
live = aws.lambda_.Alias("live", function_name=worker.name, function_version="$LATEST")
queue = queue_with_dlq("jobs")
aws.lambda_.EventSourceMapping("jobs", event_source_arn=queue.arn, function_name=live.arn)
''', "worker"),
    "mapping by a literal function name": ('''
worker = function("worker", reads_key=True, name="worker-fn")
queue = queue_with_dlq("jobs")
aws.lambda_.EventSourceMapping("jobs", event_source_arn=queue.arn, function_name="worker-fn")
''', "worker"),
    "S3 event notification": ('''
uploads = aws.s3.BucketV2("statements")
importer = function("importer", reads_key=True)
aws.s3.BucketNotification("statements", bucket=uploads.id, lambda_functions=[
    {"lambda_function_arn": importer.arn, "events": ["s3:ObjectCreated:*"]}])
''', "importer"),
    "asynchronous invocation configuration": ('''
retrying = function("retrying", reads_key=True)
aws.lambda_.FunctionEventInvokeConfig("retrying", function_name=retrying.name, maximum_retry_attempts=2)
''', "retrying"),
    "log subscription filter": ('''
watcher = function("watcher", reads_key=True)
logs = aws.cloudwatch.LogGroup("orders", retention_in_days=30)
aws.cloudwatch.LogSubscriptionFilter("watcher", log_group=logs.name, filter_pattern="ERROR",
                                     destination_arn=watcher.arn)
''', "watcher"),
    "EventBridge schedule": ('''
job = function("job", reads_key=True)
dlq = aws.sqs.Queue("job-dlq")
aws.scheduler.Schedule("job", schedule_expression="rate(5 minutes)", flexible_time_window={"mode": "OFF"},
                       target={"arn": job.arn, "role_arn": "arn:aws:iam::123456789012:role/scheduler",
                               "dead_letter_config": {"arn": dlq.arn}})
''', "job"),
    "Batch job that injects the provider's key": ('''
aws.batch.JobDefinition("settlement", type="container", container_properties=json.dumps({
    "image": "settlement:1", "command": ["settle"], "resourceRequirements": [
        {"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
    "secrets": [{"name": "PSP_KEY",
                 "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-live-AbCdEf"}]}))
''', "settlement"),
    "ECS service polling a queue": ('''
task_role = aws.iam.Role("billing-task", assume_role_policy="{}")
queue = queue_with_dlq("jobs")
aws.iam.RolePolicy("billing-task", role=task_role.id, policy=queue.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:ReceiveMessage",
    "sqs:DeleteMessage"], "Resource": arn}]})))
task = aws.ecs.TaskDefinition("billing", family="billing", task_role_arn=task_role.arn,
                              requires_compatibilities=["FARGATE"], network_mode="awsvpc", cpu="256",
                              memory="512",
                              container_definitions=stripe_key.arn.apply(lambda arn: json.dumps([
                                  {"name": "billing", "image": "billing:1", "essential": True,
                                   "secrets": [{"name": "PSP_KEY", "valueFrom": arn}]}])))
aws.ecs.Service("jobs-runner", cluster="shop", task_definition=task.arn, launch_type="FARGATE",
                desired_count=2)
''', "jobs-runner"),
}

DECIDED_AT_UPDATE = {"ECS service polling a queue"}


def test_synchronous_payments_and_async_work_that_cannot_charge_pass(program: Program, analyze: Analyze,
                                                                      preview: bool) -> None:
    # GIVEN code holding the provider's key behind the ALB and a function URL, and asynchronous work
    # named after payments (receipts, a billing tag) that has no access to the key
    report = analyze(program(GOOD, preview=preview))

    # THEN nothing is reported: a name is no evidence of payment work
    assert [v for p in (POLICY, *HINTS) for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", ASYNC_WORK)
def test_code_that_can_charge_behind_an_asynchronous_trigger_fails(case: str, program: Program,
                                                                   analyze: Analyze, preview: bool) -> None:
    # GIVEN code that can read the payment provider's key, run by an asynchronous trigger
    source, workload = ASYNC_WORK[case]

    # WHEN the pack analyzes it
    report = analyze(program(HELPERS + source, preview=preview))

    # THEN the stack policy names the payment workload, at mandatory level, and says why
    violation = the_violation(report, POLICY, workload)
    assert violation.level == "mandatory"
    if case in DECIDED_AT_UPDATE and preview:
        # the task role's document is computed from the queue's ARN: the policy says so, at its level
        assert "cannot be verified during preview" in violation.message
    else:
        assert "asynchronous" in violation.message or "polls a queue" in violation.message
        assert "secret" in violation.message or "the provider's key itself" in violation.message


CONFIGURED = '''
charging = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/psp-key-AbCdEf"
lookup = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/stripe-read-key-GhIjKl"


def job(name, secret_arn):
    role = aws.iam.Role(name, assume_role_policy="{}")
    aws.iam.RolePolicy(name, role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}]}))
    function = aws.lambda_.Function(name, role=role.arn, runtime="python3.12", handler="app.handler",
                                    code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}))
    aws.lambda_.Permission(name, action="lambda:InvokeFunction", function=function.name,
                           principal="scheduler.amazonaws.com")


job("reconcile", lookup)
job("settle", charging)
'''


def test_the_stack_config_names_the_charging_key(program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN the stack config names the charging key, and two scheduled jobs: one reads a restricted
    # read-only key (named after the provider), the other the charging key (named after nothing)
    snapshot = program(CONFIGURED, preview=preview, config={
        "ecommerce:paymentSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/psp-key-*"})

    # WHEN the pack analyzes it
    report = analyze(snapshot)

    # THEN the configured key decides, not the names: only the job that can charge fails
    assert {v.resource_name for v in violations_of(report, POLICY)} == {"settle"}


REQUEST_EVENTS = {
    "rule matching payment requests": ('''
aws.cloudwatch.EventRule("to-payments", event_pattern=json.dumps({
    "source": ["ecommerce.orders"], "detail-type": ["payment.requested"]}))
''', "to-payments"),
    "pipe filtering charge commands": ('''
role = aws.iam.Role("pipe-role", assume_role_policy="{}")
source = aws.sqs.Queue("commands")
target = aws.sqs.Queue("out")
aws.pipes.Pipe("charges", role_arn=role.arn, source=source.arn, target=target.arn, source_parameters={
    "filter_criteria": {"filters": [{"pattern": json.dumps({"body": {"type": ["ChargeCustomer"]}})}]}})
''', "charges"),
}

REQUEST_CHANNELS = {
    "queue of payment requests": ('aws.sqs.Queue("payment-requests")', "payment-requests"),
    "queue tagged for billing": ('aws.sqs.Queue("jobs", tags={"workload": "billing"})', "jobs"),
    "topic of charge requests": ('aws.sns.Topic("charge-requests")', "charge-requests"),
}


@pytest.mark.parametrize("case", REQUEST_EVENTS)
def test_routing_payment_requests_through_eventbridge_is_advised_against(
        case: str, program: Program, analyze: Analyze, preview: bool) -> None:
    source, rule = REQUEST_EVENTS[case]
    report = analyze(program(source, preview=preview))
    assert the_violation(report, "payment-request-events-disallow", rule).level == "advisory"


@pytest.mark.parametrize("case", REQUEST_CHANNELS)
def test_queues_and_topics_named_for_payment_requests_are_advised_against(
        case: str, program: Program, analyze: Analyze, preview: bool) -> None:
    source, channel = REQUEST_CHANNELS[case]
    report = analyze(program(source, preview=preview))
    assert the_violation(report, "payment-request-queues-disallow", channel).level == "advisory"
