"""Nothing public but the edge (PCI DSS v4.0 Req 1.3, 1.4, 6.4.2): private buckets and databases,
closed security groups and a WAF in front pass; each opening fails and is named."""

from __future__ import annotations

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICIES = ("s3-bucket-disallow-public-access", "rds-disallow-public-access", "opensearch-domain-require-vpc",
            "security-group-disallow-public-ingress", "cloudfront-distribution-require-waf",
            "alb-require-waf-or-cloudfront-only")

HELPERS = '''
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnet = aws.ec2.Subnet("private-a", vpc_id=vpc.id, cidr_block="10.0.1.0/24", availability_zone="us-east-1a")
CLOUDFRONT_ORIGIN_FACING = "pl-3b927c52"


def private_bucket(name):
    bucket = aws.s3.Bucket(name)
    aws.s3.BucketPublicAccessBlock(name, bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                                   ignore_public_acls=True, restrict_public_buckets=True)
    return bucket


def group(name, ingress=()):
    return aws.ec2.SecurityGroup(name, vpc_id=vpc.id, ingress=list(ingress))


def balancer(name, groups, internal=False):
    return aws.lb.LoadBalancer(name, internal=internal, load_balancer_type="application",
                               subnets=[subnet.id], security_groups=[g.id for g in groups])


def distribution(name, **extra):
    return aws.cloudfront.Distribution(
        name, enabled=True, origins=[{"domain_name": "origin.shop.example.com", "origin_id": "alb",
                                      "custom_origin_config": {"http_port": 80, "https_port": 443,
                                                               "origin_protocol_policy": "https-only",
                                                               "origin_ssl_protocols": ["TLSv1.2"]}}],
        default_cache_behavior={"allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                "target_origin_id": "alb", "viewer_protocol_policy": "redirect-to-https",
                                "cache_policy_id": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        restrictions={"geo_restriction": {"restriction_type": "none"}},
        viewer_certificate={"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
                            "ssl_support_method": "sni-only", "minimum_protocol_version": "TLSv1.2_2021"},
        **extra)


HTTPS_FROM_WORLD = {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}
HTTPS_FROM_CLOUDFRONT = {"protocol": "tcp", "from_port": 443, "to_port": 443,
                         "prefix_list_ids": [CLOUDFRONT_ORIGIN_FACING]}
'''

GOOD = HELPERS + '''
acl = aws.wafv2.WebAcl("edge", scope="CLOUDFRONT", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "edge", "sampled_requests_enabled": True})
edge = distribution("edge", web_acl_id=acl.arn)
assets = private_bucket("assets")
aws.s3.BucketPolicy("assets", bucket=assets.id, policy=pulumi.Output.json_dumps({
    "Version": "2012-10-17", "Statement": [{
        "Sid": "CloudFrontReads", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject", "Resource": pulumi.Output.concat(assets.arn, "/*"),
        "Condition": {"StringEquals": {"AWS:SourceArn": edge.arn}}}, {
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [assets.arn, pulumi.Output.concat(assets.arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
aws.rds.Instance("reports", engine="postgres", instance_class="db.t4g.medium", allocated_storage=20,
                 username="shop", manage_master_user_password=True, publicly_accessible=False)
aws.opensearch.Domain("search", vpc_options={"subnet_ids": [subnet.id]})

# an internet-facing ALB open to the world on 443, protected by a regional WAF web ACL
public_alb_sg = group("public-alb", [HTTPS_FROM_WORLD])
public_alb = balancer("public", [public_alb_sg])
regional = aws.wafv2.WebAcl("regional", scope="REGIONAL", default_action={"allow": {}}, visibility_config={
    "cloudwatch_metrics_enabled": True, "metric_name": "regional", "sampled_requests_enabled": True})
aws.wafv2.WebAclAssociation("public", resource_arn=public_alb.arn, web_acl_arn=regional.arn)

# the shop's origin: an internet-facing ALB that accepts CloudFront only
origin_sg = group("origin-alb", [HTTPS_FROM_CLOUDFRONT])
aws.vpc.SecurityGroupIngressRule("origin-alb-http", security_group_id=origin_sg.id, ip_protocol="tcp",
                                 from_port=80, to_port=80, prefix_list_id=CLOUDFRONT_ORIGIN_FACING)
balancer("origin", [origin_sg])
app = group("app")
aws.vpc.SecurityGroupIngressRule("app-from-alb", security_group_id=app.id, ip_protocol="tcp", from_port=8080,
                                 to_port=8080, referenced_security_group_id=origin_sg.id)
'''

BAD = {
    "bucket blocking three of four": ('''
bucket = aws.s3.Bucket("uploads")
aws.s3.BucketPublicAccessBlock("uploads", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                               ignore_public_acls=True, restrict_public_buckets=False)
''', "s3-bucket-disallow-public-access", "uploads"),
    "bucket with a public-read ACL": ('''
bucket = private_bucket("uploads")
aws.s3.BucketAcl("uploads", bucket=bucket.id, acl="public-read")
''', "s3-bucket-disallow-public-access", "uploads"),
    "bucket policy for any principal": ('''
bucket = private_bucket("uploads")
aws.s3.BucketPolicy("uploads", bucket=bucket.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::uploads/*"}]}))
''', "s3-bucket-disallow-public-access", "uploads"),
    "publicly accessible instance": ('''
aws.rds.Instance("reports", engine="postgres", instance_class="db.t4g.medium", allocated_storage=20,
                 username="shop", manage_master_user_password=True, publicly_accessible=True)
''', "rds-disallow-public-access", "reports"),
    "publicly accessible Aurora instance": ('''
cluster = aws.rds.Cluster("orders", engine="aurora-postgresql", master_username="shop",
                          manage_master_user_password=True)
aws.rds.ClusterInstance("orders-0", cluster_identifier=cluster.id, engine="aurora-postgresql",
                        instance_class="db.r6g.large", publicly_accessible=True)
''', "rds-disallow-public-access", "orders-0"),
    "search domain outside the VPC": ('aws.opensearch.Domain("search")', "opensearch-domain-require-vpc",
                                      "search"),
    "SSH open to the world": ('group("bastion", [{"protocol": "tcp", "from_port": 22, "to_port": 22, '
                              '"cidr_blocks": ["0.0.0.0/0"]}])', "security-group-disallow-public-ingress",
                              "bastion"),
    "PostgreSQL open to IPv6": ('''
database = group("database")
aws.vpc.SecurityGroupIngressRule("database-v6", security_group_id=database.id, ip_protocol="tcp",
                                 from_port=5432, to_port=5432, cidr_ipv6="::/0")
''', "security-group-disallow-public-ingress", "database-v6"),
    "every port open through a rule": ('''
app = group("app")
aws.ec2.SecurityGroupRule("app-all", type="ingress", security_group_id=app.id, protocol="-1", from_port=0,
                          to_port=0, cidr_blocks=["0.0.0.0/0"])
''', "security-group-disallow-public-ingress", "app-all"),
    "443 open on a group of no internet-facing ALB": ('''
internal_sg = group("internal-alb", [HTTPS_FROM_WORLD])
balancer("internal", [internal_sg], internal=True)
''', "security-group-disallow-public-ingress", "internal-alb"),
    "distribution without WAF": ('distribution("edge")', "cloudfront-distribution-require-waf", "edge"),
    "internet-facing ALB open to the world without WAF": ('balancer("public", [group("public-alb", '
                                                          '[HTTPS_FROM_WORLD])])',
                                                          "alb-require-waf-or-cloudfront-only", "public"),
    "internet-facing ALB without a security group": ('''
aws.lb.LoadBalancer("bare", load_balancer_type="application", subnets=[subnet.id])
''', "alb-require-waf-or-cloudfront-only", "bare"),
    "internet-facing NLB open to the world": ('''
aws.lb.LoadBalancer("tcp", load_balancer_type="network", subnets=[subnet.id],
                    security_groups=[group("tcp", [HTTPS_FROM_WORLD]).id])
''', "alb-require-waf-or-cloudfront-only", "tcp"),
    "internet-facing NLB without a security group": ('''
aws.lb.LoadBalancer("tcp", load_balancer_type="network", subnets=[subnet.id])
''', "alb-require-waf-or-cloudfront-only", "tcp"),
    "Classic Load Balancer on the internet": ('''
aws.elb.LoadBalancer("classic", subnets=[subnet.id],
                     security_groups=[group("classic", [HTTPS_FROM_WORLD]).id],
                     listeners=[{"instance_port": 8080, "instance_protocol": "http", "lb_port": 443,
                                 "lb_protocol": "https",
                                 "ssl_certificate_id": "arn:aws:acm:us-east-1:1:certificate/x"}])
''', "alb-require-waf-or-cloudfront-only", "classic"),
}


def test_private_stores_and_protected_entry_points_pass(program: Program, analyze: Analyze,
                                                        preview: bool) -> None:
    # GIVEN private buckets and databases, a WAF-protected ALB and one that accepts CloudFront only
    report = analyze(program(GOOD, preview=preview))

    # THEN no exposure policy objects (the bucket policy is computed in preview: the blocks decide)
    assert [v for p in POLICIES for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


def test_a_bucket_keeps_s3s_default_block_without_a_resource_for_it(program: Program, analyze: Analyze,
                                                                     preview: bool) -> None:
    # GIVEN a bucket with no public access block of its own (S3 blocks public access on new buckets)
    source = HELPERS + 'aws.s3.BucketV2("uploads")'

    # THEN it is not reported as public
    assert violations_of(analyze(program(source, preview=preview)), "s3-bucket-disallow-public-access") == []


def test_an_account_wide_block_keeps_a_setting_on_that_the_bucket_turns_off(
        program: Program, analyze: Analyze, preview: bool) -> None:
    source = HELPERS + '''
aws.s3.AccountPublicAccessBlock("account", block_public_acls=True, block_public_policy=True,
                                ignore_public_acls=True, restrict_public_buckets=True)
bucket = aws.s3.Bucket("uploads")
aws.s3.BucketPublicAccessBlock("uploads", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
                               ignore_public_acls=True, restrict_public_buckets=False)
'''
    assert violations_of(analyze(program(source, preview=preview)), "s3-bucket-disallow-public-access") == []


def test_an_account_wide_public_access_block_covers_every_bucket(program: Program, analyze: Analyze,
                                                                 preview: bool) -> None:
    source = HELPERS + '''
aws.s3.AccountPublicAccessBlock("account", block_public_acls=True, block_public_policy=True,
                                ignore_public_acls=True, restrict_public_buckets=True)
aws.s3.Bucket("uploads")
'''
    assert violations_of(analyze(program(source, preview=preview)), "s3-bucket-disallow-public-access") == []


@pytest.mark.parametrize("case", BAD)
def test_public_exposure_fails(case: str, program: Program, analyze: Analyze, preview: bool) -> None:
    source, policy, resource = BAD[case]
    report = analyze(program(HELPERS + source, preview=preview))
    assert the_violation(report, policy, resource).level == "mandatory"


def test_cloudfront_prefix_lists_can_be_pinned(program: Program, analyze: Analyze) -> None:
    # GIVEN an origin ALB whose group accepts a prefix list
    source = HELPERS + 'balancer("origin", [group("origin-alb", [HTTPS_FROM_CLOUDFRONT])])'
    snapshot = program(source, preview=False)

    # WHEN the policy is told CloudFront's lists are others
    report = analyze(snapshot, {"alb-require-waf-or-cloudfront-only": {
        "cloudfrontPrefixListIds": ["pl-0000"]}})

    # THEN that prefix list no longer counts as CloudFront
    assert "pl-3b927c52 is not CloudFront's" in the_violation(
        report, "alb-require-waf-or-cloudfront-only", "origin").message
    assert violations_of(analyze(snapshot), "alb-require-waf-or-cloudfront-only") == []
