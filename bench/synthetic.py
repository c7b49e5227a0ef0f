"""Synthetic stacks of realistic AWS resources, registered as the engine would record them.

The policy pack is also run on other teams' stacks, so its cost must grow linearly with the stack.
A Pulumi program of 10,000 resources would take minutes under the mocks, so this module builds the
recorded `offline.engine.Snapshot` directly: the same `Resource` records, with RegisterResource
requests, engine (camelCase) inputs, computed outputs, parents, providers and property
dependencies, that `offline.engine.run_program` records for the real program.

A stack is a few shared resources (a provider per team with default tags, a VPC over three AZs, a
messaging and a logs KMS key, an alarm topic) and then service units, in a fixed rotation:

- worker (10): component, work queue + DLQ (KMS), Lambda function (VPC, tracing, its own role,
  inline policy, KMS log group), event source mapping reporting batch failures, security group,
  DLQ depth alarm;
- site (7): component, S3 bucket, public access block, KMS default encryption, versioning,
  ownership controls, TLS-only bucket policy;
- database (10): component, KMS key, security group, ingress rule from the workers, subnet group
  over three AZs, parameter group forcing SSL, log group, Aurora PostgreSQL cluster, writer and
  reader instances in two AZs;
- table (3): component, per-user-state DynamoDB table (TTL, PITR, KMS), its KMS key.

About one unit in twenty carries a realistic mistake (a queue without a DLQ, a bucket without a
public access block, a single-AZ database, a table without TTL, a wildcard IAM grant), so the
pack's reporting path is exercised too. The stack is deterministic for a given size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import resource_pb2

from offline.engine import PROJECT, Resource, Snapshot, stack_config

ACCOUNT = "123456789012"
REGION = "us-east-1"
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
UNITS = ("worker", "site", "worker", "table", "database", "worker", "site")
FLAWED_EVERY = 20  # one unit in this many carries a mistake


def _digest(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(values))
    return struct


def _numbers(value: Any) -> Any:
    """Numbers as the engine sends them: floats."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


@dataclass
class _Stack:
    stack: str
    resources: list[Resource] = field(default_factory=list)

    @property
    def root(self) -> str:
        return f"urn:pulumi:{self.stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{self.stack}"

    def urn(self, parent: Resource | None, type_: str, name: str) -> str:
        qualified = f"{parent.urn.split('::')[2]}${type_}" if parent is not None else type_
        return f"urn:pulumi:{self.stack}::{PROJECT}::{qualified}::{name}"

    def add(self, type_: str, name: str, inputs: Mapping[str, Any] | None = None, *,
            parent: Resource | None = None, provider: Resource | None = None,
            refs: Mapping[str, Sequence[Resource]] | None = None, computed: Mapping[str, Any] | None = None,
            custom: bool = True) -> Resource:
        """Register one resource; `refs` are the resources each input property was computed from."""
        values: dict[str, Any] = _numbers(dict(inputs or {}))
        refs = refs or {}
        urn = self.urn(parent, type_, name)
        provider_ref = f"{provider.urn}::{provider.id}" if provider is not None and custom else ""
        property_dependencies = {key: tuple(r.urn for r in refs.get(key, ())) for key in values}
        dependencies = tuple(dict.fromkeys(u for urns in property_dependencies.values() for u in urns))
        request = resource_pb2.RegisterResourceRequest(
            type=type_, name=name, parent=parent.urn if parent is not None else self.root, custom=custom,
            object=_struct(values), provider=provider_ref, dependencies=list(dependencies),
            propertyDependencies={k: resource_pb2.RegisterResourceRequest.PropertyDependencies(urns=list(v))
                                  for k, v in property_dependencies.items()})
        outputs = {**values, **_numbers(dict(computed or {}))} if custom else {}
        resource = Resource(
            urn=urn, type=type_, name=name, custom=custom,
            parent=parent.urn if parent is not None else self.root, provider=provider_ref or None,
            inputs=values, outputs=outputs, dependencies=dependencies,
            property_dependencies=property_dependencies,
            id=str(outputs.get("id")) if custom else None, request=request, output_struct=_struct(outputs))
        self.resources.append(resource)
        return resource

    def component(self, type_: str, name: str) -> Resource:
        return self.add(type_, name, custom=False)


def _arn(service: str, kind: str, name: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}{name}"


def _document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@dataclass
class _Shared:
    provider: Resource
    vpc: Resource
    subnets: list[Resource]
    messaging_key: Resource
    logs_key: Resource
    alarms: Resource
    worker_groups: list[Resource] = field(default_factory=list)


def _shared(s: _Stack, team: str) -> _Shared:
    provider = s.add("pulumi:providers:aws", f"aws-{team}", {
        "region": REGION, "skipCredentialsValidation": "false", "skipRegionValidation": "true",
        "defaultTags": json.dumps({"tags": {"app": team, "environment": s.stack, "tier": team}})},
        computed={"id": f"aws-{team}-provider-id"})
    network = s.component("ecommerce:network:Network", f"{team}-network")
    vpc_id = f"vpc-{_digest(team, 'vpc', length=17)}"
    vpc = s.add("aws:ec2/vpc:Vpc", f"{team}-network", {
        "cidrBlock": "10.20.0.0/16", "enableDnsHostnames": True, "enableDnsSupport": True,
        "tags": {"Name": f"{team}-network"}}, parent=network, provider=provider,
        computed={"id": vpc_id, "arn": _arn("ec2", "vpc/", vpc_id)})
    subnets = []
    for index, az in enumerate(AZS):
        subnet_id = f"subnet-{_digest(team, az, length=17)}"
        subnets.append(s.add("aws:ec2/subnet:Subnet", f"{team}-network-private-{index}", {
            "vpcId": vpc_id, "availabilityZone": az, "cidrBlock": f"10.20.{16 * index}.0/20",
            "mapPublicIpOnLaunch": False, "tags": {"Name": f"{team}-private-{az}"}},
            parent=network, provider=provider, refs={"vpcId": [vpc]},
            computed={"id": subnet_id, "arn": _arn("ec2", "subnet/", subnet_id)}))
    keys = s.component("ecommerce:security:EncryptionKeys", f"{team}-keys")
    messaging_key = _kms_key(s, f"{team}-keys-messaging", "Queues and topics", keys, provider,
                             services=["sqs.amazonaws.com", "sns.amazonaws.com", "cloudwatch.amazonaws.com"])
    logs_key = _kms_key(s, f"{team}-keys-logs", "CloudWatch Logs", keys, provider,
                        services=[f"logs.{REGION}.amazonaws.com"])
    shared = _Shared(provider, vpc, subnets, messaging_key, logs_key, alarms=vpc)
    flow_logs = _log_group(s, f"{team}-network-flow-logs", f"/vpc/{team}-network", network, shared)
    s.add("aws:ec2/flowLog:FlowLog", f"{team}-network", {
        "vpcId": vpc_id, "trafficType": "ALL", "logDestinationType": "cloud-watch-logs",
        "logDestination": flow_logs.outputs["arn"], "maxAggregationInterval": 60}, parent=network,
        provider=provider, refs={"vpcId": [vpc], "logDestination": [flow_logs]},
        computed={"id": f"fl-{_digest(team, 'fl', length=17)}"})
    observability = s.component("ecommerce:observability:AlarmTopic", f"{team}-alarms")
    alarms_name = f"{team}-alarms-{_digest(team, 'alarms', length=7)}"
    alarms = s.add("aws:sns/topic:Topic", f"{team}-alarms", {
        "kmsMasterKeyId": messaging_key.outputs["arn"]}, parent=observability, provider=provider,
        refs={"kmsMasterKeyId": [messaging_key]},
        computed={"id": _arn("sns", "", alarms_name), "arn": _arn("sns", "", alarms_name),
                  "name": alarms_name})
    return _Shared(provider, vpc, subnets, messaging_key, logs_key, alarms)


def _kms_key(s: _Stack, name: str, description: str, parent: Resource, provider: Resource, *,
             services: list[str]) -> Resource:
    key_id = f"{_digest(name, length=8)}-{_digest(name, 'a', length=4)}-4{_digest(name, 'b', length=3)}-" \
             f"8{_digest(name, 'c', length=3)}-{_digest(name, 'd', length=12)}"
    policy = _document([
        {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "ServicesUse", "Effect": "Allow", "Principal": {"Service": services},
         "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}])
    return s.add("aws:kms/key:Key", name, {
        "description": description, "enableKeyRotation": True, "deletionWindowInDays": 30,
        "policy": policy}, parent=parent, provider=provider,
        computed={"id": key_id, "arn": _arn("kms", "key/", key_id), "keyId": key_id})


def _log_group(s: _Stack, name: str, log_name: str, parent: Resource, sh: _Shared) -> Resource:
    return s.add("aws:cloudwatch/logGroup:LogGroup", name, {
        "name": log_name, "retentionInDays": 365, "kmsKeyId": sh.logs_key.outputs["arn"]},
        parent=parent, provider=sh.provider, refs={"kmsKeyId": [sh.logs_key]},
        computed={"id": log_name, "arn": _arn("logs", "log-group:", log_name)})


def _worker(s: _Stack, name: str, sh: _Shared, flawed: bool) -> None:
    unit = s.component("ecommerce:events:QueueConsumer", name)
    tags = {"workload": name}
    dlq_name, queue_name = f"{name}-dlq-{_digest(name, 'dlq', length=7)}", f"{name}-{_digest(name, length=7)}"
    sqs_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}"
    dlq = s.add("aws:sqs/queue:Queue", f"{name}-dlq", {
        "kmsMasterKeyId": sh.messaging_key.outputs["arn"], "kmsDataKeyReusePeriodSeconds": 300,
        "messageRetentionSeconds": 1209600, "tags": tags}, parent=unit, provider=sh.provider,
        refs={"kmsMasterKeyId": [sh.messaging_key]},
        computed={"id": f"{sqs_url}/{dlq_name}", "url": f"{sqs_url}/{dlq_name}", "name": dlq_name,
                  "arn": _arn("sqs", "", dlq_name)})
    queue_inputs: dict[str, Any] = {
        "kmsMasterKeyId": sh.messaging_key.outputs["arn"], "kmsDataKeyReusePeriodSeconds": 300,
        "visibilityTimeout": 180, "messageRetentionSeconds": 345600, "tags": tags}
    queue_refs: dict[str, list[Resource]] = {"kmsMasterKeyId": [sh.messaging_key]}
    if not flawed:  # the mistake: a work queue without a dead-letter queue
        queue_inputs["redrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq.outputs["arn"],
                                                    "maxReceiveCount": 5})
        queue_refs["redrivePolicy"] = [dlq]
    queue = s.add("aws:sqs/queue:Queue", f"{name}-queue", queue_inputs, parent=unit, provider=sh.provider,
                  refs=queue_refs, computed={"id": f"{sqs_url}/{queue_name}", "name": queue_name,
                                             "url": f"{sqs_url}/{queue_name}",
                                             "arn": _arn("sqs", "", queue_name)})
    role_name = f"{name}-role-{_digest(name, 'role', length=7)}"
    role = s.add("aws:iam/role:Role", f"{name}-role", {
        "assumeRolePolicy": _document([{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                        "Action": "sts:AssumeRole"}]), "tags": tags},
        parent=unit, provider=sh.provider,
        computed={"id": role_name, "name": role_name, "arn": f"arn:aws:iam::{ACCOUNT}:role/{role_name}",
                  "uniqueId": f"AROA{_digest(name, length=16).upper()}"})
    logs = _log_group(s, f"{name}-logs", f"/aws/lambda/{name}", unit, sh)
    statements = [
        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                       "sqs:ChangeMessageVisibility"], "Resource": queue.outputs["arn"]},
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": sh.messaging_key.outputs["arn"]},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{logs.outputs['arn']}:*"}]
    if flawed:  # the mistake: a wildcard grant
        statements.append({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    s.add("aws:iam/rolePolicy:RolePolicy", f"{name}-role", {
        "role": role_name, "policy": _document(statements)}, parent=unit, provider=sh.provider,
        refs={"role": [role], "policy": [queue, sh.messaging_key, logs]},
        computed={"id": f"{role_name}:{name}", "name": f"{name}-{_digest(name, 'p', length=7)}"})
    group_id = f"sg-{_digest(name, 'sg', length=17)}"
    group = s.add("aws:ec2/securityGroup:SecurityGroup", f"{name}-functions", {
        "vpcId": sh.vpc.outputs["id"], "description": f"{name}: HTTPS to AWS APIs and the database",
        "egress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"],
                    "description": "AWS APIs"},
                   {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrBlocks": ["10.20.0.0/16"],
                    "description": "PostgreSQL"}],
        "ingress": [], "tags": {"Name": f"{name}-functions"}}, parent=unit, provider=sh.provider,
        refs={"vpcId": [sh.vpc]}, computed={"id": group_id, "arn": _arn("ec2", "security-group/", group_id)})
    sh.worker_groups.append(group)
    function_name = f"{name}-{_digest(name, 'fn', length=7)}"
    function_arn = _arn("lambda", "function:", function_name)
    function = s.add("aws:lambda/function:Function", name, {
        "description": f"consumer '{name}' (shop.consumers.{name.replace('-', '_')}.handler)",
        "runtime": "python3.12", "architectures": ["arm64"], "handler": f"shop.consumers.{name}.handler",
        "memorySize": 512, "timeout": 30, "role": role.outputs["arn"],
        "code": {"4dabf18193072939515e22adb298388d": "0def7320c3a5731c473e5ecbe6d01bc7",
                 "path": "app_code"},
        "environment": {"variables": {"QUEUE_URL": queue.outputs["url"], "POWERTOOLS_SERVICE_NAME": name,
                                      "LOG_LEVEL": "INFO"}},
        "vpcConfig": {"subnetIds": [x.outputs["id"] for x in sh.subnets[:2]], "securityGroupIds": [group_id]},
        "tracingConfig": {"mode": "Active"},
        "loggingConfig": {"logFormat": "JSON", "logGroup": f"/aws/lambda/{name}"}, "tags": tags},
        parent=unit, provider=sh.provider,
        refs={"role": [role], "environment": [queue], "vpcConfig": [*sh.subnets[:2], group],
              "loggingConfig": [logs]},
        computed={"id": function_name, "name": function_name, "arn": function_arn,
                  "qualifiedArn": f"{function_arn}:$LATEST",
                  "invokeArn": f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}"
                               "/invocations"})
    s.add("aws:lambda/eventSourceMapping:EventSourceMapping", f"{name}-mapping", {
        "eventSourceArn": queue.outputs["arn"], "functionName": function_arn, "batchSize": 10,
        "functionResponseTypes": ["ReportBatchItemFailures"], "scalingConfig": {"maximumConcurrency": 10},
        "tags": tags}, parent=unit, provider=sh.provider,
        refs={"eventSourceArn": [queue], "functionName": [function]},
        computed={"id": _digest(name, "esm", length=32), "arn": _arn("lambda", "event-source-mapping:",
                                                                     _digest(name, "esm", length=32))})
    s.add("aws:cloudwatch/metricAlarm:MetricAlarm", f"{name}-dlq-depth", {
        "namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible", "statistic": "Maximum",
        "period": 60, "evaluationPeriods": 1, "threshold": 0, "comparisonOperator": "GreaterThanThreshold",
        "treatMissingData": "notBreaching", "dimensions": {"QueueName": dlq_name},
        "alarmDescription": f"Messages in the {name} dead-letter queue: inspect and redrive",
        "alarmActions": [sh.alarms.outputs["arn"]], "okActions": [sh.alarms.outputs["arn"]]},
        parent=unit, provider=sh.provider,
        refs={"dimensions": [dlq], "alarmActions": [sh.alarms], "okActions": [sh.alarms]},
        computed={"id": f"{name}-dlq-depth", "arn": _arn("cloudwatch", "alarm:", f"{name}-dlq-depth")})


def _site(s: _Stack, name: str, sh: _Shared, flawed: bool) -> None:
    unit = s.component("ecommerce:edge:Site", name)
    bucket_name = f"{name}-{_digest(name, 'bucket', length=7)}"
    bucket = s.add("aws:s3/bucket:Bucket", name, {"tags": {"purpose": f"{name} static assets"}},
                   parent=unit, provider=sh.provider,
                   computed={"id": bucket_name, "bucket": bucket_name, "arn": f"arn:aws:s3:::{bucket_name}",
                             "bucketDomainName": f"{bucket_name}.s3.amazonaws.com",
                             "bucketRegionalDomainName": f"{bucket_name}.s3.{REGION}.amazonaws.com"})
    on_bucket = {"bucket": [bucket]}
    if not flawed:  # the mistake: no public access block
        s.add("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name, {
            "bucket": bucket_name, "blockPublicAcls": True, "blockPublicPolicy": True,
            "ignorePublicAcls": True, "restrictPublicBuckets": True}, parent=unit, provider=sh.provider,
            refs=on_bucket, computed={"id": bucket_name})
    s.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name, {
        "bucket": bucket_name, "rules": [{"applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms", "kmsMasterKeyId": sh.messaging_key.outputs["arn"]},
            "bucketKeyEnabled": True}]}, parent=unit, provider=sh.provider,
        refs={"bucket": [bucket], "rules": [sh.messaging_key]}, computed={"id": bucket_name})
    s.add("aws:s3/bucketVersioning:BucketVersioning", name, {
        "bucket": bucket_name, "versioningConfiguration": {"status": "Enabled"}}, parent=unit,
        provider=sh.provider, refs=on_bucket, computed={"id": bucket_name})
    s.add("aws:s3/bucketOwnershipControls:BucketOwnershipControls", name, {
        "bucket": bucket_name, "rule": {"objectOwnership": "BucketOwnerEnforced"}}, parent=unit,
        provider=sh.provider, refs=on_bucket, computed={"id": bucket_name})
    s.add("aws:s3/bucketPolicy:BucketPolicy", name, {"bucket": bucket_name, "policy": _document([
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{bucket_name}", f"arn:aws:s3:::{bucket_name}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}])}, parent=unit, provider=sh.provider,
        refs={"bucket": [bucket], "policy": [bucket]}, computed={"id": bucket_name})


def _database(s: _Stack, name: str, sh: _Shared, flawed: bool) -> None:
    unit = s.component("ecommerce:data:RelationalDatabase", name)
    key = _kms_key(s, f"{name}-key", f"{name} database", unit, sh.provider,
                   services=["rds.amazonaws.com"])
    group_id = f"sg-{_digest(name, 'sg', length=17)}"
    group = s.add("aws:ec2/securityGroup:SecurityGroup", f"{name}-cluster", {
        "vpcId": sh.vpc.outputs["id"], "description": f"{name}: PostgreSQL from the workers only",
        "ingress": [], "egress": [], "tags": {"Name": f"{name}-cluster"}}, parent=unit, provider=sh.provider,
        refs={"vpcId": [sh.vpc]}, computed={"id": group_id, "arn": _arn("ec2", "security-group/", group_id)})
    client = sh.worker_groups[-1] if sh.worker_groups else group
    s.add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", f"{name}-cluster-client", {
        "securityGroupId": group_id, "referencedSecurityGroupId": client.outputs["id"], "ipProtocol": "tcp",
        "fromPort": 5432, "toPort": 5432, "description": "PostgreSQL from the workers"}, parent=unit,
        provider=sh.provider, refs={"securityGroupId": [group], "referencedSecurityGroupId": [client]},
        computed={"id": f"sgr-{_digest(name, 'rule', length=17)}"})
    subnet_group = f"{name}-{_digest(name, 'subnets', length=7)}"
    subnets = s.add("aws:rds/subnetGroup:SubnetGroup", name, {
        "subnetIds": [x.outputs["id"] for x in sh.subnets], "description": f"{name}: isolated subnets"},
        parent=unit, provider=sh.provider, refs={"subnetIds": sh.subnets},
        computed={"id": subnet_group, "name": subnet_group, "arn": _arn("rds", "subgrp:", subnet_group)})
    parameters_name = f"{name}-{_digest(name, 'params', length=7)}"
    parameters = s.add("aws:rds/clusterParameterGroup:ClusterParameterGroup", name, {
        "family": "aurora-postgresql16", "description": f"{name}: TLS only",
        "parameters": [{"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"}]},
        parent=unit, provider=sh.provider, computed={"id": parameters_name, "name": parameters_name})
    identifier = f"{name}-cluster"
    _log_group(s, f"{name}-postgresql", f"/aws/rds/cluster/{identifier}/postgresql", unit, sh)
    cluster = s.add("aws:rds/cluster:Cluster", name, {
        "clusterIdentifier": identifier, "engine": "aurora-postgresql", "engineVersion": "16.4",
        "databaseName": "app", "masterUsername": "app_admin", "manageMasterUserPassword": True,
        "masterUserSecretKmsKeyId": key.outputs["arn"], "storageEncrypted": True,
        "kmsKeyId": key.outputs["arn"],
        "iamDatabaseAuthenticationEnabled": True, "deletionProtection": True, "backupRetentionPeriod": 14,
        "preferredBackupWindow": "03:00-04:00", "preferredMaintenanceWindow": "sun:05:00-sun:06:00",
        "copyTagsToSnapshot": True, "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": f"{identifier}-final",
        "deleteAutomatedBackups": False, "dbSubnetGroupName": subnet_group, "vpcSecurityGroupIds": [group_id],
        "dbClusterParameterGroupName": parameters_name, "enabledCloudwatchLogsExports": ["postgresql"],
        "port": 5432}, parent=unit, provider=sh.provider,
        refs={"kmsKeyId": [key], "masterUserSecretKmsKeyId": [key], "dbSubnetGroupName": [subnets],
              "vpcSecurityGroupIds": [group], "dbClusterParameterGroupName": [parameters]},
        computed={"id": identifier, "arn": _arn("rds", "cluster:", identifier),
                  "endpoint": f"{identifier}.cluster-c{_digest(name, length=11)}.{REGION}.rds.amazonaws.com",
                  "readerEndpoint": f"{identifier}.cluster-ro-c{_digest(name, length=11)}.{REGION}"
                                    ".rds.amazonaws.com"})
    roles = ("writer",) if flawed else ("writer", "reader")  # the mistake: a single-AZ cluster
    for index, role in enumerate(roles):
        instance = f"{name}-{role}-{_digest(name, role, length=7)}"
        s.add("aws:rds/clusterInstance:ClusterInstance", f"{name}-{role}", {
            "clusterIdentifier": identifier, "engine": "aurora-postgresql", "engineVersion": "16.4",
            "instanceClass": "db.r6g.large", "availabilityZone": AZS[index], "publiclyAccessible": False,
            "dbSubnetGroupName": subnet_group, "performanceInsightsEnabled": True,
            "performanceInsightsKmsKeyId": key.outputs["arn"], "performanceInsightsRetentionPeriod": 7,
            "caCertIdentifier": "rds-ca-rsa2048-g1", "autoMinorVersionUpgrade": True, "promotionTier": index,
            "copyTagsToSnapshot": True}, parent=unit, provider=sh.provider,
            refs={"clusterIdentifier": [cluster], "engineVersion": [cluster], "dbSubnetGroupName": [subnets],
                  "performanceInsightsKmsKeyId": [key]},
            computed={"id": instance, "identifier": instance, "arn": _arn("rds", "db:", instance),
                      "endpoint": f"{instance}.c{_digest(name, length=11)}.{REGION}.rds.amazonaws.com"})


def _table(s: _Stack, name: str, sh: _Shared, flawed: bool) -> None:
    unit = s.component("ecommerce:data:UserStateTables", name)
    key = _kms_key(s, f"{name}-key", f"{name} table", unit, sh.provider, services=["dynamodb.amazonaws.com"])
    table_name = f"{name}-sessions-{_digest(name, length=7)}"
    inputs: dict[str, Any] = {
        "billingMode": "PAY_PER_REQUEST", "hashKey": "session_id",
        "attributes": [{"name": "session_id", "type": "S"}], "pointInTimeRecovery": {"enabled": True},
        "serverSideEncryption": {"enabled": True, "kmsKeyArn": key.outputs["arn"]},
        "deletionProtectionEnabled": True, "tags": {"purpose": "Shopper sessions until expiry"}}
    if not flawed:  # the mistake: per-user state that never expires
        inputs["ttl"] = {"enabled": True, "attributeName": "expires_at"}
    s.add("aws:dynamodb/table:Table", f"{name}-sessions", inputs, parent=unit, provider=sh.provider,
          refs={"serverSideEncryption": [key]},
          computed={"id": table_name, "name": table_name, "arn": _arn("dynamodb", "table/", table_name)})


_BUILDERS = {"worker": _worker, "site": _site, "database": _database, "table": _table}
_SIZES = {"worker": 10, "site": 7, "database": 10, "table": 3}


def synthetic_stack(size: int, *, stack: str = "prod", preview: bool = False) -> Snapshot:
    """A stack of exactly `size` recorded resources (providers and components included)."""
    s = _Stack(stack)
    teams = max(1, size // 1000)  # a provider (and a network) per thousand resources, as teams split stacks
    shared = [_shared(s, f"team{t}") for t in range(teams)]
    unit = 0
    while True:
        kind = UNITS[unit % len(UNITS)]
        if len(s.resources) + _SIZES[kind] > size:
            break
        flawed = unit % FLAWED_EVERY == FLAWED_EVERY - 1
        _BUILDERS[kind](s, f"{kind}{unit}", shared[unit % teams], flawed)
        unit += 1
    if len(s.resources) < size:  # fill up with log groups of the first team
        extras = s.component("ecommerce:observability:LogGroups", "extra-logs")
        while len(s.resources) < size:
            index = len(s.resources)
            _log_group(s, f"extra-logs-{index}", f"/app/extra/{index}", extras, shared[0])
    if len(s.resources) != size:
        raise ValueError(f"a synthetic stack needs at least {len(s.resources)} resources; asked for {size}")
    config, _ = stack_config(stack)
    return Snapshot(stack=stack, preview=preview, resources=tuple(s.resources), outputs={}, config=config)
