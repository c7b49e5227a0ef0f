"""Encryption at rest and in transit for the data the shop keeps and moves.

PCI DSS v4.0 Req 3.5 (stored account data unreadable), Req 4.2.1 (strong cryptography over open,
public networks) and Req 2.2.7 (non-console administrative access encrypted); the case study's
checkout path crosses CloudFront, the ALB, the cache and the database.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    ADVISORY,
    MANDATORY,
    Report,
    Res,
    StackGraph,
    as_list,
    is_true,
    is_unknown,
    message,
    pci,
    preview_unknown,
    resource_policy,
    snake,
    stack_policy,
    string_list,
)

TAGS = ["pci-dss", "encryption"]

# ----------------------------------------------------------------------------------------------
# At rest, at all (mandatory): only the stores that AWS really lets a program leave unencrypted

RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
QUEUE = "aws:sqs/queue:Queue"
EBS_VOLUME = "aws:ebs/volume:Volume"
EBS_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
# type -> (the switch that turns encryption on, the key property that also turns it on, the fix)
CAN_BE_UNENCRYPTED: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    RDS_CLUSTER: (("storageEncrypted",), ("kmsKeyId",), "set storage_encrypted=True"),
    RDS_INSTANCE: (("storageEncrypted",), ("kmsKeyId",), "set storage_encrypted=True"),
    "aws:docdb/cluster:Cluster": (("storageEncrypted",), ("kmsKeyId",), "set storage_encrypted=True"),
    "aws:neptune/cluster:Cluster": (("storageEncrypted",), ("kmsKeyArn",), "set storage_encrypted=True"),
    REPLICATION_GROUP: (("atRestEncryptionEnabled",), ("kmsKeyId",),
                        "set at_rest_encryption_enabled=True (it is the default for Valkey only)"),
    "aws:opensearch/domain:Domain": (("encryptAtRest", "enabled"), ("encryptAtRest", "kmsKeyId"),
                                     "set encrypt_at_rest.enabled=True"),
    "aws:elasticsearch/domain:Domain": (("encryptAtRest", "enabled"), ("encryptAtRest", "kmsKeyId"),
                                        "set encrypt_at_rest.enabled=True"),
    "aws:efs/fileSystem:FileSystem": (("encrypted",), ("kmsKeyId",), "set encrypted=True"),
    "aws:kinesis/stream:Stream": (("encryptionType",), ("kmsKeyId",),
                                  "set encryption_type='KMS' and kms_key_id (alias/aws/kinesis or yours)"),
    QUEUE: (("sqsManagedSseEnabled",), ("kmsMasterKeyId",),
            "leave sqs_managed_sse_enabled unset or True, or set kms_master_key_id"),
    EBS_VOLUME: (("encrypted",), ("kmsKeyId",),
                 "set encrypted=True, or turn on aws.ebs.EncryptionByDefault for the Region"),
    "aws:dax/cluster:Cluster": (("serverSideEncryption", "enabled"), (),
                                "set server_side_encryption.enabled=True"),
}


def _get(resource: Res, path: tuple[str, ...]) -> Any:
    value: Any = resource.props
    for step in path:
        if is_unknown(value):
            return value
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _given(value: Any) -> bool:
    """A key (known or computed) is set."""
    return is_unknown(value) or (isinstance(value, str) and bool(value))


def encrypted_at_rest(resource: Res) -> Any:
    """True, False or UNKNOWN: will AWS store this resource's data encrypted?

    A missing switch means the service's default: encrypted for an SQS queue (SSE-SQS, the default
    for new queues since 2022) and a Valkey replication group; unencrypted for the others.
    """
    switch, key_path, _ = CAN_BE_UNENCRYPTED[resource.type]
    if key_path and _given(_get(resource, key_path)):
        return True  # a KMS key is named: encryption is on (its ARN may be computed)
    value = _get(resource, switch)
    if value is None:
        value = _default_encryption(resource)
    if is_unknown(value):
        return value
    return value == "KMS" if switch[-1] == "encryptionType" else is_true(value)


def _default_encryption(resource: Res) -> Any:
    if resource.type == QUEUE:
        return True
    if resource.type == REPLICATION_GROUP:
        engine = resource.props.get("engine")
        return engine if is_unknown(engine) else engine == "valkey"
    return False


def _check_at_rest(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Stores that AWS lets a program leave unencrypted are encrypted at rest.

    Covers: aws:rds/cluster:Cluster, aws:rds/instance:Instance, aws:docdb/cluster:Cluster,
    aws:neptune/cluster:Cluster, aws:elasticache/replicationGroup:ReplicationGroup,
    aws:opensearch/domain:Domain, aws:elasticsearch/domain:Domain, aws:efs/fileSystem:FileSystem,
    aws:kinesis/stream:Stream, aws:sqs/queue:Queue, aws:ebs/volume:Volume, aws:dax/cluster:Cluster.
    Not covered because AWS always encrypts them at rest: DynamoDB tables, S3 objects (SSE-S3 since
    January 2023), CloudWatch Logs, SNS (disk encryption), Secrets Manager, SSM parameters,
    ElastiCache Serverless, MemoryDB, MSK, ECR; which key does so is `storage-require-customer-
    managed-key`'s concern. A read replica (replicate_source_db) has its source's encryption.

    Well-built programs: they set the service's encryption switch (storage_encrypted, encrypted,
    encrypt_at_rest, at_rest_encryption_enabled, encryption_type='KMS') or a KMS key, or rely on a
    default that encrypts (SQS, Valkey, EBS encryption by default); the policy fails only where AWS
    would store the data in clear.
    """
    ebs_default = any(is_true(r.props.get("enabled", True)) for r in graph.of_type(EBS_DEFAULT))
    for resource in graph.of_type(*CAN_BE_UNENCRYPTED):
        if resource.type == RDS_INSTANCE and resource.props.get("replicateSourceDb") is not None:
            continue
        if resource.type == EBS_VOLUME and ebs_default:
            continue
        switch, _, fix = CAN_BE_UNENCRYPTED[resource.type]
        on = encrypted_at_rest(resource)
        where = ".".join(map(snake, switch))
        if is_unknown(on):
            report(preview_unknown(resource, where, "set the encryption switch literally"), resource.urn)
        elif not on:
            report(message(resource, f"AWS will store its data unencrypted at rest ({where} is off)",
                           fix), resource.urn)


storage_require_encryption_at_rest = stack_policy(
    name="storage-require-encryption-at-rest",
    description="Stores that AWS lets a program leave unencrypted (RDS, Aurora, DocumentDB, Neptune, "
                "ElastiCache, OpenSearch, EFS, Kinesis, SQS, EBS, DAX) must be encrypted at rest.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_at_rest,
    remediation="Turn on the service's encryption at rest (storage_encrypted, encrypted, "
                "encrypt_at_rest, at_rest_encryption_enabled, encryption_type='KMS').",
    framework=pci("3.5.1"), tags=TAGS, covers=CAN_BE_UNENCRYPTED)


# ----------------------------------------------------------------------------------------------
# At rest, with a customer-managed key (advisory by default; scoped by config to customer data)

S3_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
S3_SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
# type -> the property naming its KMS key (absent, or an `alias/aws/...` key: AWS owns or manages it)
KEY_OF: dict[str, tuple[str, ...]] = {
    **{t: key for t, (_, key, _) in CAN_BE_UNENCRYPTED.items() if key},
    "aws:dynamodb/table:Table": ("serverSideEncryption", "kmsKeyArn"),
    "aws:cloudwatch/logGroup:LogGroup": ("kmsKeyId",),
    "aws:sns/topic:Topic": ("kmsMasterKeyId",),
    "aws:secretsmanager/secret:Secret": ("kmsKeyId",),
    "aws:ssm/parameter:Parameter": ("keyId",),
    "aws:memorydb/cluster:Cluster": ("kmsKeyArn",),
    "aws:elasticache/serverlessCache:ServerlessCache": ("kmsKeyId",),
    "aws:msk/cluster:Cluster": ("encryptionInfo", "encryptionAtRestKmsKeyArn"),
    "aws:ecr/repository:Repository": ("encryptionConfigurations", "kmsKey"),
    **dict.fromkeys(S3_BUCKETS, ("serverSideEncryptionConfiguration", "rule",
                                 "applyServerSideEncryptionByDefault", "kmsMasterKeyId")),
}


def _in_scope(resource: Res, config: Mapping[str, Any]) -> bool:
    if config["scope"] == "all":
        return True
    patterns = config["customerDataResources"]
    if any(fnmatch.fnmatchcase(name, pattern) for name in resource.names() for pattern in patterns):
        return True
    value = resource.tags.get(config["customerDataTagKey"])
    classes = {c.lower() for c in config["customerDataClassifications"]}
    return isinstance(value, str) and value.lower() in classes


def _customer_key(value: Any) -> bool:
    return _given(value) and not (isinstance(value, str) and value.startswith("alias/aws/"))


def _check_customer_key(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Stores holding customer data are encrypted with a customer-managed KMS key (key policy,
    rotation, CloudTrail record of every use, crypto-shredding by disabling the key). By default
    only the stores the config says hold customer data (a name pattern or a data-classification
    tag) are checked; scope 'all' checks every store.

    Covers: aws:rds/cluster:Cluster, aws:rds/instance:Instance, aws:docdb/cluster:Cluster,
    aws:neptune/cluster:Cluster, aws:elasticache/replicationGroup:ReplicationGroup,
    aws:elasticache/serverlessCache:ServerlessCache, aws:memorydb/cluster:Cluster,
    aws:opensearch/domain:Domain, aws:elasticsearch/domain:Domain, aws:efs/fileSystem:FileSystem,
    aws:kinesis/stream:Stream, aws:sqs/queue:Queue, aws:ebs/volume:Volume, aws:dynamodb/table:Table,
    aws:cloudwatch/logGroup:LogGroup, aws:sns/topic:Topic, aws:secretsmanager/secret:Secret,
    aws:ssm/parameter:Parameter, aws:msk/cluster:Cluster, aws:ecr/repository:Repository,
    aws:s3/bucket:Bucket, aws:s3/bucketV2:BucketV2 (with its server-side encryption configuration,
    aws:s3/bucketServerSideEncryptionConfiguration and ...V2).
    """
    sse: dict[str, Any] = {}
    for configuration in graph.of_type(*S3_SSE):
        key = _get(configuration, ("rules", "applyServerSideEncryptionByDefault", "kmsMasterKeyId"))
        for bucket in graph.targets(configuration, "bucket") or [
                b for b in graph.of_type(*S3_BUCKETS) if graph.refers(configuration, "bucket", b)]:
            sse[bucket.urn] = key
    for resource in graph.of_type(*KEY_OF):
        if not _in_scope(resource, config):
            continue
        if resource.type == "aws:ssm/parameter:Parameter" and resource.props.get("type") != "SecureString":
            continue
        key = sse[resource.urn] if resource.urn in sse else _get(resource, KEY_OF[resource.type])
        if resource.type == QUEUE and is_true(resource.props.get("sqsManagedSseEnabled")):
            key = None
        if not _customer_key(key):
            where = ".".join(map(snake, KEY_OF[resource.type]))
            report(message(resource, f"its data is encrypted with a key AWS owns or manages ({where} "
                                     "names no customer-managed key), so the key's use is not governed "
                                     "by a key policy of ours",
                           f"create an aws.kms.Key (enable_key_rotation=True) and set {where} to it"),
                   resource.urn)


storage_require_customer_managed_key = stack_policy(
    name="storage-require-customer-managed-key",
    description="Stores of customer data are encrypted with a customer-managed KMS key.",
    level=ADVISORY, severity=Severity.MEDIUM, check=_check_customer_key,
    remediation="Create a KMS key with rotation and name it as the store's encryption key.",
    config={
        "scope": {"type": "string", "enum": ["customer-data", "all"], "default": "customer-data",
                  "description": "'customer-data': only the stores named by customerDataResources or "
                                 "tagged with a customerDataClassifications value; 'all': every store "
                                 "(some cannot use one: ALB access-log buckets take SSE-S3 only)."},
        "customerDataResources": string_list(
            "Logical or physical names (shell-style patterns, e.g. 'orders-*') of stores that hold "
            "customer data.", []),
        "customerDataTagKey": {"type": "string", "default": "data-classification",
                               "description": "The tag that classifies a store's data."},
        "customerDataClassifications": string_list(
            "Values of that tag that mean customer data.",
            ["customer-data", "pii", "personal-data", "confidential", "restricted"])},
    framework=pci("3.6.1"), tags=TAGS, covers=(*KEY_OF, *S3_SSE))


# ----------------------------------------------------------------------------------------------
# In transit: load balancers

LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
LOAD_BALANCER_TYPES = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
MODERN_ELB_POLICY = re.compile(r"(TLS13-1-[23]|TLS-1-2|FS-1-2)(-|$)")


def _redirects_to_https(actions: Any) -> bool:
    actions = as_list(actions)
    if not actions:
        return False
    for action in actions:
        if not isinstance(action, Mapping) or action.get("type") != "redirect":
            return False
        redirect = action.get("redirect")
        redirect = redirect[0] if isinstance(redirect, list) and redirect else redirect
        if not isinstance(redirect, Mapping) or redirect.get("protocol") != "HTTPS":
            return False
    return True


def _check_listeners(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Internet-facing load balancers speak TLS 1.2+ and redirect HTTP to HTTPS.

    Covers: aws:lb/listener:Listener, aws:alb/listener:Listener, aws:lb/listenerRule:ListenerRule,
    aws:alb/listenerRule:ListenerRule (with their aws:lb/loadBalancer:LoadBalancer and
    aws:alb/loadBalancer:LoadBalancer). An internal load balancer's listeners are not checked (PCI
    DSS 4.2.1 is about open, public networks); a load balancer outside the stack is taken as
    internet-facing. A Network Load Balancer's TCP/UDP listeners pass traffic through: not checked.

    Well-built programs: their public listeners are HTTPS with a TLS 1.2+ security policy and
    port 80 only redirects, as AWS's own ALB guides set them up.
    """
    allowed = set(config["allowedSslPolicies"])
    owner = {listener.urn: balancer for balancer in graph.of_type(*LOAD_BALANCER_TYPES)
             for listener in graph.referrers(balancer, LISTENERS, "loadBalancerArn")}
    for listener in graph.of_type(*LISTENERS):
        balancer = owner.get(listener.urn)
        if balancer is not None and is_true(balancer.props.get("internal")):
            continue
        network = balancer is not None and balancer.props.get("loadBalancerType") in ("network", "gateway")
        protocol = listener.props.get("protocol")
        if is_unknown(protocol):
            report(preview_unknown(listener, "protocol", "set the listener's protocol literally"),
                   listener.urn)
            continue
        if protocol == "HTTP" or (protocol is None and not network):
            _check_http_listener(graph, listener, report)
        elif protocol in ("HTTPS", "TLS"):
            policy = listener.props.get("sslPolicy")
            if is_unknown(policy):
                report(preview_unknown(listener, "ssl_policy", "set ssl_policy literally"), listener.urn)
            elif not isinstance(policy, str) or not (MODERN_ELB_POLICY.search(policy) or policy in allowed):
                shown = policy or "the provider's default ELBSecurityPolicy-2016-08"
                report(message(listener, f"the TLS policy {shown} accepts TLS below 1.2",
                               "set ssl_policy='ELBSecurityPolicy-TLS13-1-2-2021-06'"), listener.urn)


def _check_http_listener(graph: StackGraph, listener: Res, report: Report) -> None:
    actions = listener.props.get("defaultActions")
    if is_unknown(actions) or any(is_unknown(a) for a in as_list(actions)):
        report(preview_unknown(listener, "default_actions", "write the redirect literally"), listener.urn)
    elif not _redirects_to_https(actions):
        report(message(listener, "an HTTP listener of an internet-facing load balancer serves traffic "
                                 "in clear text",
                       "make the HTTP listener's only action a redirect to HTTPS (status HTTP_301) and "
                       "serve on an HTTPS listener"), listener.urn)
    for rule in graph.referrers(listener, LISTENER_RULES, "listenerArn"):
        if not _redirects_to_https(rule.props.get("actions")):
            report(message(rule, f"the rule forwards traffic of the HTTP listener '{listener.name}' in "
                                 "clear text", "attach the rule to the HTTPS listener"), rule.urn)


alb_listener_require_tls = stack_policy(
    name="alb-listener-require-tls",
    description="Load balancer listeners must use TLS 1.2+; HTTP listeners may only redirect to HTTPS.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_listeners,
    remediation="Serve on HTTPS with ELBSecurityPolicy-TLS13-1-2-2021-06 and make port 80 redirect.",
    config={"allowedSslPolicies": string_list(
        "Further ELB security policies accepted (those of TLS 1.2+ are recognised by name).", [])},
    framework=pci("4.2.1"), tags=TAGS, covers=(*LISTENERS, *LISTENER_RULES, *LOAD_BALANCER_TYPES))


# ----------------------------------------------------------------------------------------------
# In transit: CloudFront

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEAK_ORIGIN_PROTOCOLS = {"SSLv3", "TLSv1", "TLSv1.1"}


def _check_cloudfront(resource: Res, config: Mapping[str, Any],  # noqa: PLR0912 - one branch per TLS setting of a distribution it reads
                      report: Report) -> None:
    """CloudFront speaks TLS 1.2+ to viewers and HTTPS with TLS 1.2 to custom origins.

    Covers: aws:cloudfront/distribution:Distribution (every cache behavior, the viewer certificate,
    every custom origin). The default *.cloudfront.net certificate lets viewers negotiate TLSv1,
    which is why it fails.

    Well-built programs: they serve their own domain with an ACM certificate and
    minimum_protocol_version TLSv1.2_2021, redirect HTTP to HTTPS and reach origins https-only.
    """
    behaviors = [("default cache behavior", resource.first("defaultCacheBehavior"))]
    ordered = resource.props.get("orderedCacheBehaviors")
    for item in as_list(ordered) if not is_unknown(ordered) else [ordered]:
        path = item.get("pathPattern") if isinstance(item, Mapping) else None
        behaviors.append((f"behavior {path}" if isinstance(path, str) else "a behavior", item))
    for label, behavior in behaviors:
        policy = behavior.get("viewerProtocolPolicy") if isinstance(behavior, Mapping) else behavior
        if is_unknown(policy):
            report(preview_unknown(resource, f"the viewer protocol policy of the {label}",
                                   "set viewer_protocol_policy literally"))
        elif policy == "allow-all":
            report(message(resource, f"the {label} serves viewers over HTTP (allow-all)",
                           "set viewer_protocol_policy='redirect-to-https' (or 'https-only')"))

    certificate = resource.first("viewerCertificate")
    allowed = set(config["allowedMinimumProtocolVersions"])
    if is_unknown(certificate):
        report(preview_unknown(resource, "viewer_certificate", "set it literally"))
    elif isinstance(certificate, Mapping):
        minimum = certificate.get("minimumProtocolVersion")
        if is_true(certificate.get("cloudfrontDefaultCertificate")):
            report(message(resource, "the default *.cloudfront.net certificate lets viewers "
                                     "negotiate TLSv1",
                           "serve the shop's domain with an ACM certificate and "
                           "minimum_protocol_version='TLSv1.2_2021'"))
        elif is_unknown(minimum):
            report(preview_unknown(resource, "minimum_protocol_version", "set it literally"))
        elif minimum not in allowed:
            report(message(resource, f"the minimum viewer TLS version is {minimum or 'TLSv1 (default)'}",
                           "set minimum_protocol_version='TLSv1.2_2021' or newer"))

    origins = resource.props.get("origins")
    for origin in as_list(origins) if not is_unknown(origins) else []:
        custom = origin.get("customOriginConfig") if isinstance(origin, Mapping) else None
        custom = custom[0] if isinstance(custom, list) and custom else custom
        if not isinstance(custom, Mapping):
            continue
        origin_id = origin.get("originId")
        protocol, versions = custom.get("originProtocolPolicy"), custom.get("originSslProtocols")
        if protocol != "https-only" and not is_unknown(protocol):
            report(message(resource, f"origin {origin_id} is reached with {protocol}, not HTTPS only",
                           "set origin_protocol_policy='https-only'"))
        weak = sorted(WEAK_ORIGIN_PROTOCOLS & {v for v in as_list(versions) if isinstance(v, str)})
        if weak:
            report(message(resource, f"origin {origin_id} accepts {', '.join(weak)}",
                           "set origin_ssl_protocols=['TLSv1.2']"))


cloudfront_distribution_require_tls = resource_policy(
    name="cloudfront-distribution-require-tls",
    description="CloudFront must redirect or refuse HTTP, require TLSv1.2_2021+ from viewers and "
                "reach origins over HTTPS with TLS 1.2.",
    level=MANDATORY, severity=Severity.HIGH, types=[DISTRIBUTION], check=_check_cloudfront,
    remediation="viewer_protocol_policy='redirect-to-https', an ACM certificate with "
                "minimum_protocol_version='TLSv1.2_2021', origin_protocol_policy='https-only'.",
    config={"allowedMinimumProtocolVersions": string_list(
        "Viewer security policies accepted.", ["TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"])},
    framework=pci("4.2.1"), tags=TAGS)


# ----------------------------------------------------------------------------------------------
# In transit: data stores

CLUSTER_PARAMETERS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
INSTANCE_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
DOCDB_PARAMETERS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
OPENSEARCH_TLS = ("Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10",
                  "Policy-Min-TLS-1-2-RFC9151-FIPS-2024-08")
_FORCE_SSL = {"rds.force_ssl": ("1", "true", "on"), "require_secure_transport": ("1", "on", "true")}


_FORCED_BY_DEFAULT = re.compile(r"postgres(\d+)")  # RDS for PostgreSQL 15+: rds.force_ssl=1 by default


def _postgres_forces_by_default(version_text: Any) -> bool:
    """RDS for PostgreSQL 15 and later force SSL in their default parameters (Aurora does not)."""
    match = re.match(r"(\d+)", version_text) if isinstance(version_text, str) else None
    return match is not None and int(match.group(1)) >= 15


def _forces_ssl(group: Res) -> Any:
    """True/False, or UNKNOWN, for a parameter group's SSL enforcement (an unset parameter keeps
    its family's default: on for postgres15 and later)."""
    parameters = group.props.get("parameters")
    if is_unknown(parameters):
        return parameters
    for parameter in as_list(parameters):
        if not isinstance(parameter, Mapping):
            continue
        name, value = parameter.get("name"), parameter.get("value")
        if name in _FORCE_SSL:
            if is_unknown(value):
                return value
            return str(value).lower() in _FORCE_SSL[name]
    family = group.props.get("family")
    match = _FORCED_BY_DEFAULT.fullmatch(family) if isinstance(family, str) else None
    return match is not None and int(match.group(1)) >= 15


def _check_database_ssl(graph: StackGraph, database: Res, report: Report) -> None:
    engine = database.props.get("engine")
    if database.type == RDS_INSTANCE and (database.props.get("clusterIdentifier")
                                          or database.props.get("replicateSourceDb") is not None):
        return  # a cluster member or a replica uses its cluster's or source's settings
    if isinstance(engine, str) and not re.match(r"(aurora|postgres|mysql|mariadb)", engine):
        return  # SQL Server and Oracle enforce TLS through options, not checked here
    key, group_type = (("dbClusterParameterGroupName", CLUSTER_PARAMETERS) if database.type == RDS_CLUSTER
                       else ("parameterGroupName", INSTANCE_PARAMETERS))
    groups = [g for g in graph.targets(database, key) if g.type == group_type]
    name = database.props.get(key)
    if not groups and isinstance(name, str):
        groups = [g for g in graph.of_type(group_type) if name in g.identifiers()]
    fix = ("use a parameter group with rds.force_ssl=1 (PostgreSQL) or require_secure_transport=ON "
           "(MySQL)")
    if not groups and name is None and database.type == RDS_INSTANCE and engine == "postgres":
        version = database.props.get("engineVersion")
        if is_unknown(version):
            report(preview_unknown(database, "engine_version", fix), database.urn)
            return
        if version is None or _postgres_forces_by_default(version):
            return  # the default parameter group of PostgreSQL 15+ (the default engine) forces SSL
    if not groups:
        problem = (f"the parameter group {name} is not in this stack, so forced SSL cannot be verified"
                   if isinstance(name, str) else "the default parameter group does not force SSL")
        report(message(database, problem, fix), database.urn)
        return
    forced = _forces_ssl(groups[0])
    if is_unknown(forced):
        report(preview_unknown(database, f"a parameter of {groups[0].name}", fix), database.urn)
    elif not forced:
        report(message(database, f"the parameter group {groups[0].name} lets clients connect "
                                 "without TLS", fix), database.urn)


def _check_datastores_in_transit(graph: StackGraph,  # noqa: PLR0912 - one branch per data store type it covers
                                 config: Mapping[str, Any], report: Report) -> None:
    """Databases, caches and search domains refuse clients that do not use TLS.

    Covers: aws:rds/cluster:Cluster, aws:rds/instance:Instance (with
    aws:rds/clusterParameterGroup:ClusterParameterGroup and aws:rds/parameterGroup:ParameterGroup),
    aws:elasticache/replicationGroup:ReplicationGroup, aws:elasticache/cluster:Cluster (Memcached),
    aws:opensearch/domain:Domain, aws:elasticsearch/domain:Domain, aws:docdb/cluster:Cluster (with
    aws:docdb/clusterParameterGroup:ClusterParameterGroup), aws:memorydb/cluster:Cluster. RDS for
    PostgreSQL 15 and later force SSL in their default parameters (Aurora and MySQL do not); a
    replica and a cluster member follow their source and cluster.

    Well-built programs: Aurora and MySQL get a parameter group with rds.force_ssl=1 or
    require_secure_transport=ON, PostgreSQL 15+ keeps its default, caches turn transit encryption
    on, and search domains enforce HTTPS with a TLS 1.2 policy and node-to-node encryption.
    """
    for database in graph.of_type(RDS_CLUSTER, RDS_INSTANCE):
        _check_database_ssl(graph, database, report)
    for group in graph.of_type("aws:elasticache/replicationGroup:ReplicationGroup"):
        enabled, mode = group.props.get("transitEncryptionEnabled"), group.props.get("transitEncryptionMode")
        if is_unknown(enabled) or is_unknown(mode):
            report(preview_unknown(group, "transit_encryption_enabled", "set it literally"), group.urn)
        elif not is_true(enabled) or mode == "preferred":
            report(message(group, "clients can reach the cache without TLS",
                           "set transit_encryption_enabled=True (transit_encryption_mode 'required')"),
                   group.urn)
    for cache in graph.of_type("aws:elasticache/cluster:Cluster"):
        enabled = cache.props.get("transitEncryptionEnabled")
        if cache.props.get("engine") == "memcached" and not is_unknown(enabled) and not is_true(enabled):
            report(message(cache, "clients can reach Memcached without TLS",
                           "set transit_encryption_enabled=True"), cache.urn)
    for domain in graph.of_type("aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain"):
        endpoint = domain.first("domainEndpointOptions")
        endpoint = endpoint if isinstance(endpoint, Mapping) else {}
        node_to_node = domain.first("nodeToNodeEncryption")
        node_to_node = node_to_node if isinstance(node_to_node, Mapping) else {}
        enforce, policy, n2n = (endpoint.get("enforceHttps"), endpoint.get("tlsSecurityPolicy"),
                                node_to_node.get("enabled"))
        if any(is_unknown(v) for v in (enforce, policy, n2n)):
            report(preview_unknown(domain, "domain_endpoint_options", "set them literally"), domain.urn)
            continue
        problems = []
        if not is_true(enforce):
            problems.append("HTTPS is not enforced")
        if policy not in OPENSEARCH_TLS:
            problems.append(f"TLS policy {policy or '(default)'} allows TLS below 1.2")
        if not is_true(n2n):
            problems.append("node-to-node encryption is off")
        if problems:
            report(message(domain, "; ".join(problems),
                           "set domain_endpoint_options (enforce_https=True, tls_security_policy="
                           "'Policy-Min-TLS-1-2-2019-07') and node_to_node_encryption.enabled=True"),
                   domain.urn)
    for docdb in graph.of_type("aws:docdb/cluster:Cluster"):
        groups = graph.targets(docdb, "dbClusterParameterGroupName")
        for group in (g for g in groups if g.type == DOCDB_PARAMETERS):
            for parameter in as_list(group.props.get("parameters")):
                if isinstance(parameter, Mapping) and parameter.get("name") == "tls" \
                        and parameter.get("value") == "disabled":
                    report(message(docdb, f"{group.name} turns TLS off", "set tls=enabled"), docdb.urn)
    for memorydb in graph.of_type("aws:memorydb/cluster:Cluster"):
        if memorydb.props.get("tlsEnabled") is False:
            report(message(memorydb, "TLS is turned off", "leave tls_enabled=True"), memorydb.urn)


datastore_require_encryption_in_transit = stack_policy(
    name="datastore-require-encryption-in-transit",
    description="Databases must force SSL; caches and search domains must require TLS 1.2+.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_datastores_in_transit,
    remediation="Force SSL with a parameter group (rds.force_ssl=1), turn on ElastiCache transit "
                "encryption, enforce HTTPS with a TLS 1.2 policy on OpenSearch.",
    framework=pci("4.2.1"), tags=TAGS,
    covers=(RDS_CLUSTER, RDS_INSTANCE, CLUSTER_PARAMETERS, INSTANCE_PARAMETERS,
            "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/cluster:Cluster",
            "aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain", "aws:docdb/cluster:Cluster",
            DOCDB_PARAMETERS, "aws:memorydb/cluster:Cluster"))


POLICIES = [storage_require_encryption_at_rest, storage_require_customer_managed_key,
            alb_listener_require_tls,
            cloudfront_distribution_require_tls, datastore_require_encryption_in_transit]
