"""Encryption at rest and in transit for the data the shop keeps and moves.

PCI DSS v4.0 Req 3.5 (stored account data unreadable), Req 4.2.1 (strong cryptography over open,
public networks) and Req 2.2.7 (non-console administrative access encrypted); the case study's
checkout path crosses CloudFront, the ALB, the cache and the database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
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
# At rest

# type -> (the boolean that turns encryption on (None: always encrypted), the key property)
AT_REST: dict[str, tuple[tuple[str, ...] | None, tuple[str, ...]]] = {
    "aws:rds/cluster:Cluster": (("storageEncrypted",), ("kmsKeyId",)),
    "aws:rds/instance:Instance": (("storageEncrypted",), ("kmsKeyId",)),
    "aws:docdb/cluster:Cluster": (("storageEncrypted",), ("kmsKeyId",)),
    "aws:neptune/cluster:Cluster": (("storageEncrypted",), ("kmsKeyArn",)),
    "aws:elasticache/replicationGroup:ReplicationGroup": (("atRestEncryptionEnabled",), ("kmsKeyId",)),
    "aws:opensearch/domain:Domain": (("encryptAtRest", "enabled"), ("encryptAtRest", "kmsKeyId")),
    "aws:elasticsearch/domain:Domain": (("encryptAtRest", "enabled"), ("encryptAtRest", "kmsKeyId")),
    "aws:efs/fileSystem:FileSystem": (("encrypted",), ("kmsKeyId",)),
    "aws:dynamodb/table:Table": (None, ("serverSideEncryption", "kmsKeyArn")),
    "aws:sns/topic:Topic": (("kmsMasterKeyId",), ("kmsMasterKeyId",)),
    "aws:cloudwatch/logGroup:LogGroup": (("kmsKeyId",), ("kmsKeyId",)),
    "aws:kinesis/stream:Stream": (("encryptionType",), ("kmsKeyId",)),
    "aws:sqs/queue:Queue": (("sqsManagedSseEnabled",), ("kmsMasterKeyId",)),
}
S3_SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")


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


def _encryption_on(resource: Res, switch: tuple[str, ...]) -> Any:
    """True, False or UNKNOWN: is the store encrypted at rest?"""
    value = _get(resource, switch)
    if resource.type == "aws:sqs/queue:Queue":
        key = resource.props.get("kmsMasterKeyId")
        if key is not None and (is_unknown(key) or key):
            return True
    if switch[-1] in ("kmsMasterKeyId", "kmsKeyId"):  # a key (known or computed) turns it on
        return is_unknown(value) or (isinstance(value, str) and bool(value))
    if is_unknown(value):
        return value
    if switch[-1] == "encryptionType":
        return value == "KMS"
    return is_true(value)


def _check_at_rest(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    if resource.type in S3_SSE:
        _check_s3_sse(resource, config, report)
        return
    switch, key_path = AT_REST[resource.type]
    if resource.type == "aws:cloudwatch/logGroup:LogGroup":
        name = resource.props.get("name") or resource.props.get("namePrefix") or resource.name
        if isinstance(name, str) and name.startswith(tuple(config["exemptLogGroupPrefixes"])):
            return
    if switch is not None:
        on = _encryption_on(resource, switch)
        if is_unknown(on):
            report(preview_unknown(resource, ".".join(map(snake, switch)), "set encryption as a literal"))
            return
        if not on:
            report(message(resource, f"the data is not encrypted at rest ({'.'.join(map(snake, switch))} "
                                     "is not set)", _AT_REST_FIX.get(resource.type, "turn encryption on")))
            return
    if config["requireCustomerManagedKey"]:
        key = _get(resource, key_path)
        if key is None or key == "" or (isinstance(key, str) and key.startswith("alias/aws/")):
            where = ".".join(map(snake, key_path))
            report(message(resource, f"encrypted with an AWS-owned or AWS-managed key ({where} is not "
                                     "set), so key use is not controlled or audited by us",
                           f"set {where} to a customer-managed KMS key"))


_AT_REST_FIX = {
    "aws:rds/cluster:Cluster": "set storage_encrypted=True (with kms_key_id for a customer-managed key)",
    "aws:rds/instance:Instance": "set storage_encrypted=True",
    "aws:docdb/cluster:Cluster": "set storage_encrypted=True",
    "aws:neptune/cluster:Cluster": "set storage_encrypted=True",
    "aws:elasticache/replicationGroup:ReplicationGroup": "set at_rest_encryption_enabled=True",
    "aws:opensearch/domain:Domain": "set encrypt_at_rest.enabled=True",
    "aws:elasticsearch/domain:Domain": "set encrypt_at_rest.enabled=True",
    "aws:efs/fileSystem:FileSystem": "set encrypted=True",
    "aws:sns/topic:Topic": "set kms_master_key_id to a KMS key (alias/aws/sns or a customer key)",
    "aws:cloudwatch/logGroup:LogGroup": "set kms_key_id to a customer-managed KMS key that CloudWatch "
                                        "Logs may use",
    "aws:kinesis/stream:Stream": "set encryption_type='KMS' and kms_key_id",
    "aws:sqs/queue:Queue": "set sqs_managed_sse_enabled=True or kms_master_key_id",
}


def _check_s3_sse(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    if not config["requireCustomerManagedKey"]:
        return  # every S3 object is encrypted (SSE-S3 at least) since January 2023
    for rule in as_list(resource.props.get("rules")):
        default = rule.get("applyServerSideEncryptionByDefault") if isinstance(rule, Mapping) else None
        default = default[0] if isinstance(default, list) and default else default
        algorithm = default.get("sseAlgorithm") if isinstance(default, Mapping) else None
        if isinstance(algorithm, str) and not algorithm.startswith("aws:kms"):
            report(message(resource, f"the bucket encrypts with {algorithm}, not a KMS key",
                           "use sse_algorithm='aws:kms' with kms_master_key_id"))


storage_require_encryption_at_rest = resource_policy(
    name="storage-require-encryption-at-rest",
    description="Databases, caches, search domains, tables, queues, topics, file systems, streams "
                "and log groups must be encrypted at rest.",
    level=MANDATORY, severity=Severity.HIGH, types=[*AT_REST, *S3_SSE], check=_check_at_rest,
    remediation="Turn on the service's encryption at rest (storage_encrypted, "
                "at_rest_encryption_enabled, encrypt_at_rest, kms_master_key_id, kms_key_id).",
    config={"requireCustomerManagedKey": {
                "type": "boolean", "default": False,
                "description": "Also require a customer-managed KMS key (not AWS-owned/managed)."},
            "exemptLogGroupPrefixes": string_list(
                "Log group names starting with one of these hold no app data (e.g. /aws/vendedlogs/).",
                [])},
    framework=pci("3.5.1"), tags=TAGS)


# ----------------------------------------------------------------------------------------------
# In transit: load balancers

LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
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
    allowed = set(config["allowedSslPolicies"])
    for listener in graph.of_type(*LISTENERS):
        protocol = listener.props.get("protocol")
        if is_unknown(protocol):
            report(preview_unknown(listener, "protocol", "set the listener's protocol literally"),
                   listener.urn)
            continue
        if protocol in (None, "HTTP"):
            actions = listener.props.get("defaultActions")
            if is_unknown(actions) or any(is_unknown(a) for a in as_list(actions)):
                report(preview_unknown(listener, "default_actions", "write the redirect literally"),
                       listener.urn)
            elif not _redirects_to_https(actions):
                report(message(listener, "an HTTP listener serves traffic in clear text",
                               "make the HTTP listener's only action a redirect to HTTPS (status "
                               "HTTP_301) and serve on an HTTPS listener"), listener.urn)
            for rule in graph.referrers(listener, LISTENER_RULES, "listenerArn"):
                if not _redirects_to_https(rule.props.get("actions")):
                    report(message(rule, f"the rule forwards traffic of the HTTP listener "
                                         f"'{listener.name}' in clear text",
                                   "attach the rule to the HTTPS listener"), rule.urn)
        elif protocol in ("HTTPS", "TLS"):
            policy = listener.props.get("sslPolicy")
            if is_unknown(policy):
                report(preview_unknown(listener, "ssl_policy", "set ssl_policy literally"), listener.urn)
            elif not isinstance(policy, str) or not (MODERN_ELB_POLICY.search(policy) or policy in allowed):
                shown = policy or "the default ELBSecurityPolicy-2016-08"
                report(message(listener, f"the TLS policy {shown} accepts TLS below 1.2",
                               "set ssl_policy='ELBSecurityPolicy-TLS13-1-2-2021-06'"), listener.urn)


alb_listener_require_tls = stack_policy(
    name="alb-listener-require-tls",
    description="Load balancer listeners must use TLS 1.2+; HTTP listeners may only redirect to HTTPS.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_listeners,
    remediation="Serve on HTTPS with ELBSecurityPolicy-TLS13-1-2-2021-06 and make port 80 redirect.",
    config={"allowedSslPolicies": string_list(
        "Further ELB security policies accepted (those of TLS 1.2+ are recognised by name).", [])},
    framework=pci("4.2.1"), tags=TAGS)


# ----------------------------------------------------------------------------------------------
# In transit: CloudFront

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
WEAK_ORIGIN_PROTOCOLS = {"SSLv3", "TLSv1", "TLSv1.1"}


def _check_cloudfront(resource: Res, config: Mapping[str, Any], report: Report) -> None:
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

RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_INSTANCE = "aws:rds/instance:Instance"
CLUSTER_PARAMETERS = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
INSTANCE_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
DOCDB_PARAMETERS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
OPENSEARCH_TLS = ("Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10",
                  "Policy-Min-TLS-1-2-RFC9151-FIPS-2024-08")
_FORCE_SSL = {"rds.force_ssl": ("1", "true", "on"), "require_secure_transport": ("1", "on", "true")}


def _forces_ssl(group: Res) -> Any:
    """True/False, or UNKNOWN, for a parameter group's SSL enforcement."""
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
    return False


def _check_database_ssl(graph: StackGraph, database: Res, report: Report) -> None:
    engine = database.props.get("engine")
    if database.type == RDS_INSTANCE and database.props.get("clusterIdentifier"):
        return
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


def _check_datastores_in_transit(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
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
    framework=pci("4.2.1"), tags=TAGS)


POLICIES = [storage_require_encryption_at_rest, alb_listener_require_tls,
            cloudfront_distribution_require_tls, datastore_require_encryption_in_transit]
