"""Encryption at rest and in transit (PCI DSS v4.0 Req 3.5, 4.2.1): encrypted stores and TLS 1.2+
pass; each store or hop left in clear text fails and is named."""

from __future__ import annotations

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICIES = ("storage-require-encryption-at-rest", "alb-listener-require-tls",
            "cloudfront-distribution-require-tls", "datastore-require-encryption-in-transit")

HELPERS = '''
key = aws.kms.Key("data", enable_key_rotation=True)


def distribution(name, viewer="redirect-to-https", certificate=None, origin_policy="https-only",
                 origin_protocols=("TLSv1.2",)):
    certificate = certificate or {
        "acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
        "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"}
    return aws.cloudfront.Distribution(
        name, enabled=True, web_acl_id="arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/1",
        origins=[{"domain_name": "origin.shop.example.com", "origin_id": "alb", "custom_origin_config": {
            "http_port": 80, "https_port": 443, "origin_protocol_policy": origin_policy,
            "origin_ssl_protocols": list(origin_protocols)}}],
        default_cache_behavior={"allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                "target_origin_id": "alb", "viewer_protocol_policy": viewer,
                                "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        restrictions={"geo_restriction": {"restriction_type": "none"}}, viewer_certificate=certificate)


balancer = aws.lb.LoadBalancer("web", load_balancer_type="application",
                               subnets=["subnet-0a", "subnet-0b"])
target = aws.lb.TargetGroup("web", port=8080, protocol="HTTP", target_type="ip", vpc_id="vpc-1")


def listener(name, protocol, actions, ssl_policy=None):
    extra = {}
    if protocol == "HTTPS":
        extra["certificate_arn"] = "arn:aws:acm:us-east-1:123456789012:certificate/y"
        if ssl_policy:
            extra["ssl_policy"] = ssl_policy
    return aws.lb.Listener(name, load_balancer_arn=balancer.arn, port=443 if protocol == "HTTPS" else 80,
                           protocol=protocol, default_actions=actions, **extra)


FORWARD = [{"type": "forward", "target_group_arn": target.arn}]
REDIRECT = [{"type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}]
'''

GOOD = HELPERS + '''
aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop",
                manage_master_user_password=True, storage_encrypted=True, kms_key_id=key.arn,
                db_cluster_parameter_group_name=aws.rds.ClusterParameterGroup(
                    "orders", family="aurora-postgresql16",
                    parameters=[{"name": "rds.force_ssl", "value": "1"}]).name)
aws.rds.Instance("reports", engine="mysql", instance_class="db.t4g.medium", allocated_storage=20,
                 username="shop", manage_master_user_password=True, storage_encrypted=True, multi_az=True,
                 parameter_group_name=aws.rds.ParameterGroup(
                     "reports", family="mysql8.0",
                     parameters=[{"name": "require_secure_transport", "value": "ON"}]).name)
aws.docdb.Cluster("docs", master_username="shop", manage_master_user_password=True, storage_encrypted=True)
aws.neptune.Cluster("graph", storage_encrypted=True)
aws.elasticache.ReplicationGroup("cache", description="hot reads", engine="valkey",
                                 node_type="cache.r7g.large", num_cache_clusters=2, multi_az_enabled=True,
                                 automatic_failover_enabled=True, at_rest_encryption_enabled=True,
                                 kms_key_id=key.arn,
                                 transit_encryption_enabled=True)
aws.opensearch.Domain("search", encrypt_at_rest={"enabled": True, "kms_key_id": key.arn},
                      node_to_node_encryption={"enabled": True},
                      domain_endpoint_options={"enforce_https": True,
                                               "tls_security_policy": "Policy-Min-TLS-1-2-2019-07"})
aws.efs.FileSystem("uploads", encrypted=True)
aws.dynamodb.Table("carts", billing_mode="PAY_PER_REQUEST", hash_key="cart_id",
                   attributes=[{"name": "cart_id", "type": "S"}])
aws.sns.Topic("alarms", kms_master_key_id=key.arn)
aws.cloudwatch.LogGroup("app", retention_in_days=90, kms_key_id=key.arn)
aws.kinesis.Stream("clicks", shard_count=1, encryption_type="KMS", kms_key_id="alias/aws/kinesis")
aws.sqs.Queue("managed-sse", sqs_managed_sse_enabled=True)
aws.sqs.Queue("kms", kms_master_key_id=key.arn)
bucket = aws.s3.Bucket("assets")
aws.s3.BucketServerSideEncryptionConfiguration("assets", bucket=bucket.id, rules=[
    {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
distribution("edge")
https = listener("https", "HTTPS", FORWARD, ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06")
http = listener("http", "HTTP", REDIRECT)
aws.lb.ListenerRule("api", listener_arn=https.arn, actions=FORWARD,
                    conditions=[{"path_pattern": {"values": ["/api/*"]}}])
'''

AT_REST = {
    "aurora cluster": ('aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop", '
                       'manage_master_user_password=True)', "orders"),
    "rds instance": ('aws.rds.Instance("reports", engine="postgres", instance_class="db.t4g.medium", '
                     'allocated_storage=20, username="shop", manage_master_user_password=True)', "reports"),
    "documentdb cluster": ('aws.docdb.Cluster("docs", master_username="shop", '
                           'manage_master_user_password=True)', "docs"),
    "valkey with at-rest encryption off": (
        'aws.elasticache.ReplicationGroup("cache", description="x", engine="valkey", '
        'node_type="cache.r7g.large", num_cache_clusters=2, at_rest_encryption_enabled=False)', "cache"),
    "search domain": ('aws.opensearch.Domain("search", encrypt_at_rest={"enabled": False})', "search"),
    "file system": ('aws.efs.FileSystem("uploads")', "uploads"),
    "stream": ('aws.kinesis.Stream("clicks", shard_count=1)', "clicks"),
    "queue with SSE-SQS turned off": ('aws.sqs.Queue("jobs", sqs_managed_sse_enabled=False)', "jobs"),
    "redis replication group": ('aws.elasticache.ReplicationGroup("cache", description="x", engine="redis", '
                                'node_type="cache.r7g.large", num_cache_clusters=2)', "cache"),
    "EBS volume": ('aws.ebs.Volume("scratch", availability_zone="us-east-1a", size=100)', "scratch"),
    "DAX cluster": ('aws.dax.Cluster("accelerator", cluster_name="accelerator", node_type="dax.r5.large", '
                    'replication_factor=3, iam_role_arn="arn:aws:iam::123456789012:role/dax")',
                    "accelerator"),
}
# AWS encrypts these at rest whatever the program says (or the default it leaves encrypts them)
ALWAYS_ENCRYPTED = HELPERS + '''
aws.sns.Topic("alarms")
aws.cloudwatch.LogGroup("app", retention_in_days=90)
aws.dynamodb.Table("carts", billing_mode="PAY_PER_REQUEST", hash_key="id",
                   attributes=[{"name": "id", "type": "S"}])
aws.s3.BucketV2("assets")
aws.secretsmanager.Secret("api-key")
aws.sqs.Queue("jobs")
aws.elasticache.ReplicationGroup("sessions", description="x", engine="valkey", node_type="cache.r7g.large",
                                 num_cache_clusters=2, multi_az_enabled=True, automatic_failover_enabled=True,
                                 transit_encryption_enabled=True)
aws.ebs.EncryptionByDefault("account", enabled=True)
aws.ebs.Volume("scratch", availability_zone="us-east-1a", size=100)
'''

IN_TRANSIT = {
    "HTTP listener that forwards": ('listener("http", "HTTP", FORWARD)', "alb-listener-require-tls", "http"),
    "HTTPS listener with a TLS 1.0 policy": (
        'listener("https", "HTTPS", FORWARD, ssl_policy="ELBSecurityPolicy-2016-08")',
        "alb-listener-require-tls", "https"),
    "HTTPS listener with the default policy": ('listener("https", "HTTPS", FORWARD)',
                                               "alb-listener-require-tls", "https"),
    "HTTP listener of a load balancer outside the stack": (
        'aws.lb.Listener("http", port=80, protocol="HTTP", default_actions=FORWARD, '
        'load_balancer_arn="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1")',
        "alb-listener-require-tls", "http"),
    "rule forwarding on the HTTP listener": ('''
http = listener("http", "HTTP", REDIRECT)
aws.lb.ListenerRule("api", listener_arn=http.arn, actions=FORWARD,
                    conditions=[{"path_pattern": {"values": ["/api/*"]}}])
''', "alb-listener-require-tls", "api"),
    "CloudFront allowing HTTP": ('distribution("edge", viewer="allow-all")',
                                 "cloudfront-distribution-require-tls", "edge"),
    "CloudFront on the default certificate": (
        'distribution("edge", certificate={"cloudfront_default_certificate": True})',
        "cloudfront-distribution-require-tls", "edge"),
    "CloudFront with TLSv1.2_2019": (
        'distribution("edge", certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:1:certificate/x", '
        '"ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2019"})',
        "cloudfront-distribution-require-tls", "edge"),
    "CloudFront reaching the origin over HTTP": ('distribution("edge", origin_policy="http-only")',
                                                 "cloudfront-distribution-require-tls", "edge"),
    "CloudFront offering the origin TLSv1": (
        'distribution("edge", origin_protocols=("TLSv1", "TLSv1.2"))',
        "cloudfront-distribution-require-tls", "edge"),
    "Aurora on the default parameter group": (
        'aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop", '
        'manage_master_user_password=True, storage_encrypted=True)',
        "datastore-require-encryption-in-transit", "orders"),
    "PostgreSQL with force_ssl off": ('''
group = aws.rds.ParameterGroup("reports", family="postgres16",
                               parameters=[{"name": "rds.force_ssl", "value": "0"}])
aws.rds.Instance("reports", engine="postgres", instance_class="db.t4g.medium", allocated_storage=20,
                 username="shop", manage_master_user_password=True, storage_encrypted=True,
                 parameter_group_name=group.name)
''', "datastore-require-encryption-in-transit", "reports"),
    "cache without transit encryption": (
        'aws.elasticache.ReplicationGroup("cache", description="x", engine="valkey", '
        'node_type="cache.r7g.large", num_cache_clusters=2, at_rest_encryption_enabled=True)',
        "datastore-require-encryption-in-transit", "cache"),
    "search domain without enforced HTTPS": (
        'aws.opensearch.Domain("search", encrypt_at_rest={"enabled": True}, '
        'node_to_node_encryption={"enabled": True})',
        "datastore-require-encryption-in-transit", "search"),
}


def test_encrypted_stores_and_tls_everywhere_pass(program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN every kind of store encrypted at rest and every hop on TLS 1.2+
    report = analyze(program(GOOD, preview=preview))

    # THEN no encryption policy objects (KMS key ARNs unknown in preview count as keys)
    assert [v for p in POLICIES for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", AT_REST)
def test_stores_not_encrypted_at_rest_fail(case: str, program: Program, analyze: Analyze,
                                            preview: bool) -> None:
    source, store = AT_REST[case]
    report = analyze(program(HELPERS + source, preview=preview))
    violation = the_violation(report, "storage-require-encryption-at-rest", store)
    assert violation.level == "mandatory" and "unencrypted at rest" in violation.message


def test_stores_that_aws_always_encrypts_pass_without_a_setting(program: Program, analyze: Analyze,
                                                                 preview: bool) -> None:
    # GIVEN log groups, topics, tables, buckets, secrets, SQS, Valkey and EBS-by-default left as is
    report = analyze(program(ALWAYS_ENCRYPTED, preview=preview))

    # THEN no claim "not encrypted at rest" is made about them (they are)
    assert violations_of(report, "storage-require-encryption-at-rest") == []
    assert report.cannot_run == ()


def test_an_internal_load_balancer_may_speak_http_inside_the_vpc(program: Program, analyze: Analyze,
                                                                  preview: bool) -> None:
    source = HELPERS + '''
internal = aws.lb.LoadBalancer("internal", internal=True, load_balancer_type="application",
                               subnets=["subnet-0a", "subnet-0b"])
aws.lb.Listener("internal-http", load_balancer_arn=internal.arn, port=80, protocol="HTTP",
                default_actions=FORWARD)
network = aws.lb.LoadBalancer("tcp", load_balancer_type="network", subnets=["subnet-0a", "subnet-0b"])
aws.lb.Listener("tcp-443", load_balancer_arn=network.arn, port=443, default_actions=FORWARD)
'''
    report = analyze(program(source, preview=preview))
    assert violations_of(report, "alb-listener-require-tls") == []


@pytest.mark.parametrize("case", IN_TRANSIT)
def test_clear_text_hops_fail(case: str, program: Program, analyze: Analyze, preview: bool) -> None:
    source, policy, resource = IN_TRANSIT[case]
    report = analyze(program(HELPERS + source, preview=preview))
    assert the_violation(report, policy, resource).level == "mandatory"


CUSTOMER_DATA = HELPERS + '''
aws.sns.Topic("alarms", kms_master_key_id="alias/aws/sns")
aws.dynamodb.Table("carts", billing_mode="PAY_PER_REQUEST", hash_key="id",
                   attributes=[{"name": "id", "type": "S"}], tags={"data-classification": "pii"})
aws.dynamodb.Table("orders", billing_mode="PAY_PER_REQUEST", hash_key="id",
                   attributes=[{"name": "id", "type": "S"}],
                   server_side_encryption={"enabled": True, "kms_key_arn": key.arn})
bucket = aws.s3.Bucket("exports")
aws.s3.BucketServerSideEncryptionConfiguration("exports", bucket=bucket.id, rules=[
    {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])
'''
CMK = "storage-require-customer-managed-key"


def test_customer_managed_keys_are_advisory_and_for_customer_data_by_default(
        program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN a topic on the AWS-managed key, a table of PII on an AWS-owned key, a bucket on SSE-S3,
    # and a table on a customer-managed key
    report = analyze(program(CUSTOMER_DATA, preview=preview))

    # THEN by default only the store tagged as customer data is flagged, as advice
    found = violations_of(report, CMK)
    assert {v.resource_name for v in found} == {"carts"}
    assert {v.level for v in found} == {"advisory"}
    assert violations_of(report, "storage-require-encryption-at-rest") == []


def test_every_store_without_a_customer_managed_key_is_named_with_scope_all(program: Program,
                                                                             analyze: Analyze) -> None:
    report = analyze(program(CUSTOMER_DATA, preview=False), {CMK: {"scope": "all"}})
    assert {v.resource_name for v in violations_of(report, CMK)} == {"alarms", "carts", "exports"}


def test_customer_managed_keys_can_be_mandatory_for_customer_data_only(program: Program,
                                                                       analyze: Analyze) -> None:
    snapshot = program(CUSTOMER_DATA, preview=False)

    # WHEN the policy is raised to mandatory and scoped to customer data (a tag, or a name pattern)
    report = analyze(snapshot, {CMK: {"enforcementLevel": "mandatory", "scope": "customer-data",
                                      "customerDataResources": ["export*"]}})

    # THEN only the tagged table and the named bucket block; the alarm topic holds no customer data
    found = violations_of(report, CMK)
    assert {v.resource_name for v in found} == {"carts", "exports"}
    assert {v.level for v in found} == {"mandatory"}
