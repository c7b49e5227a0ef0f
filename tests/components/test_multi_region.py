"""The triggered second Region (docs/multi-region.md): with multiRegion on, the same components
build the secondary Region with that Region's providers, the data spans both Regions (Aurora Global
Database, a global carts table, the static assets' copy) and Route 53 sends CloudFront to the
nearest healthy ALB; with it off, none of it exists."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from components.database import GlobalRole, RelationalDatabase
from components.schedules import JOBS
from components.stack import TRIGGER_TAG
from offline import diagram
from offline.analyzer import POLICY_PACK_DIR, PolicyPackProcess
from offline.engine import ProgramError, Resource, Snapshot, run_program, stack_config
from tests.components.data_programs import database_args
from tests.support.resources import default_tags, taggable

PRIMARY, SECONDARY = "us-east-1", "eu-central-1"
SECONDARY_CERTIFICATE = ("arn:aws:acm:eu-central-1:123456789012:certificate/"
                         "9b1c2d3e-4f5a-4b6c-8d7e-0f1a2b3c4d5e")
MULTI_REGION = {
    "ecommerce:multiRegion": True, "ecommerce:secondaryRegion": SECONDARY,
    "ecommerce:multiRegionTrigger": "eu-latency-slo-breach",
    "ecommerce:multiRegionTriggerReference": "EU checkout p99 SLO report 2026-10",
    "ecommerce:hostedZoneId": "Z0123456789ABCDEFGHIJ",
    "ecommerce:secondaryOriginCertificateArn": SECONDARY_CERTIFICATE,
}

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
TABLE = "aws:dynamodb/table:Table"
BUCKET = "aws:s3/bucket:Bucket"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
RECORD = "aws:route53/record:Record"
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SCHEDULE = "aws:scheduler/schedule:Schedule"
SECONDARY_GROUP = "ecommerce:region:SecondaryRegion"
# What only a multi-Region stack has.
MULTI_REGION_ONLY = (GLOBAL_CLUSTER, REPLICATION, RECORD, HEALTH_CHECK, SECONDARY_GROUP,
                     "ecommerce:edge:LatencyRoutedOrigin", "ecommerce:edge:StaticReplica")


@pytest.fixture(scope="module")
def multi_region() -> Snapshot:
    """Prod with the second Region on (one run for the whole module)."""
    return run_program("prod", overrides=MULTI_REGION)


def region_of(snapshot: Snapshot, resource: Resource) -> str:
    provider = snapshot.provider_of(resource)
    assert provider is not None, f"{resource.urn} has no explicit provider"
    return str(provider.inputs["region"])


def in_secondary(snapshot: Snapshot, resource: Resource) -> bool:
    return any(a.type == SECONDARY_GROUP for a in snapshot.ancestors(resource))


def by_id(snapshot: Snapshot, type_: str, value: str) -> Resource:
    (found,) = [r for r in snapshot.of_type(type_) if r.outputs.get("id") == value
                or r.outputs.get("arn") == value]
    return found


def clusters(snapshot: Snapshot) -> tuple[Resource, Resource]:
    primary = [c for c in snapshot.of_type(CLUSTER) if not in_secondary(snapshot, c)]
    secondary = [c for c in snapshot.of_type(CLUSTER) if in_secondary(snapshot, c)]
    assert len(primary) == 1 and len(secondary) == 1
    return primary[0], secondary[0]


def tables_named(snapshot: Snapshot, table: str) -> list[Resource]:
    return [t for t in snapshot.of_type(TABLE) if t.name == f"user-state-{table}"]


# ----------------------------------------------------------------------------------------------
# The switch


@pytest.mark.parametrize(("missing", "line"), [
    ("ecommerce:multiRegionTrigger", "ecommerce:multiRegionTrigger is missing: multiRegion is true, "
                                     "so name the business trigger, one of residency-contract, "
                                     "eu-latency-slo-breach, region-outage-cost-case"),
    ("ecommerce:multiRegionTriggerReference", "ecommerce:multiRegionTriggerReference is missing"),
    ("ecommerce:hostedZoneId", "ecommerce:hostedZoneId is missing"),
    ("ecommerce:secondaryOriginCertificateArn", "ecommerce:secondaryOriginCertificateArn is missing"),
])
def test_turning_it_on_needs_the_trigger_and_the_routing_keys(missing: str, line: str) -> None:
    # GIVEN prod with multiRegion on and one of its required keys left out
    raw, _ = stack_config("prod", overrides={k: v for k, v in MULTI_REGION.items() if k != missing})

    # WHEN the config is read THEN it fails with one line naming the stack file and the key
    with pytest.raises(ConfigError) as error:
        parse_stack_config(raw, stack="prod")
    assert str(error.value).startswith(f"Pulumi.prod.yaml: {line}")
    assert "\n" not in str(error.value)


def test_a_missing_trigger_stops_the_program_before_any_resource_exists() -> None:
    overrides = {k: v for k, v in MULTI_REGION.items() if k != "ecommerce:multiRegionTrigger"}
    with pytest.raises(ProgramError, match=r"^Pulumi\.prod\.yaml: ecommerce:multiRegionTrigger is "
                                           r"missing"):
        run_program("prod", overrides=overrides)


def test_the_secondary_certificate_must_be_in_the_secondary_region() -> None:
    raw, _ = stack_config("prod", overrides={
        **MULTI_REGION, "ecommerce:secondaryOriginCertificateArn":
            SECONDARY_CERTIFICATE.replace(SECONDARY, PRIMARY)})
    with pytest.raises(ConfigError, match="secondaryOriginCertificateArn must be in "
                                          "secondaryRegion eu-central-1"):
        parse_stack_config(raw, stack="prod")


@pytest.mark.parametrize(("overrides", "problem"), [
    ({**MULTI_REGION, "ecommerce:databaseWriterRegion": "eu-west-1"},
     "ecommerce:databaseWriterRegion = 'eu-west-1' is not allowed: aws:region us-east-1 or "
     "secondaryRegion eu-central-1"),
    ({"ecommerce:databaseWriterRegion": SECONDARY},
     "ecommerce:databaseWriterRegion = 'eu-central-1' is not allowed: aws:region us-east-1 "
     "(multiRegion is off)"),
])
def test_the_writer_region_is_one_of_the_stack_s_regions(overrides: dict[str, Any], problem: str) -> None:
    raw, _ = stack_config("prod", overrides=overrides)
    with pytest.raises(ConfigError) as error:
        parse_stack_config(raw, stack="prod")
    assert str(error.value) == f"Pulumi.prod.yaml: {problem}"


def test_off_creates_none_of_it(prod: Snapshot) -> None:
    # GIVEN prod as configured (multiRegion off by default)
    # THEN nothing of the second Region exists: one Region, no global data, no routing records
    assert not prod.of_type(*MULTI_REGION_ONLY)
    assert {region_of(prod, r) for r in prod.custom() if r.type.startswith("aws:")} == {PRIMARY}
    for table in prod.of_type(TABLE):
        assert "replicas" not in table.inputs and "streamEnabled" not in table.inputs
    (cluster,) = prod.of_type(CLUSTER)
    assert cluster.inputs["manageMasterUserPassword"] is True
    assert not [p for p in prod.resources if p.type.startswith("pulumi:providers:")
                and TRIGGER_TAG in default_tags(p)]
    assert "secondaryRegion" not in prod.outputs


def test_turning_it_on_keeps_every_resource_of_the_primary_region(prod: Snapshot,
                                                                   multi_region: Snapshot) -> None:
    # THEN the switch only adds: no primary resource is renamed or re-parented (so none replaced)
    assert {r.urn for r in prod.resources} <= {r.urn for r in multi_region.resources}


def test_every_resource_of_the_second_region_names_the_trigger(multi_region: Snapshot) -> None:
    # GIVEN the secondary Region's resources THEN their providers tag them with the trigger,
    # where the policy pack's multi-region-require-trigger looks
    secondary = [r for r in taggable(multi_region.resources) if region_of(multi_region, r) == SECONDARY]
    assert len(secondary) > 100
    for resource in secondary:
        tags = default_tags(multi_region.provider_of(resource))  # type: ignore[arg-type]
        assert tags[TRIGGER_TAG] == "eu-latency-slo-breach", resource.urn


# ----------------------------------------------------------------------------------------------
# The regional stack in both Regions


@pytest.mark.parametrize("type_", [
    "aws:ec2/vpc:Vpc", "aws:lb/loadBalancer:LoadBalancer", "aws:ecs/cluster:Cluster",
    "aws:opensearch/domain:Domain", "aws:sesv2/emailIdentity:EmailIdentity",
    "aws:cloudwatch/eventBus:EventBus", "aws:sns/topic:Topic", CLUSTER,
])
def test_the_regional_stack_is_built_in_each_region_with_its_provider(multi_region: Snapshot,
                                                                       type_: str) -> None:
    # THEN each Region has its own, served by a provider of that Region
    regions = sorted(region_of(multi_region, r) for r in multi_region.of_type(type_)
                     if type_ != "aws:sns/topic:Topic" or r.name == "alarms")
    assert regions == [SECONDARY, PRIMARY]


def test_the_event_flow_runs_in_the_second_region(multi_region: Snapshot) -> None:
    secondary = [r for r in multi_region.resources if in_secondary(multi_region, r)]
    # every consumer's queue, DLQ and function, and the jobs, with that Region's provider
    consumers = [r for r in secondary if r.type == "ecommerce:events:QueueConsumer"]
    # (no cache there, so no cache-invalidator)
    assert sorted(c.name for c in consumers) == ["analytics", "email", "fulfillment",
                                                 "recommendations", "search-indexer"]
    functions = [r for r in secondary if r.type == "aws:lambda/function:Function"]
    assert len(functions) == 5 + len(JOBS)
    assert {region_of(multi_region, f) for f in functions} == {SECONDARY}
    # the jobs write to the one writer database: they run in the primary Region only
    schedules = {region_of(multi_region, s): s.inputs["state"] for s in multi_region.of_type(SCHEDULE)}
    assert schedules == {PRIMARY: "ENABLED", SECONDARY: "DISABLED"}


def test_the_second_region_has_its_own_ses_mail_from_domain(multi_region: Snapshot) -> None:
    domains = {region_of(multi_region, r): r.inputs["mailFromDomain"] for r in
               multi_region.of_type("aws:sesv2/emailIdentityMailFromAttributes:"
                                    "EmailIdentityMailFromAttributes")}
    assert domains == {PRIMARY: "mail.shop.example.com",
                       SECONDARY: "mail-eu-central-1.shop.example.com"}


def test_the_second_alb_uses_the_secondary_certificate(multi_region: Snapshot) -> None:
    listeners = {region_of(multi_region, r): r.inputs["certificateArn"]
                 for r in multi_region.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443}
    assert listeners[SECONDARY] == SECONDARY_CERTIFICATE
    assert listeners[PRIMARY] == multi_region.config["ecommerce:originCertificateArn"]


def test_cloudfront_stays_one_distribution_in_front_of_the_origin_name(multi_region: Snapshot) -> None:
    (distribution,) = multi_region.of_type("aws:cloudfront/distribution:Distribution")
    (app,) = [o for o in distribution.inputs["origins"] if o["originId"] == "app"]
    assert app["domainName"] == multi_region.config["ecommerce:originDomainName"]
    assert len(multi_region.of_type("aws:wafv2/webAcl:WebAcl")) == 1


# ----------------------------------------------------------------------------------------------
# Aurora Global Database


def test_the_global_database_is_made_from_the_primary_cluster(multi_region: Snapshot) -> None:
    primary, secondary = clusters(multi_region)
    (global_cluster,) = multi_region.of_type(GLOBAL_CLUSTER)
    # the primary joins from outside, so turning it on never replaces the primary cluster
    assert global_cluster.inputs["sourceDbClusterIdentifier"] == primary.outputs["arn"]
    assert region_of(multi_region, global_cluster) == PRIMARY
    assert secondary.inputs["globalClusterIdentifier"] == global_cluster.outputs["id"]
    assert global_cluster.urn in secondary.dependencies


def test_the_secondary_cluster_sets_no_database_name_or_credentials(multi_region: Snapshot) -> None:
    _, secondary = clusters(multi_region)
    for credential in ("databaseName", "masterUsername", "masterPassword", "masterPasswordWo",
                       "manageMasterUserPassword", "masterUserSecretKmsKeyId"):
        assert credential not in secondary.inputs
    assert secondary.inputs["enableGlobalWriteForwarding"] is True


def test_the_secondary_cluster_is_encrypted_with_a_key_of_its_region(multi_region: Snapshot) -> None:
    _, secondary = clusters(multi_region)
    assert region_of(multi_region, secondary) == SECONDARY
    assert secondary.inputs["storageEncrypted"] is True
    key = by_id(multi_region, "aws:kms/key:Key", secondary.inputs["kmsKeyId"])
    assert region_of(multi_region, key) == SECONDARY
    # its name differs from the primary's: names are unique across a global database's Regions
    primary, _ = clusters(multi_region)
    assert secondary.inputs["clusterIdentifier"] != primary.inputs["clusterIdentifier"]


def test_the_secondary_readers_span_two_azs_of_its_region(multi_region: Snapshot) -> None:
    _, secondary = clusters(multi_region)
    readers = [i for i in multi_region.of_type(INSTANCE)
               if i.inputs["clusterIdentifier"] == secondary.outputs["id"]]
    zones = {i.inputs["availabilityZone"] for i in readers}
    assert len(readers) >= 2 and len(zones) >= 2
    assert all(zone.startswith(SECONDARY) for zone in zones)
    assert {region_of(multi_region, i) for i in readers} == {SECONDARY}
    assert all(i.name.startswith("database-reader-") for i in readers)


def test_the_primary_master_password_comes_from_a_replicated_secret(multi_region: Snapshot) -> None:
    # RDS cannot manage a global database member's password; Secrets Manager draws it instead
    primary, _ = clusters(multi_region)
    assert "manageMasterUserPassword" not in primary.inputs
    assert "masterPassword" not in primary.inputs
    (version,) = [v for v in multi_region.of_type("aws:secretsmanager/secretVersion:SecretVersion")
                  if v.name == "database-master"]
    assert version.urn in primary.property_dependencies["masterPasswordWo"]
    secret = by_id(multi_region, "aws:secretsmanager/secret:Secret", version.inputs["secretId"])
    (replica,) = secret.inputs["replicas"]
    assert replica["region"] == SECONDARY
    assert region_of(multi_region, by_id(multi_region, "aws:kms/key:Key",
                                         replica["kmsKeyId"])) == SECONDARY
    # the secondary's proxy, like the primary's, logs in with IAM, not with the secret
    (proxy,) = [p for p in multi_region.of_type("aws:rds/proxy:Proxy") if in_secondary(multi_region, p)]
    assert proxy.inputs["defaultAuthScheme"] == "IAM_AUTH"


def app_environment(snapshot: Snapshot, region: str, service: str = "order-api") -> dict[str, str]:
    (task,) = [t for t in snapshot.of_type("aws:ecs/taskDefinition:TaskDefinition")
               if region_of(snapshot, t) == region and t.name.endswith(service)]
    (app, *_) = json.loads(task.inputs["containerDefinitions"])
    return {e["name"]: e["value"] for e in app["environment"]}


def function_environment(snapshot: Snapshot, region: str, name: str) -> dict[str, str]:
    (function,) = [f for f in snapshot.of_type("aws:lambda/function:Function")
                   if f.name == name and region_of(snapshot, f) == region]
    return dict(function.inputs["environment"]["variables"])


def proxy_endpoints(snapshot: Snapshot, region: str) -> tuple[str, str]:
    """The proxy's default (read/write) and read-only endpoints in `region`."""
    (proxy,) = [p for p in snapshot.of_type("aws:rds/proxy:Proxy") if region_of(snapshot, p) == region]
    (readers,) = [e for e in snapshot.of_type("aws:rds/proxyEndpoint:ProxyEndpoint")
                  if region_of(snapshot, e) == region]
    assert readers.inputs["targetRole"] == "READ_ONLY"
    return proxy.outputs["endpoint"], readers.outputs["endpoint"]


def test_each_region_connects_where_the_writer_is(multi_region: Snapshot) -> None:
    # GIVEN the declared roles (the primary Region writes)
    primary, secondary = clusters(multi_region)
    # THEN the primary's app and functions write through its proxy; the secondary's read through
    # its proxy's read-only endpoint, whose readers forward writes to the primary
    for region, endpoint in ((PRIMARY, 0), (SECONDARY, 1)):
        assert app_environment(multi_region, region)["PGHOST"] == \
            proxy_endpoints(multi_region, region)[endpoint]
        env = function_environment(multi_region, region, "fulfillment")
        assert env["PGHOST"] == proxy_endpoints(multi_region, region)[endpoint]
        # the storefront reads its own Region's readers in both
        assert app_environment(multi_region, region, "storefront")["PGHOST"] == \
            proxy_endpoints(multi_region, region)[1]


def test_after_a_failover_the_writer_region_setting_moves_writes_and_jobs(
        multi_region: Snapshot) -> None:
    # GIVEN the global database failed over to the secondary Region, and the runbook's setting
    moved = run_program("prod", overrides={**MULTI_REGION, "ecommerce:databaseWriterRegion": SECONDARY})
    primary, secondary = clusters(moved)
    # THEN the secondary Region writes to its (now writer) cluster and runs the jobs; the primary
    # Region reads from its readers and forwards its writes
    assert app_environment(moved, SECONDARY)["PGHOST"] == proxy_endpoints(moved, SECONDARY)[0]
    assert app_environment(moved, PRIMARY)["PGHOST"] == proxy_endpoints(moved, PRIMARY)[1]
    assert function_environment(moved, SECONDARY, "fulfillment")["PGHOST"] == \
        proxy_endpoints(moved, SECONDARY)[0]
    assert function_environment(moved, PRIMARY, "fulfillment")["PGHOST"] == \
        proxy_endpoints(moved, PRIMARY)[1]
    schedules = {region_of(moved, s): s.inputs["state"] for s in moved.of_type(SCHEDULE)}
    assert schedules == {PRIMARY: "DISABLED", SECONDARY: "ENABLED"}
    # ... and nothing is created, deleted or renamed by it but the schema migrator, which
    # follows the writer (DDL runs there only)
    def urns(snapshot: Snapshot) -> set[str]:
        return {r.urn for r in snapshot.resources if "ecommerce:data:SchemaMigrations" not in r.urn}

    assert urns(moved) == urns(multi_region)
    (migrator,) = moved.of_type("ecommerce:data:SchemaMigrations")
    assert migrator.parent is not None and SECONDARY in migrator.parent


# ----------------------------------------------------------------------------------------------
# DynamoDB: carts are global, sessions and idempotency records stay regional


def test_carts_are_one_global_table_with_a_replica_in_the_second_region(multi_region: Snapshot) -> None:
    (carts,) = tables_named(multi_region, "carts")
    assert region_of(multi_region, carts) == PRIMARY
    (replica,) = carts.inputs["replicas"]
    assert replica["regionName"] == SECONDARY
    assert replica["pointInTimeRecovery"] is True
    key = by_id(multi_region, "aws:kms/key:Key", replica["kmsKeyArn"])
    assert region_of(multi_region, key) == SECONDARY
    assert carts.inputs["streamEnabled"] is True
    assert carts.inputs["streamViewType"] == "NEW_AND_OLD_IMAGES"


@pytest.mark.parametrize("table", ["sessions", "idempotency"])
def test_sessions_and_idempotency_records_are_never_replicated(multi_region: Snapshot,
                                                                table: str) -> None:
    tables = tables_named(multi_region, table)
    # THEN each Region has its own table, and none of them replicates
    assert sorted(region_of(multi_region, t) for t in tables) == [SECONDARY, PRIMARY]
    for resource in tables:
        assert "replicas" not in resource.inputs
    assert not [t for t in multi_region.of_type(TABLE) for r in t.inputs.get("replicas", [])
                if t.name != "user-state-carts"]


def test_the_second_region_uses_the_carts_replica(multi_region: Snapshot) -> None:
    (carts,) = tables_named(multi_region, "carts")
    env = app_environment(multi_region, SECONDARY)
    assert env["CARTS_TABLE"] == carts.outputs["name"]
    assert env["SESSIONS_TABLE"] != carts.outputs["name"]
    (sessions,) = [t for t in tables_named(multi_region, "sessions") if in_secondary(multi_region, t)]
    assert env["SESSIONS_TABLE"] == sessions.outputs["name"]


# ----------------------------------------------------------------------------------------------
# S3 Cross-Region Replication of the static assets


def test_the_static_assets_replicate_to_a_private_versioned_bucket(multi_region: Snapshot) -> None:
    (replication,) = multi_region.of_type(REPLICATION)
    (source,) = [b for b in multi_region.of_type(BUCKET) if b.name == "edge-static"]
    assert replication.inputs["bucket"] == source.outputs["bucket"]
    (rule,) = replication.inputs["rules"]
    assert rule["status"] == "Enabled"
    destination = by_id(multi_region, BUCKET, rule["destination"]["bucket"])
    assert region_of(multi_region, destination) == SECONDARY
    bucket_id = destination.outputs["id"]

    def of_bucket(type_: str) -> Resource:
        (found,) = [r for r in multi_region.of_type(type_) if r.inputs.get("bucket") == bucket_id]
        return found

    versioning = of_bucket("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    assert versioning.urn in replication.dependencies
    block = of_bucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy",
                                                 "ignorePublicAcls", "restrictPublicBuckets"))
    encryption = of_bucket("aws:s3/bucketServerSideEncryptionConfiguration:"
                           "BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]


def test_the_replication_role_may_only_read_the_source_and_replicate_into_the_copy(
        multi_region: Snapshot) -> None:
    (replication,) = multi_region.of_type(REPLICATION)
    role = by_id(multi_region, "aws:iam/role:Role", replication.inputs["role"])
    (policy,) = [p for p in multi_region.of_type("aws:iam/rolePolicy:RolePolicy")
                 if p.inputs["role"] == role.outputs["id"]]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    destination = replication.inputs["rules"][0]["destination"]["bucket"]
    for statement in statements:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) \
            else [statement["Resource"]]
        assert "*" not in resources and statement["Effect"] == "Allow"
        actions = statement["Action"]
        if any(a.startswith("s3:Replicate") for a in actions):
            assert resources == [f"{destination}/*"]
        else:
            assert all(not r.startswith(destination) for r in resources)


# ----------------------------------------------------------------------------------------------
# Route 53 latency routing with health checks


def test_the_origin_name_resolves_to_the_nearest_healthy_region(multi_region: Snapshot) -> None:
    records = [r for r in multi_region.of_type(RECORD)
               if r.inputs["name"] == multi_region.config["ecommerce:originDomainName"]]
    albs = {region_of(multi_region, a): a for a in multi_region.of_type("aws:lb/loadBalancer:LoadBalancer")}
    assert sorted(r.inputs["setIdentifier"] for r in records) == [SECONDARY, PRIMARY]
    for record in records:
        region = record.inputs["setIdentifier"]
        assert record.inputs["name"] == multi_region.config["ecommerce:originDomainName"]
        assert record.inputs["zoneId"] == MULTI_REGION["ecommerce:hostedZoneId"]
        assert record.inputs["latencyRoutingPolicies"] == [{"region": region}]
        (alias,) = record.inputs["aliases"]
        assert alias["name"] == albs[region].outputs["dnsName"]
        assert alias["evaluateTargetHealth"] is True
        # its health check reads an alarm on that Region's ALB, made in that Region
        check = by_id(multi_region, HEALTH_CHECK, record.inputs["healthCheckId"])
        assert check.inputs["type"] == "CLOUDWATCH_METRIC"
        assert check.inputs["cloudwatchAlarmRegion"] == region
        (alarm,) = [a for a in multi_region.of_type(ALARM)
                    if a.outputs["name"] == check.inputs["cloudwatchAlarmName"]]
        assert region_of(multi_region, alarm) == region
        dimensions = [q["metric"]["dimensions"] for q in alarm.inputs["metricQueries"] if "metric" in q]
        assert {d["LoadBalancer"] for d in dimensions} == {albs[region].outputs["arnSuffix"]}


# ----------------------------------------------------------------------------------------------
# The policy pack


@pytest.fixture(scope="module")
def pack(multi_region: Snapshot) -> Iterator[PolicyPackProcess]:
    process = PolicyPackProcess.for_snapshot(multi_region, POLICY_PACK_DIR)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def test_the_policy_pack_blocks_nothing_and_sees_the_trigger(multi_region: Snapshot,
                                                             pack: PolicyPackProcess) -> None:
    # GIVEN the multi-Region snapshot WHEN the pack analyzes it as the CLI would
    pack.configure({})
    report = pack.analyze(multi_region)
    # THEN nothing is mandatory, every policy ran, and the named trigger satisfies the advisory
    assert [str(v) for v in report.mandatory] == []
    assert [str(v) for v in report.cannot_run] == []
    assert report.of_policy("multi-region-require-trigger") == ()
    # ... through the stack config and, without it, through the secondary Region's tags
    pack.configure({"multi-region-require-trigger": {"triggerConfigKeys": ["noSuchKey"]}})
    assert pack.analyze(multi_region).of_policy("multi-region-require-trigger") == ()
    pack.configure({"multi-region-require-trigger": {"triggerConfigKeys": ["noSuchKey"],
                                                     "triggerTagKeys": ["no-such-tag"]}})
    assert len(pack.analyze(multi_region).of_policy("multi-region-require-trigger")) == 1


def test_the_architecture_diagram_keeps_each_region_s_components_apart(multi_region: Snapshot) -> None:
    # GIVEN the same components in two Regions WHEN the diagram is drawn
    mermaid = diagram.to_mermaid(diagram.build(multi_region))
    # THEN every component group has its own id (Mermaid merges groups that share one)
    groups = re.findall(r"subgraph (\w+)", mermaid)
    assert len(groups) == len(set(groups))
    assert "c_RelationalDatabase_database_2" in groups


# ----------------------------------------------------------------------------------------------
# The component's role is explicit and checked


@pytest.mark.parametrize(("changes", "problem"), [
    ({"global_role": GlobalRole.SECONDARY}, "a membership goes with global_role SECONDARY"),
    ({"global_role": GlobalRole.PRIMARY}, "secondary_regions go with global_role PRIMARY"),
])
def test_a_global_role_without_its_links_is_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RelationalDatabase("database", database_args(**changes))


def test_the_second_region_s_database_clients_wait_for_the_writer_region_s_migrations(
        multi_region: Snapshot) -> None:
    from tests.components.test_schema_migrations import upstream

    # GIVEN one migrator, in the writer Region (DDL runs on the writer only)
    (invocation,) = multi_region.of_type("aws:lambda/invocation:Invocation")
    assert region_of(multi_region, invocation) == PRIMARY
    # THEN the second Region's services and functions that use the database wait for it too
    for resource in multi_region.of_type("aws:ecs/taskDefinition:TaskDefinition",
                                         "aws:lambda/function:Function"):
        if region_of(multi_region, resource) == SECONDARY and "PGHOST" in json.dumps(resource.inputs):
            assert invocation.urn in upstream(multi_region, resource), resource.urn
