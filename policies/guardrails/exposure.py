"""Nothing public but the edge: private buckets and databases, closed security groups, a WAF in
front of every entry point (case study: CloudFront with WAF fronts everything).

PCI DSS v4.0 Req 1.3/1.4 (network access to and from the cardholder data environment restricted),
Req 6.4.2 (an automated technical solution in front of public-facing web applications), Req 7.2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import Severity

from .common import (
    MANDATORY,
    UNKNOWN,
    Report,
    Res,
    StackGraph,
    as_list,
    is_true,
    is_unknown,
    message,
    number,
    parse_json,
    pci,
    preview_unknown,
    resource_policy,
    snake,
    stack_policy,
    string_list,
)

TAGS = ["pci-dss", "exposure"]
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
BUCKET_ACLS = ("aws:s3/bucketAclV2:BucketAclV2", "aws:s3/bucketAcl:BucketAcl")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACLS = {"public-read", "public-read-write", "authenticated-read"}
PUBLIC_GRANTEES = ("http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
RESTRICTING_CONDITIONS = {"aws:sourcearn", "aws:sourceaccount", "aws:sourcevpce", "aws:sourcevpc",
                          "aws:principalorgid", "aws:principalaccount", "aws:principalarn",
                          "aws:sourceowner", "aws:principalorgpaths", "aws:userid", "aws:sourceip"}
SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
CLASSIC_LOAD_BALANCER = "aws:elb/loadBalancer:LoadBalancer"
WAF_ASSOCIATIONS = ("aws:wafv2/webAclAssociation:WebAclAssociation",
                    "aws:wafregional/webAclAssociation:WebAclAssociation")
WORLD = ("0.0.0.0/0", "::/0")


def public_statements(document: Any) -> list[str]:
    """Sids (or positions) of Allow statements open to every principal without a restriction."""
    parsed = parse_json(document)
    if not isinstance(parsed, Mapping):
        return []
    found = []
    for index, statement in enumerate(as_list(parsed.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if isinstance(principal, Mapping):
            principal = principal.get("AWS")
        if "*" not in as_list(principal):
            continue
        condition = statement.get("Condition")
        keys = {k.lower() for block in (condition.values() if isinstance(condition, Mapping) else [])
                if isinstance(block, Mapping) for k in block}
        if not keys & RESTRICTING_CONDITIONS:
            found.append(str(statement.get("Sid") or f"statement {index}"))
    return found


# ----------------------------------------------------------------------------------------------


def _turned_off(block: Res) -> list[Any]:
    """The settings a public access block turns off (UNKNOWN entries for computed ones)."""
    values = {key: block.props.get(key) for key in BLOCKS}
    return [UNKNOWN if is_unknown(v) else snake(k) for k, v in values.items()
            if is_unknown(v) or v is False or (isinstance(v, str) and v.lower() == "false")]


def _check_buckets(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """No bucket is public, or can be made public by an ACL or a bucket policy.

    Covers: aws:s3/bucket:Bucket, aws:s3/bucketV2:BucketV2, with
    aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock,
    aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock, aws:s3/bucketAclV2:BucketAclV2,
    aws:s3/bucketAcl:BucketAcl and aws:s3/bucketPolicy:BucketPolicy (and the bucket's own `acl`
    and `policy`). A bucket without a public access block of its own is private: S3 turns all four
    settings on for every new bucket (since April 2023); turning one off is the mistake.

    Well-built programs: they keep S3's default block (or set all four settings), grant no ACL to
    AllUsers/AuthenticatedUsers, and allow '*' only under a condition that names the caller
    (CloudFront origin access control's AWS:SourceArn).
    """
    # a setting is in force when the bucket's or the account's block turns it on
    account_on = {snake(k) for b in graph.of_type(ACCOUNT_PUBLIC_ACCESS_BLOCK) for k in BLOCKS
                  if is_true(b.props.get(k))}
    for bucket in graph.of_type(*BUCKETS):
        blocks = graph.referrers(bucket, [PUBLIC_ACCESS_BLOCK], "bucket")
        off = [k for b in blocks for k in _turned_off(b) if is_unknown(k) or k not in account_on]
        if any(is_unknown(k) for k in off):
            report(preview_unknown(bucket, "a public access block setting",
                                   "set the four public access blocks to literal True"), bucket.urn)
        elif off:
            report(message(bucket, f"its public access block turns off {', '.join(sorted(set(off)))}, "
                                   "so an ACL or a bucket policy can make its objects public",
                           "keep all four settings on (block_public_acls, block_public_policy, "
                           "ignore_public_acls, restrict_public_buckets) and serve objects through "
                           "CloudFront origin access control"), bucket.urn)
        acls = [bucket.props.get("acl")] + [a.props.get("acl") for a in
                                            graph.referrers(bucket, BUCKET_ACLS, "bucket")]
        grants = [g for a in graph.referrers(bucket, BUCKET_ACLS, "bucket")
                  for g in _grantee_uris(a.props.get("accessControlPolicy"))]
        public = sorted({a for a in acls if isinstance(a, str) and a in PUBLIC_ACLS} | set(grants))
        if public:
            report(message(bucket, f"the bucket grants public access by ACL ({', '.join(public)})",
                           "remove the ACL; set object ownership to BucketOwnerEnforced"), bucket.urn)
        policies = [bucket.props.get("policy")] + [p.props.get("policy") for p in
                                                   graph.referrers(bucket, [BUCKET_POLICY], "bucket")]
        wildcard = [s for p in policies for s in public_statements(p)]
        if wildcard:
            report(message(bucket, f"the bucket policy allows any principal ('*') in {', '.join(wildcard)}",
                           "grant a named principal (e.g. the CloudFront service with an "
                           "AWS:SourceArn condition for origin access control)"), bucket.urn)


def _grantee_uris(policy: Any) -> list[str]:
    policy = policy[0] if isinstance(policy, list) and policy else policy
    if not isinstance(policy, Mapping):
        return []
    uris = []
    for grant in as_list(policy.get("grants")):
        grantee = grant.get("grantee") if isinstance(grant, Mapping) else None
        grantee = grantee[0] if isinstance(grantee, list) and grantee else grantee
        uri = grantee.get("uri") if isinstance(grantee, Mapping) else None
        if isinstance(uri, str) and uri in PUBLIC_GRANTEES:
            uris.append(uri.rsplit("/", 1)[-1])
    return uris


s3_bucket_disallow_public_access = stack_policy(
    name="s3-bucket-disallow-public-access",
    description="S3 buckets must not turn off S3's public access block, nor grant anything to '*' or "
                "public ACL groups.",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check_buckets,
    remediation="Keep the four public access block settings on; serve objects through CloudFront "
                "origin access control.",
    framework=pci("1.4.1"), tags=TAGS, antipattern="product images in a world-readable bucket",
    covers=(*BUCKETS, PUBLIC_ACCESS_BLOCK, ACCOUNT_PUBLIC_ACCESS_BLOCK, *BUCKET_ACLS, BUCKET_POLICY))


# ----------------------------------------------------------------------------------------------


def _check_rds_public(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """No database instance has a public endpoint.

    Covers: aws:rds/instance:Instance, aws:rds/clusterInstance:ClusterInstance,
    aws:neptune/clusterInstance:ClusterInstance, aws:docdb/clusterInstance:ClusterInstance.

    Well-built programs: databases sit in private subnets with publicly_accessible left False.
    """
    public = resource.props.get("publiclyAccessible")
    if is_unknown(public):
        report(preview_unknown(resource, "publicly_accessible", "set publicly_accessible=False"))
    elif is_true(public):
        report(message(resource, "the database has a public endpoint (publicly_accessible=True)",
                       "set publicly_accessible=False and place it in isolated subnets"))


rds_disallow_public_access = resource_policy(
    name="rds-disallow-public-access",
    description="RDS, Aurora and Neptune instances must not be publicly accessible.",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check_rds_public,
    types=["aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance",
           "aws:neptune/clusterInstance:ClusterInstance", "aws:docdb/clusterInstance:ClusterInstance"],
    remediation="Set publicly_accessible=False.", framework=pci("1.4.4"), tags=TAGS,
    antipattern="a database open to the internet")


def _check_search_vpc(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """A search domain lives in the VPC, not on a public endpoint.

    Covers: aws:opensearch/domain:Domain, aws:elasticsearch/domain:Domain.

    Well-built programs: they give the domain vpc_options with private subnets.
    """
    vpc = resource.first("vpcOptions")
    subnets = vpc.get("subnetIds") if isinstance(vpc, Mapping) else vpc
    if is_unknown(subnets) or (isinstance(subnets, list) and subnets):
        return  # subnets given (their ids may be computed): the domain is inside the VPC
    report(message(resource, "the domain has a public endpoint (no vpc_options)",
                   "set vpc_options with private subnet ids and a security group"))


opensearch_domain_require_vpc = resource_policy(
    name="opensearch-domain-require-vpc",
    description="OpenSearch domains must live in a VPC.",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check_search_vpc,
    types=["aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain"],
    remediation="Set vpc_options.subnet_ids and security_group_ids.", framework=pci("1.4.4"), tags=TAGS)


# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ingress:
    declared_by: Res
    group: Res | None
    from_port: Any
    to_port: Any
    protocol: Any
    cidrs: tuple[Any, ...]
    prefix_lists: tuple[Any, ...]
    computed: bool = False  # the whole rule list is computed (unknown during preview)

    def ports(self) -> str:
        if str(self.protocol) in ("-1", "all"):
            return "all ports"
        if self.from_port == self.to_port:
            return f"port {_int(self.from_port)}"
        return f"ports {_int(self.from_port)}-{_int(self.to_port)}"


def _int(value: Any) -> str:
    found = number(value)
    return str(int(found)) if found is not None else "?"


def ingress_rules(graph: StackGraph) -> list[Ingress]:
    """Every ingress rule of the stack with the security group it opens (when known)."""
    rules = []
    for group in graph.of_type(*SECURITY_GROUPS):
        inline = group.props.get("ingress")
        for rule in as_list(inline) if not is_unknown(inline) else [inline]:
            if is_unknown(rule):
                rules.append(Ingress(group, group, None, None, None, (), (), computed=True))
            elif isinstance(rule, Mapping):
                rules.append(Ingress(group, group, rule.get("fromPort"), rule.get("toPort"),
                                     rule.get("protocol"),
                                     (*_seq(rule.get("cidrBlocks")), *_seq(rule.get("ipv6CidrBlocks"))),
                                     _seq(rule.get("prefixListIds"))))
    groups = graph.of_type(*SECURITY_GROUPS)
    for rule in graph.of_type(SG_RULE, SG_INGRESS_RULE):
        if rule.type == SG_RULE and rule.props.get("type") != "ingress":
            continue
        owner = next((g for g in groups if graph.refers(rule, "securityGroupId", g)), None)
        props = rule.props
        if rule.type == SG_RULE:
            cidrs = (*_seq(props.get("cidrBlocks")), *_seq(props.get("ipv6CidrBlocks")))
            prefixes = _seq(props.get("prefixListIds"))
            protocol = props.get("protocol")
        else:
            cidrs = tuple(v for v in (props.get("cidrIpv4"), props.get("cidrIpv6")) if v is not None)
            prefixes = tuple(v for v in (props.get("prefixListId"),) if v is not None)
            protocol = props.get("ipProtocol")
        rules.append(Ingress(rule, owner, props.get("fromPort"), props.get("toPort"), protocol,
                             cidrs, prefixes))
    return rules


def _seq(value: Any) -> tuple[Any, ...]:
    return (value,) if is_unknown(value) else tuple(as_list(value))


def internet_facing_albs(graph: StackGraph) -> list[Res]:
    albs = []
    for balancer in graph.of_type(*LOAD_BALANCERS):
        kind = balancer.props.get("loadBalancerType")
        internal = balancer.props.get("internal")
        if kind in (None, "application") and not (is_true(internal) or is_unknown(internal)):
            albs.append(balancer)
    return albs


def internet_facing_balancers(graph: StackGraph) -> list[Res]:
    """Application, Network and Classic load balancers that are not internal (a computed `internal`
    counts as internet-facing: fail closed)."""
    found = []
    for balancer in graph.of_type(*LOAD_BALANCERS, CLASSIC_LOAD_BALANCER):
        if balancer.props.get("loadBalancerType") == "gateway":
            continue  # a Gateway Load Balancer inspects traffic; it is no entry point
        if not is_true(balancer.props.get("internal")):
            found.append(balancer)
    return found


def _check_public_ingress(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Nothing accepts the whole internet but 443/80 of an internet-facing ALB.

    Covers: aws:ec2/securityGroup:SecurityGroup, aws:ec2/defaultSecurityGroup:DefaultSecurityGroup
    (inline rules), aws:ec2/securityGroupRule:SecurityGroupRule,
    aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule, with the groups of
    aws:lb/loadBalancer:LoadBalancer and aws:alb/loadBalancer:LoadBalancer.

    Well-built programs: databases, caches and tasks accept security groups; only the public ALB
    opens 443 (and 80 for the redirect), or CloudFront's prefix list.
    """
    allowed_ports = {number(p) for p in config["allowedPublicPorts"]}
    albs = internet_facing_albs(graph)
    for rule in ingress_rules(graph):
        world = [c for c in rule.cidrs if isinstance(c, str) and c in WORLD]
        if not world:
            continue  # computed CIDRs come from the VPC, never from the world
        port = number(rule.from_port)
        single_web_port = (port is not None and port == number(rule.to_port) and port in allowed_ports
                           and str(rule.protocol).lower() in ("tcp", "6"))
        on_alb = rule.group is not None and any(graph.refers(b, "securityGroups", rule.group) for b in albs)
        if single_web_port and on_alb:
            continue
        where = f"security group {rule.group.name}" if rule.group else "a security group"
        report(message(rule.declared_by, f"{where} accepts {', '.join(world)} on {rule.ports()}",
                       "open only the internet-facing ALB's 443 (and 80 for the redirect) to the "
                       "world, or better only to CloudFront's origin-facing prefix list; reach "
                       "everything else from security groups"), rule.declared_by.urn)


security_group_disallow_public_ingress = stack_policy(
    name="security-group-disallow-public-ingress",
    description="Security groups must not accept 0.0.0.0/0 or ::/0, except on 443/80 of an "
                "internet-facing ALB.",
    level=MANDATORY, severity=Severity.CRITICAL, check=_check_public_ingress,
    remediation="Replace world-open ingress with security-group or prefix-list sources.",
    config={"allowedPublicPorts": {"type": "array", "items": {"type": "integer"}, "default": [80, 443],
                                   "description": "Ports an internet-facing ALB may open to the world."}},
    framework=pci("1.3.1"), tags=TAGS,
    covers=(*SECURITY_GROUPS, SG_RULE, SG_INGRESS_RULE, *LOAD_BALANCERS))


# ----------------------------------------------------------------------------------------------


def _check_cloudfront_waf(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """Every CloudFront distribution has a WAF web ACL.

    Covers: aws:cloudfront/distribution:Distribution.

    Well-built programs: they attach a WAFv2 web ACL of scope CLOUDFRONT (web_acl_id).
    """
    acl = resource.props.get("webAclId")
    if is_unknown(acl) or (isinstance(acl, str) and acl):
        return  # a web ACL is attached (its ARN may be computed)
    report(message(resource, "the distribution has no WAF web ACL",
                   "create an aws.wafv2.WebAcl (scope CLOUDFRONT, in us-east-1) with the AWS managed "
                   "rule groups and a rate limit, and set web_acl_id to its ARN"))


cloudfront_distribution_require_waf = resource_policy(
    name="cloudfront-distribution-require-waf",
    description="CloudFront distributions must be protected by a WAF web ACL.",
    level=MANDATORY, severity=Severity.HIGH, types=["aws:cloudfront/distribution:Distribution"],
    check=_check_cloudfront_waf, remediation="Set web_acl_id to a WAFv2 web ACL of scope CLOUDFRONT.",
    framework=pci("6.4.2"), tags=["case-study", *TAGS],
    antipattern="a public entry point without the WAF that fronts everything")


def _check_alb_front(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """An internet-facing load balancer is behind a WAF: its own web ACL, or CloudFront's.

    Covers: aws:lb/loadBalancer:LoadBalancer, aws:alb/loadBalancer:LoadBalancer (application and
    network), aws:elb/loadBalancer:LoadBalancer (Classic), with their security groups
    (aws:ec2/securityGroup:SecurityGroup, aws:ec2/securityGroupRule:SecurityGroupRule,
    aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule) and
    aws:wafv2/webAclAssociation:WebAclAssociation, aws:wafregional/webAclAssociation:WebAclAssociation.
    Only an Application Load Balancer can carry a web ACL; a Network or Classic one must accept
    CloudFront only (its origin-facing prefix list or security groups, no CIDR).

    Well-built programs: a public ALB has a regional web ACL associated, or, as this project's
    edge does, accepts only CloudFront's origin-facing prefix list while CloudFront carries the ACL.
    """
    cloudfront_lists = set(config["cloudfrontPrefixListIds"])
    rules = ingress_rules(graph)
    associations = graph.of_type(*WAF_ASSOCIATIONS)
    for balancer in internet_facing_balancers(graph):
        application = balancer.type != CLASSIC_LOAD_BALANCER and \
            balancer.props.get("loadBalancerType") in (None, "application")
        if application and any(graph.refers(a, "resourceArn", balancer) for a in associations):
            continue
        groups = [g for g in graph.of_type(*SECURITY_GROUPS) if graph.refers(balancer, "securityGroups", g)]
        fix = ("associate a regional WAF web ACL (aws.wafv2.WebAclAssociation; Application Load "
               "Balancers only) or accept only CloudFront: ingress from the "
               "com.amazonaws.global.cloudfront.origin-facing prefix list")
        if not groups:
            report(message(balancer, "the internet-facing load balancer has no security group of this "
                                     "stack that limits it to CloudFront, and no WAF", fix), balancer.urn)
            continue
        problems = []
        urns = {g.urn for g in groups}
        for rule in rules:
            if rule.group is None or rule.group.urn not in urns:
                continue
            if rule.computed:
                report(preview_unknown(balancer, f"the ingress rules of {rule.group.name}", fix),
                       balancer.urn)
            if rule.cidrs:
                shown = ", ".join(c if isinstance(c, str) else "a computed CIDR" for c in rule.cidrs)
                problems.append(f"{rule.group.name} accepts {shown}")
            if cloudfront_lists:
                if any(is_unknown(p) for p in rule.prefix_lists):
                    report(preview_unknown(balancer, "a prefix list id of its security group", fix),
                           balancer.urn)
                problems += [f"prefix list {p} is not CloudFront's" for p in rule.prefix_lists
                             if isinstance(p, str) and p not in cloudfront_lists]
        if problems:
            report(message(balancer, "the internet-facing load balancer has no WAF and is reachable from "
                                     f"more than CloudFront: {'; '.join(problems)}", fix), balancer.urn)


alb_require_waf_or_cloudfront_only = stack_policy(
    name="alb-require-waf-or-cloudfront-only",
    description="An internet-facing load balancer (ALB, NLB, Classic) must have a WAF web ACL or accept "
                "traffic from CloudFront only.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_alb_front,
    remediation="Allow ingress only from CloudFront's origin-facing prefix list (CloudFront's WAF then "
                "covers the ALB), or associate a regional WAF web ACL.",
    config={"cloudfrontPrefixListIds": string_list(
        "When set, prefix lists other than these (CloudFront's origin-facing lists) do not count as "
        "CloudFront; empty accepts any prefix list.", [])},
    framework=pci("6.4.2"), tags=["case-study", *TAGS],
    antipattern="a public entry point without the WAF that fronts everything",
    covers=(*LOAD_BALANCERS, CLASSIC_LOAD_BALANCER, *SECURITY_GROUPS[:1], SG_RULE, SG_INGRESS_RULE,
            *WAF_ASSOCIATIONS))


POLICIES = [s3_bucket_disallow_public_access, rds_disallow_public_access, opensearch_domain_require_vpc,
            security_group_disallow_public_ingress, cloudfront_distribution_require_waf,
            alb_require_waf_or_cloudfront_only]
