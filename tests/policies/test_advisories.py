"""The advisory policies warn (and do not block) on the case study's judgement calls: the catalog in
DynamoDB, multi-Region on day one, AWS-native observability past ~20 services, and operability."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICIES = ("dynamodb-catalog-disallow", "multi-region-require-trigger",
            "observability-require-apm-at-scale", "dynamodb-table-require-ttl",
            "datastore-require-deletion-protection", "datastore-require-backups", "dlq-require-alarm",
            "audit-logging-required")

HELPERS = '''
role = aws.iam.Role("fn", assume_role_policy="{}")


def functions(count, variables=None):
    for index in range(count):
        aws.lambda_.Function(f"fn-{index}", role=role.arn, runtime="python3.12", handler="shop.handler",
                             code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}),
                             environment={"variables": variables or {"LOG_LEVEL": "info"}})


def table(name, **extra):
    return aws.dynamodb.Table(name, billing_mode="PAY_PER_REQUEST", hash_key="id",
                              attributes=[{"name": "id", "type": "S"}], **extra)


def regional_stack(provider=None):
    options = pulumi.ResourceOptions(provider=provider) if provider else None
    return aws.sqs.Queue(f"queue-{id(options)}", sqs_managed_sse_enabled=True, opts=options)
'''

GOOD = HELPERS + '''
table("carts", ttl={"attribute_name": "expires_at", "enabled": True}, deletion_protection_enabled=True,
      point_in_time_recovery={"enabled": True})
table("sessions", ttl={"attribute_name": "expires_at", "enabled": True}, deletion_protection_enabled=True,
      point_in_time_recovery={"enabled": True})
aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop",
                manage_master_user_password=True,
                storage_encrypted=True, deletion_protection=True, backup_retention_period=14)
aws.elasticache.ReplicationGroup("cache", description="x", engine="valkey", node_type="cache.r7g.large",
                                 num_cache_clusters=2, snapshot_retention_limit=3)
dlq = aws.sqs.Queue("jobs-dlq", sqs_managed_sse_enabled=True)
aws.sqs.Queue("jobs", sqs_managed_sse_enabled=True, redrive_policy=dlq.arn.apply(
    lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
aws.cloudwatch.MetricAlarm("jobs-dlq", comparison_operator="GreaterThanThreshold", evaluation_periods=1,
                           metric_name="ApproximateNumberOfMessagesVisible", namespace="AWS/SQS", period=60,
                           statistic="Maximum", threshold=0, dimensions={"QueueName": dlq.name})
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
aws.ec2.FlowLog("vpc", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="s3",
                log_destination="arn:aws:s3:::flow-logs")
alb = aws.lb.LoadBalancer("web", load_balancer_type="application", internal=True, subnets=["subnet-0a"],
                          access_logs={"bucket": "alb-logs", "enabled": True})
acl = aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True})
waf_logs = aws.cloudwatch.LogGroup("waf", name="aws-waf-logs-edge", retention_in_days=90)
aws.wafv2.WebAclLoggingConfiguration("edge", resource_arn=acl.arn, log_destination_configs=[waf_logs.arn])
functions(5)
'''

BAD = {
    "catalog in DynamoDB": ('table("products", ttl={"attribute_name": "x", "enabled": False})',
                            "dynamodb-catalog-disallow", "products"),
    "sessions without TTL": ('table("sessions")', "dynamodb-table-require-ttl", "sessions"),
    "database without deletion protection": ('''
aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop",
                manage_master_user_password=True,
                storage_encrypted=True, backup_retention_period=14)
''', "datastore-require-deletion-protection", "orders"),
    "database with one day of backups": ('''
aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop",
                manage_master_user_password=True,
                storage_encrypted=True, deletion_protection=True)
''', "datastore-require-backups", "orders"),
    "table without point-in-time recovery": ('table("carts", deletion_protection_enabled=True)',
                                             "datastore-require-backups", "carts"),
    "DLQ without an alarm": ('''
dlq = aws.sqs.Queue("jobs-dlq", sqs_managed_sse_enabled=True)
aws.sqs.Queue("jobs", sqs_managed_sse_enabled=True, redrive_policy=dlq.arn.apply(
    lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
''', "dlq-require-alarm", "jobs-dlq"),
    "ALB without access logs": ('aws.lb.LoadBalancer("web", internal=True, subnets=["subnet-0a"])',
                                "audit-logging-required", "web"),
    "WAF without logging": ('''
aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True})
''', "audit-logging-required", "edge"),
    "VPC without flow logs": ('aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")', "audit-logging-required",
                              "vpc"),
    "22 functions without an APM": ('functions(22)', "observability-require-apm-at-scale", None),
    "two Regions without a trigger": ('''
regional_stack()
regional_stack(aws.Provider("eu", region="eu-central-1"))
''', "multi-region-require-trigger", None),
}


def test_operable_single_region_stack_gets_no_advice(program: Program, analyze: Analyze,
                                                     preview: bool) -> None:
    # GIVEN per-user tables with TTL, protected and backed-up stores, an alarmed DLQ, logs on, one Region
    report = analyze(program(GOOD, preview=preview))

    # THEN no advisory policy has anything to say
    assert [v for p in POLICIES for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", BAD)
def test_judgement_calls_warn(case: str, program: Program, analyze: Analyze, preview: bool) -> None:
    source, policy, resource = BAD[case]
    report = analyze(program(HELPERS + source, preview=preview))
    violation = the_violation(report, policy, resource)

    # advisory: reported, but the preview is not blocked by it
    assert violation.level == "advisory"
    assert violation not in report.mandatory


def test_an_apm_endpoint_in_the_environment_satisfies_the_apm_advice(program: Program, analyze: Analyze,
                                                                     preview: bool) -> None:
    source = HELPERS + 'functions(22, {"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.apm.example.com"})'
    assert violations_of(analyze(program(source, preview=preview)),
                         "observability-require-apm-at-scale") == []


MULTI_REGION = HELPERS + '''
regional_stack()
regional_stack(aws.Provider("eu", region="eu-central-1"))
'''


@pytest.mark.parametrize("trigger", ["residency-contract", "eu-latency-slo-breach",
                                     "region-outage-cost-case"])
def test_a_named_trigger_justifies_a_second_region(trigger: str, program: Program, analyze: Analyze,
                                                   preview: bool) -> None:
    # GIVEN two Regions and the stack config naming one of the case study's triggers
    snapshot = program(MULTI_REGION, preview=preview, config={"ecommerce:multiRegionTrigger": trigger})

    # THEN the second Region is accepted
    assert violations_of(analyze(snapshot), "multi-region-require-trigger") == []


def test_a_trigger_tag_counts_and_an_unknown_trigger_does_not(program: Program, analyze: Analyze) -> None:
    tagged = MULTI_REGION.replace('region="eu-central-1"', 'region="eu-central-1", default_tags={"tags": '
                                  '{"multi-region-trigger": "residency-contract"}}')
    assert violations_of(analyze(program(tagged, preview=False)), "multi-region-require-trigger") == []

    snapshot = program(MULTI_REGION, preview=False,
                       config={"ecommerce:multiRegionTrigger": "we-might-need-it"})
    violation = the_violation(analyze(snapshot), "multi-region-require-trigger", None)
    assert "'we-might-need-it' is not one of" in violation.message
    assert "eu-central-1 (1)" in violation.message and "us-east-1 (1)" in violation.message


def test_with_no_trigger_keys_configured_the_policy_still_reports(program: Program,
                                                                  analyze: Analyze) -> None:
    # GIVEN a pack configured to look in no config key and no tag for the trigger
    snapshot = program(MULTI_REGION, preview=False, config={"ecommerce:multiRegionTrigger": "x"})
    config: dict[str, Any] = {"multi-region-require-trigger": {"triggerConfigKeys": [],
                                                               "triggerTagKeys": []}}

    # THEN two Regions are still reported, with a fix that says where a trigger could go
    violation = the_violation(analyze(snapshot, policy_config=config),
                              "multi-region-require-trigger", None)
    assert "no trigger is named" in violation.message


def test_cloudfront_companions_in_us_east_1_are_not_a_second_region(program: Program,
                                                                    analyze: Analyze) -> None:
    # GIVEN a stack in eu-central-1 whose CloudFront certificate and web ACL live in us-east-1
    source = HELPERS + '''
edge = aws.Provider("edge", region="us-east-1")
opts = pulumi.ResourceOptions(provider=edge)
aws.acm.Certificate("shop", domain_name="shop.example.com", validation_method="DNS", opts=opts)
aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True}, opts=opts)
aws.cloudwatch.LogGroup("waf", name="aws-waf-logs-edge", retention_in_days=90, opts=opts)
regional_stack()
'''
    snapshot = program(source, preview=False, config={"aws:region": "eu-central-1"})

    # THEN the stack is still single-Region
    assert violations_of(analyze(snapshot), "multi-region-require-trigger") == []
