"""What only a multi-Region stack has (docs/multi-region.md): the secondary Region's grouping, the
latency-routed origin that sends CloudFront to the nearest healthy Region, and the cross-Region
copy of the static assets.

The Aurora Global Database and the DynamoDB global tables live in their own components
(`RelationalDatabase` with a `GlobalRole`, `UserStateTables` with `TableScope.GLOBAL`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.defaults import assume_role_policy, policy_document, private_bucket

MAX_ALARM_METRICS = 10  # CloudWatch: a metric-math alarm takes at most 10 metrics
HEALTH_PERIOD_SECONDS = 60
HEALTH_EVALUATION_PERIODS = 2
"""Two minutes without a healthy target in some service take the Region out of DNS."""


class SecondaryRegion(pulumi.ComponentResource):
    """Groups the secondary Region's tiers, so they keep the primary's component names (and so
    their physical names, which AWS scopes to a Region) under a URN of their own."""

    region: str

    def __init__(self, region: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:region:SecondaryRegion", region, None, opts)
        self.region = region
        self.register_outputs({"region": region})


# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RegionalOrigin:
    """One Region's ALB, and what tells whether it can serve."""

    region: str
    provider: aws.Provider
    """That Region's provider: the health alarm lives beside the ALB's metrics."""
    alb_dns_name: pulumi.Input[str]
    alb_zone_id: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffixes: Sequence[pulumi.Input[str]]
    """Every target group of the ALB: the Region is healthy while each has a healthy target."""
    alarm_topic_arn: pulumi.Input[str]
    """That Region's alarm topic: it hears when the Region leaves DNS and when it returns."""


@dataclass(frozen=True, kw_only=True)
class LatencyRoutedOriginArgs:
    hosted_zone_id: str
    domain_name: str
    """The origin host name CloudFront uses; each Region's ALB has a certificate for it."""
    origins: Sequence[RegionalOrigin]


class LatencyRoutedOrigin(pulumi.ComponentResource):
    """Route 53 latency records for the origin host name, one alias per Region's ALB, each with a
    health check: CloudFront's origin request resolves to the nearest Region that is healthy.

    The health checks read CloudWatch alarms, not the ALB: the ALB admits only CloudFront's
    addresses and the secret origin header, so Route 53's checkers could never reach it. A Region
    is unhealthy when any of its target groups has had no healthy target for two minutes (or its
    metrics are missing); the alias also evaluates the ALB's own target health.
    """

    health_check_ids: dict[str, pulumi.Output[str]]
    health_alarm_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: LatencyRoutedOriginArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        regions = [o.region for o in args.origins]
        if len(set(regions)) != len(regions) or len(regions) < 2:
            raise ValueError(f"{name}: give one origin per Region, in at least two, got {regions}")
        for origin in args.origins:
            if not 1 <= len(origin.target_group_arn_suffixes) < MAX_ALARM_METRICS:
                raise ValueError(f"{name}: {origin.region} needs 1 to {MAX_ALARM_METRICS - 1} "
                                 "target groups in its health alarm")
        super().__init__("ecommerce:edge:LatencyRoutedOrigin", name, None, opts)
        self.health_check_ids, self.health_alarm_names = {}, {}
        for origin in args.origins:
            where = f"{name}-{origin.region}"
            alarm = aws.cloudwatch.MetricAlarm(
                f"{where}-healthy", comparison_operator="LessThanThreshold", threshold=1,
                evaluation_periods=HEALTH_EVALUATION_PERIODS,
                datapoints_to_alarm=HEALTH_EVALUATION_PERIODS, treat_missing_data="breaching",
                alarm_description=f"{origin.region} leaves the origin's DNS: a service behind its "
                                  "ALB has had no healthy target for two minutes "
                                  "(docs/multi-region.md, failover)",
                metric_queries=[
                    *(aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id=f"m{index}", return_data=False,
                        metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                            namespace="AWS/ApplicationELB", metric_name="HealthyHostCount",
                            dimensions={"LoadBalancer": origin.alb_arn_suffix,
                                        "TargetGroup": target_group},
                            period=HEALTH_PERIOD_SECONDS, stat="Minimum"))
                      for index, target_group in enumerate(origin.target_group_arn_suffixes)),
                    aws.cloudwatch.MetricAlarmMetricQueryArgs(
                        id="healthy", return_data=True,
                        label="Healthy targets of the least healthy service",
                        expression="MIN([{}])".format(", ".join(
                            f"m{i}" for i in range(len(origin.target_group_arn_suffixes)))))],
                alarm_actions=[origin.alarm_topic_arn], ok_actions=[origin.alarm_topic_arn],
                opts=pulumi.ResourceOptions(parent=self, provider=origin.provider))
            check = aws.route53.HealthCheck(
                where, type="CLOUDWATCH_METRIC", cloudwatch_alarm_name=alarm.name,
                cloudwatch_alarm_region=origin.region, insufficient_data_health_status="Unhealthy",
                tags={"Name": where}, opts=pulumi.ResourceOptions(parent=self))
            aws.route53.Record(
                where, zone_id=args.hosted_zone_id, name=args.domain_name, type="A",
                set_identifier=origin.region, health_check_id=check.id,
                latency_routing_policies=[aws.route53.RecordLatencyRoutingPolicyArgs(
                    region=origin.region)],
                aliases=[aws.route53.RecordAliasArgs(
                    name=origin.alb_dns_name, zone_id=origin.alb_zone_id,
                    evaluate_target_health=True)],
                opts=pulumi.ResourceOptions(parent=self))
            self.health_check_ids[origin.region] = check.id
            self.health_alarm_names[origin.region] = alarm.name
        self.register_outputs({"health_check_ids": self.health_check_ids})


# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class StaticReplicaArgs:
    source_bucket_name: pulumi.Input[str]
    source_bucket_arn: pulumi.Input[str]
    """Versioned (S3 replicates only from a versioned bucket): the edge's static bucket."""
    destination: aws.Provider
    """A provider of the Region that keeps the copy."""
    prefix: str = "static/"


class StaticReplica(pulumi.ComponentResource):
    """S3 Cross-Region Replication of the static assets into a bucket of the secondary Region.

    The copy is private and encrypted like the source (every public-access block, owner-enforced
    objects, SSE-S3, TLS only) and versioned, as replication requires; deletes replicate too. The
    replication role may read only the source's versions and write only replicas into the copy.
    Objects uploaded before replication was turned on are not copied: CI's next sync of the assets
    writes them again (docs/multi-region.md).
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StaticReplicaArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:edge:StaticReplica", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        copy = private_bucket(name, versioned=True,
                              opts=pulumi.ResourceOptions(parent=self, provider=args.destination))
        copy_policy = copy.with_policy()  # TLS only; nobody reads it but an operator in a failover
        role = aws.iam.Role(f"{name}-replication", assume_role_policy=assume_role_policy(
            "s3.amazonaws.com"), description="S3 copies the static assets to the other Region",
            opts=child)
        role_policy = aws.iam.RolePolicy(f"{name}-replication", role=role.id, opts=child,
                                         policy=policy_document([
            {"Sid": "ReadTheSourceConfiguration", "Effect": "Allow",
             "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
             "Resource": args.source_bucket_arn},
            {"Sid": "ReadTheSourceVersions", "Effect": "Allow",
             "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging"],
             "Resource": pulumi.Output.concat(args.source_bucket_arn, "/*")},
            {"Sid": "WriteReplicasIntoTheCopy", "Effect": "Allow",
             "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
             "Resource": pulumi.Output.concat(copy.bucket.arn, "/*")}]))
        aws.s3.BucketReplicationConfig(
            name, bucket=args.source_bucket_name, role=role.arn,
            rules=[aws.s3.BucketReplicationConfigRuleArgs(
                id="static-assets", status="Enabled", priority=1,
                filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=args.prefix),
                delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                    status="Enabled"),
                destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                    bucket=copy.bucket.arn, storage_class="STANDARD"))],
            # the copy must be versioned and the role able to act before S3 accepts the rule
            opts=pulumi.ResourceOptions(parent=self, depends_on=[
                copy_policy, role_policy, *([copy.versioning] if copy.versioning else [])]))
        self.bucket_name = copy.bucket.bucket
        self.bucket_arn = copy.bucket.arn
        self.role_arn = role.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn,
                               "role_arn": self.role_arn})
