"""Operability for a team of six with one ops person, advisory by default: per-user state expires,
data stores survive mistakes, dead letters are noticed, and the edge leaves an audit trail
(PCI DSS v4.0 Req 10.2: audit logs of access to system components).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    ADVISORY,
    Report,
    Res,
    StackGraph,
    has_keyword,
    is_true,
    is_unknown,
    message,
    number,
    pci,
    preview_unknown,
    resource_policy,
    snake,
    stack_policy,
    string_list,
)
from .resilience import dead_letter_queues

TABLE = "aws:dynamodb/table:Table"
TAGS = ["case-study", "operations"]


def _check_ttl(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    names = resource.names(("workload", "service"))
    if not any(has_keyword(n, config["userStateKeywords"]) for n in names):
        return
    enabled = resource.get("ttl", "enabled")
    if is_unknown(enabled):
        report(preview_unknown(resource, "ttl.enabled", "set ttl literally"))
    elif not is_true(enabled):
        report(message(resource, "per-user state without TTL grows forever (abandoned carts, "
                                 "expired sessions)",
                       "set ttl={'attribute_name': 'expires_at', 'enabled': True} and write an "
                       "epoch-seconds expiry on every item"))


dynamodb_table_require_ttl = resource_policy(
    name="dynamodb-table-require-ttl",
    description="DynamoDB tables of per-user state (carts, sessions) must expire items with TTL.",
    level=ADVISORY, severity=Severity.LOW, types=[TABLE], check=_check_ttl,
    remediation="Enable TTL on an expiry attribute.",
    config={"userStateKeywords": string_list("Name or workload-tag tokens of per-user state tables.",
                                             ["cart", "session", "basket", "token", "userstate"])},
    tags=TAGS)


# ----------------------------------------------------------------------------------------------

PROTECTION = {  # type -> the deletion-protection property
    "aws:rds/cluster:Cluster": "deletionProtection",
    "aws:rds/instance:Instance": "deletionProtection",
    "aws:docdb/cluster:Cluster": "deletionProtection",
    "aws:neptune/cluster:Cluster": "deletionProtection",
    TABLE: "deletionProtectionEnabled",
}


def _check_protection(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    if resource.type == "aws:rds/instance:Instance" and resource.props.get("clusterIdentifier"):
        return
    key = PROTECTION[resource.type]
    value, name = resource.props.get(key), snake(key)
    if is_unknown(value):
        report(preview_unknown(resource, name, f"set {name} literally"))
    elif not is_true(value):
        report(message(resource, f"{name} is off: one mistaken `pulumi destroy` or replacement deletes "
                                 "the data", f"set {name}=True (and protect=True on the resource)"))


datastore_require_deletion_protection = resource_policy(
    name="datastore-require-deletion-protection",
    description="Databases and tables must have deletion protection on.",
    level=ADVISORY, severity=Severity.MEDIUM, types=list(PROTECTION), check=_check_protection,
    remediation="Turn on the service's deletion protection.", tags=TAGS)


def _check_backups(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    minimum = number(config["minBackupRetentionDays"]) or 7
    if resource.type == TABLE:
        enabled = resource.get("pointInTimeRecovery", "enabled")
        if is_unknown(enabled):
            report(preview_unknown(resource, "point_in_time_recovery", "set it literally"))
        elif not is_true(enabled):
            report(message(resource, "point-in-time recovery is off",
                           "set point_in_time_recovery={'enabled': True}"))
        return
    if resource.type == "aws:elasticache/replicationGroup:ReplicationGroup":
        limit = resource.props.get("snapshotRetentionLimit")
        if not is_unknown(limit) and (number(limit) or 0) < 1:
            report(message(resource, "no automatic snapshots are kept",
                           "set snapshot_retention_limit >= 1 and a snapshot_window"))
        return
    if resource.type == "aws:rds/instance:Instance" and resource.props.get("clusterIdentifier"):
        return
    days = resource.props.get("backupRetentionPeriod")
    if is_unknown(days):
        report(preview_unknown(resource, "backup_retention_period", "set it literally"))
    elif (number(days) or 1) < minimum:
        report(message(resource, f"backups are kept {int(number(days) or 1)} day(s), fewer than "
                                 f"{int(minimum)}",
                       f"set backup_retention_period >= {int(minimum)}"))


datastore_require_backups = resource_policy(
    name="datastore-require-backups",
    description="Databases keep automated backups, tables point-in-time recovery, caches snapshots.",
    level=ADVISORY, severity=Severity.MEDIUM, check=_check_backups,
    types=["aws:rds/cluster:Cluster", "aws:rds/instance:Instance", "aws:docdb/cluster:Cluster",
           "aws:neptune/cluster:Cluster", TABLE, "aws:elasticache/replicationGroup:ReplicationGroup"],
    remediation="Set backup_retention_period, point_in_time_recovery or snapshot_retention_limit.",
    config={"minBackupRetentionDays": {"type": "integer", "minimum": 1, "default": 7,
                                       "description": "Days of automated database backups."}},
    tags=TAGS)


# ----------------------------------------------------------------------------------------------

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _check_dlq_alarms(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    for dlq in dead_letter_queues(graph).values():
        if graph.referrers(dlq, [ALARM], "dimensions", "metricQueries"):
            continue
        report(message(dlq, "nobody is told when messages land in this dead-letter queue",
                       "add a CloudWatch alarm on ApproximateNumberOfMessagesVisible > 0 with "
                       "dimensions={'QueueName': <dlq name>} that notifies the alarm topic"), dlq.urn)


dlq_require_alarm = stack_policy(
    name="dlq-require-alarm",
    description="Every dead-letter queue has a CloudWatch alarm on its depth.",
    level=ADVISORY, severity=Severity.MEDIUM, check=_check_dlq_alarms,
    remediation="Alarm on ApproximateNumberOfMessagesVisible of each DLQ.", tags=TAGS)


# ----------------------------------------------------------------------------------------------

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
VPC = "aws:ec2/vpc:Vpc"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"


def _check_audit_logging(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    for balancer in graph.of_type(*LOAD_BALANCERS):
        enabled = balancer.get("accessLogs", "enabled")
        if not (is_unknown(enabled) or is_true(enabled)):
            report(message(balancer, "access logs are off",
                           "set access_logs={'bucket': <log bucket>, 'enabled': True}"), balancer.urn)
    for distribution in graph.of_type(DISTRIBUTION):
        bucket = distribution.get("loggingConfig", "bucket")
        delivered = any(graph.refers(source, "resourceArn", distribution)
                        for source in graph.of_type(LOG_DELIVERY_SOURCE))
        if bucket is None and not delivered:
            report(message(distribution, "standard (access) logging is off",
                           "set logging_config with a log bucket, or deliver access logs with "
                           "aws.cloudwatch.LogDeliverySource/Destination/Delivery"), distribution.urn)
    for acl in graph.of_type(WEB_ACL):
        if not any(graph.refers(c, "resourceArn", acl) for c in graph.of_type(WAF_LOGGING)):
            report(message(acl, "WAF requests are not logged",
                           "add aws.wafv2.WebAclLoggingConfiguration to an aws-waf-logs-* log group"),
                   acl.urn)
    for vpc in graph.of_type(VPC):
        if not any(graph.refers(f, "vpcId", vpc) for f in graph.of_type(FLOW_LOG)):
            report(message(vpc, "VPC flow logs are off", "add aws.ec2.FlowLog(vpc_id=..., "
                                                          "traffic_type='ALL')"), vpc.urn)


audit_logging_required = stack_policy(
    name="audit-logging-required",
    description="ALB access logs, CloudFront logs, WAF logs and VPC flow logs are on.",
    level=ADVISORY, severity=Severity.MEDIUM, check=_check_audit_logging,
    remediation="Turn on each service's logging to an encrypted, retained destination.",
    framework=pci("10.2.1"), tags=["pci-dss", "operations"])


POLICIES = [dynamodb_table_require_ttl, datastore_require_deletion_protection, datastore_require_backups,
            dlq_require_alarm, audit_logging_required]
