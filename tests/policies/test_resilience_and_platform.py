"""Async resilience (a DLQ for every queue, target and mapping), ECS rather than Kubernetes, and no
hand-written CloudFormation: compliant programs pass, each anti-pattern fails and is named."""

from __future__ import annotations

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICIES = ("sqs-queue-require-dlq", "event-target-require-dlq",
            "event-source-mapping-require-failure-handling",
            "eks-disallow", "cloudformation-stack-disallow-templates")

HELPERS = '''
role = aws.iam.Role("consumer", assume_role_policy="{}")


def consumer(name):
    return aws.lambda_.Function(name, role=role.arn, runtime="python3.12", handler="shop.consumers.handler",
                                code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}))


def redrive(dlq):
    return dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5}))
'''

GOOD = HELPERS + '''
bus = aws.cloudwatch.EventBus("orders")
rule = aws.cloudwatch.EventRule("order-placed", event_bus_name=bus.name,
                                event_pattern=json.dumps({"detail-type": ["order.placed"]}))
fulfillment_dlq = aws.sqs.Queue("fulfillment-dlq", sqs_managed_sse_enabled=True)
fulfillment = aws.sqs.Queue("fulfillment", sqs_managed_sse_enabled=True,
                            redrive_policy=redrive(fulfillment_dlq))
delivery_dlq = aws.sqs.Queue("delivery-dlq", sqs_managed_sse_enabled=True)
aws.cloudwatch.EventTarget("fulfillment", rule=rule.name, event_bus_name=bus.name, arn=fulfillment.arn,
                           dead_letter_config={"arn": delivery_dlq.arn},
                           retry_policy={"maximum_retry_attempts": 10, "maximum_event_age_in_seconds": 3600})
aws.lambda_.EventSourceMapping("fulfillment", event_source_arn=fulfillment.arn,
                               function_name=consumer("fulfillment").arn,
                               function_response_types=["ReportBatchItemFailures"])
email_dlq = aws.sqs.Queue("email-dlq", sqs_managed_sse_enabled=True)
email = aws.sqs.Queue("email", sqs_managed_sse_enabled=True)
aws.sqs.RedrivePolicy("email", queue_url=email.id, redrive_policy=redrive(email_dlq))
stream = aws.kinesis.Stream("clicks", shard_count=1, encryption_type="KMS", kms_key_id="alias/aws/kinesis")
failures = aws.sqs.Queue("clicks-failures", sqs_managed_sse_enabled=True)
aws.lambda_.EventSourceMapping("clicks", event_source_arn=stream.arn, function_name=consumer("clicks").arn,
                               starting_position="LATEST",
                               destination_config={"on_failure": {"destination_arn": failures.arn}})
scheduler_role = aws.iam.Role("scheduler", assume_role_policy="{}")
aws.scheduler.Schedule("nightly", schedule_expression="cron(0 3 * * ? *)",
                       flexible_time_window={"mode": "OFF"},
                       target={"arn": consumer("nightly").arn, "role_arn": scheduler_role.arn,
                               "dead_letter_config": {"arn": delivery_dlq.arn}})
cluster = aws.ecs.Cluster("shop")
aws.s3.Bucket("templates")
'''

BAD = {
    "queue without a DLQ": ('aws.sqs.Queue("jobs", sqs_managed_sse_enabled=True)', "sqs-queue-require-dlq",
                            "jobs"),
    "rule target without a DLQ": ('''
rule = aws.cloudwatch.EventRule("order-placed", event_pattern=json.dumps({"detail-type": ["order.placed"]}))
aws.cloudwatch.EventTarget("email", rule=rule.name, arn=consumer("email").arn)
''', "event-target-require-dlq", "email"),
    "schedule without a DLQ": ('''
scheduler_role = aws.iam.Role("scheduler", assume_role_policy="{}")
aws.scheduler.Schedule("nightly", schedule_expression="rate(1 day)", flexible_time_window={"mode": "OFF"},
                       target={"arn": consumer("nightly").arn, "role_arn": scheduler_role.arn})
''', "event-target-require-dlq", "nightly"),
    "mapping from a queue without a DLQ": ('''
queue = aws.sqs.Queue("email", sqs_managed_sse_enabled=True)
aws.lambda_.EventSourceMapping("email", event_source_arn=queue.arn, function_name=consumer("email").arn)
''', "event-source-mapping-require-failure-handling", "email"),
    "stream mapping without an on-failure destination": ('''
stream = aws.kinesis.Stream("clicks", shard_count=1, encryption_type="KMS", kms_key_id="alias/aws/kinesis")
aws.lambda_.EventSourceMapping("clicks", event_source_arn=stream.arn, function_name=consumer("clicks").arn,
                               starting_position="LATEST")
''', "event-source-mapping-require-failure-handling", "clicks"),
    "mapping from a queue of another stack": ('''
aws.lambda_.EventSourceMapping("legacy", event_source_arn="arn:aws:sqs:us-east-1:123456789012:legacy",
                               function_name=consumer("legacy").arn)
''', "event-source-mapping-require-failure-handling", "legacy"),
    "EKS cluster": ('''
aws.eks.Cluster("shop", role_arn=role.arn, vpc_config={"subnet_ids": ["subnet-0a", "subnet-0b"]})
''', "eks-disallow", "shop"),
    "EKS node group": ('''
aws.eks.NodeGroup("workers", cluster_name="shop", node_role_arn=role.arn, subnet_ids=["subnet-0a"],
                   scaling_config={"desired_size": 2, "max_size": 3, "min_size": 1})
''', "eks-disallow", "workers"),
    "pulumi-eks component": ('pulumi.ComponentResource("eks:index:Cluster", "platform")', "eks-disallow",
                             "platform"),
    "Kubernetes provider": ('pulumi.ProviderResource("kubernetes", "cluster", {"kubeconfig": "{}"})',
                            "eks-disallow", "cluster"),
    "Kubernetes deployment": ('pulumi.CustomResource("kubernetes:apps/v1:Deployment", "storefront", '
                              '{"metadata": {"name": "storefront"}})', "eks-disallow", "storefront"),
    "template body": ('''
aws.cloudformation.Stack("network", template_body=json.dumps({"Resources": {"Vpc": {
    "Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}}}))
''', "cloudformation-stack-disallow-templates", "network"),
}


def test_resilient_async_work_on_ecs_passes(program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN queues with DLQs (inline and as a separate resource), targets and a schedule with DLQs,
    # mappings whose sources have DLQs or on-failure destinations, an ECS cluster, no template
    report = analyze(program(GOOD, preview=preview))

    # THEN none of these policies objects
    assert [v for p in POLICIES for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", BAD)
def test_fragile_async_work_kubernetes_and_templates_fail(case: str, program: Program, analyze: Analyze,
                                                          preview: bool) -> None:
    source, policy, resource = BAD[case]
    report = analyze(program(HELPERS + source, preview=preview))
    assert the_violation(report, policy, resource).level == "mandatory"


def test_the_eks_message_points_to_fargate(program: Program, analyze: Analyze) -> None:
    report = analyze(program(HELPERS + BAD["EKS cluster"][0], preview=True))
    assert "ECS Fargate" in the_violation(report, "eks-disallow", "shop").message


def test_a_vendors_template_by_url_is_not_hand_written(program: Program, analyze: Analyze,
                                                        preview: bool) -> None:
    # GIVEN a vendor's published template (an integration's role), deployed by URL
    source = ('aws.cloudformation.Stack("vendor-integration", capabilities=["CAPABILITY_IAM"], '
              'template_url="https://vendor-templates.s3.amazonaws.com/integration-role.yaml")')

    # THEN it is not reported as a hand-written template
    report = analyze(program(source, preview=preview))
    assert violations_of(report, "cloudformation-stack-disallow-templates") == []
