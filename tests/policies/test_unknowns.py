"""During preview a mandatory policy never becomes the SDK's advisory "can't run policy": it decides
from what is known, or reports at its own level that the answer waits for a computed value."""

from __future__ import annotations

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

COMPUTED_FAILOVER = '''
key = aws.kms.Key("cache")
aws.elasticache.ReplicationGroup("cache", description="hot reads", engine="valkey",
                                 node_type="cache.r7g.large",
                                 num_cache_clusters=2, multi_az_enabled=key.arn.apply(lambda _: True),
                                 automatic_failover_enabled=True)
'''

COMPUTED_ZONES = '''
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
orders = aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop",
                         manage_master_user_password=True, storage_encrypted=True)
for index, zone in enumerate(["us-east-1a", "us-east-1b"]):
    aws.rds.ClusterInstance(f"orders-{index}", cluster_identifier=orders.id, engine="aurora-postgresql",
                            instance_class="db.r6g.large",
                            availability_zone=vpc.id.apply(lambda _, zone=zone: zone))
'''

PRESENCE_IS_ENOUGH = '''
key = aws.kms.Key("data")
dlq = aws.sqs.Queue("jobs-dlq", kms_master_key_id=key.arn)
aws.sqs.Queue("jobs", kms_master_key_id=key.arn, redrive_policy=dlq.arn.apply(
    lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
aws.cloudwatch.LogGroup("app", retention_in_days=30, kms_key_id=key.arn)
acl = aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True})
'''


def test_a_computed_deciding_value_is_reported_at_the_policys_own_level(program: Program,
                                                                        analyze: Analyze) -> None:
    # GIVEN a replication group whose Multi-AZ flag is computed by another resource
    in_preview = analyze(program(COMPUTED_FAILOVER, preview=True))
    in_update = analyze(program(COMPUTED_FAILOVER, preview=False))

    # THEN the preview is blocked with a policy-specific message (not an advisory "can't run") ...
    violation = the_violation(in_preview, "cache-require-multi-az", "cache")
    assert violation.level == "mandatory"
    assert "cannot be verified during preview because a Multi-AZ setting is computed" in violation.message
    assert in_preview.cannot_run == ()
    # ... and the update, where the value is known, decides it
    assert violations_of(in_update, "cache-require-multi-az") == []


def test_a_stack_policy_says_which_value_it_waits_for(program: Program, analyze: Analyze) -> None:
    # GIVEN Aurora instances whose AZs are computed
    in_preview = analyze(program(COMPUTED_ZONES, preview=True))
    in_update = analyze(program(COMPUTED_ZONES, preview=False))

    violation = the_violation(in_preview, "database-cluster-require-multi-az", "orders")
    assert violation.level == "mandatory" and "availability_zone of its instances" in violation.message
    assert violations_of(in_update, "database-cluster-require-multi-az") == []


def test_computed_arns_count_where_presence_decides(program: Program, analyze: Analyze) -> None:
    # GIVEN a KMS key, a DLQ and a web ACL referenced by ARNs that are unknown during preview
    report = analyze(program(PRESENCE_IS_ENOUGH, preview=True))

    # THEN encryption and redrive are decided from the properties' presence: nothing to report
    for policy in ("storage-require-encryption-at-rest", "sqs-queue-require-dlq"):
        assert violations_of(report, policy) == []
    assert report.cannot_run == ()
