"""Aurora PostgreSQL: Multi-AZ instances, reader autoscaling, encryption, TLS, IAM auth, the proxy."""

from __future__ import annotations

import json

import pytest

from components.data_common import Availability, Encryption
from components.database import RelationalDatabase
from offline.engine import ProgramError, Resource, Snapshot
from tests.components.data_programs import (
    CLIENT_SG,
    database_args,
    run_component,
    three_az_staging,
)
from tests.support.stacks import RunStack

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def cluster_of(snapshot: Snapshot) -> Resource:
    (cluster,) = snapshot.of_type(CLUSTER)
    return cluster


def instances_of(snapshot: Snapshot) -> list[Resource]:
    cluster = cluster_of(snapshot)
    return [i for i in snapshot.of_type(INSTANCE)
            if i.inputs["clusterIdentifier"] == cluster.outputs["id"]]


def isolated_subnet_ids(snapshot: Snapshot) -> set[str]:
    return {s.outputs["id"] for s in snapshot.of_type("aws:ec2/subnet:Subnet")
            if s.inputs["tags"]["subnet-role"] == "isolated"}


def ingress_sources(snapshot: Snapshot, group_id: str) -> list[Resource]:
    return [r for r in snapshot.of_type(INGRESS) if r.inputs["securityGroupId"] == group_id]


def output_value(snapshot: Snapshot, name: str) -> str:
    return str(snapshot.outputs[name])


def test_the_cluster_has_its_writer_and_a_reader_in_different_azs(prod: Snapshot,
                                                                   staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        instances = instances_of(snapshot)
        writer = next(i for i in instances if i.inputs["promotionTier"] == 0)
        readers = [i for i in instances if i is not writer]
        assert len({i.inputs["availabilityZone"] for i in instances}) >= 2
        # the first failover target is a reader outside the writer's AZ
        first = min(readers, key=lambda r: r.inputs["promotionTier"])
        assert first.inputs["availabilityZone"] != writer.inputs["availabilityZone"]
        assert all(i.inputs["publiclyAccessible"] is False for i in instances)


def test_prod_runs_the_configured_readers_and_scales_them_for_the_spike(prod: Snapshot) -> None:
    assert len(instances_of(prod)) == 1 + int(prod.config["ecommerce:auroraReaderCount"])
    (target,) = prod.where("aws:appautoscaling/target:Target", serviceNamespace="rds")
    assert target.inputs["scalableDimension"] == "rds:cluster:ReadReplicaCount"
    assert target.inputs["resourceId"] == f"cluster:{cluster_of(prod).inputs['clusterIdentifier']}"
    assert target.inputs["minCapacity"] == 2
    assert target.inputs["maxCapacity"] == int(prod.config["ecommerce:auroraMaxReaders"])
    (policy,) = prod.where("aws:appautoscaling/policy:Policy", serviceNamespace="rds")
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert policy.inputs["resourceId"] == target.inputs["resourceId"]
    metric = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert metric["predefinedMetricSpecification"]["predefinedMetricType"] == \
        "RDSReaderAverageCPUUtilization"


def test_more_readers_in_config_spread_over_every_az() -> None:
    snapshot = three_az_staging()  # azCount 3, auroraReaderCount 3
    zones = [i.inputs["availabilityZone"] for i in instances_of(snapshot)]
    assert len(zones) == 4
    assert set(zones) == {"us-east-1a", "us-east-1b", "us-east-1c"}


def test_the_cluster_lives_in_the_isolated_subnets(prod: Snapshot) -> None:
    cluster = cluster_of(prod)
    group = next(g for g in prod.of_type("aws:rds/subnetGroup:SubnetGroup")
                 if g.outputs["name"] == cluster.inputs["dbSubnetGroupName"])
    assert set(group.inputs["subnetIds"]) == isolated_subnet_ids(prod)


def test_storage_secret_and_insights_use_the_relational_key_with_rotation(prod: Snapshot) -> None:
    cluster = cluster_of(prod)
    key = next(k for k in prod.of_type("aws:kms/key:Key")
               if k.outputs["arn"] == cluster.inputs["kmsKeyId"])
    assert key.inputs["enableKeyRotation"] is True
    assert cluster.inputs["storageEncrypted"] is True
    assert cluster.inputs["masterUserSecretKmsKeyId"] == key.outputs["arn"]
    for instance in instances_of(prod):
        assert instance.inputs["performanceInsightsEnabled"] is True
        assert instance.inputs["performanceInsightsKmsKeyId"] == key.outputs["arn"]


def test_the_master_password_is_managed_by_secrets_manager(prod: Snapshot,
                                                           staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        cluster = cluster_of(snapshot)
        assert cluster.inputs["manageMasterUserPassword"] is True
        assert "masterPassword" not in cluster.inputs
        assert output_value(snapshot, "databaseSecretArn") == \
            cluster.outputs["masterUserSecrets"][0]["secretArn"]


def test_connections_must_use_tls_and_may_use_iam(prod: Snapshot) -> None:
    cluster = cluster_of(prod)
    assert cluster.inputs["iamDatabaseAuthenticationEnabled"] is True
    group = next(g for g in prod.of_type("aws:rds/clusterParameterGroup:ClusterParameterGroup")
                 if g.outputs["name"] == cluster.inputs["dbClusterParameterGroupName"])
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["ssl_min_protocol_version"] == "TLSv1.2"
    assert group.inputs["family"] == "aurora-postgresql16"


def test_prod_keeps_its_data_and_staging_can_be_torn_down(prod: Snapshot,
                                                          staging: Snapshot) -> None:
    cluster = cluster_of(prod)
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.inputs["skipFinalSnapshot"] is False
    assert cluster.inputs["finalSnapshotIdentifier"]
    assert cluster.inputs["backupRetentionPeriod"] >= 14
    disposable = cluster_of(staging)
    assert disposable.inputs["deletionProtection"] is False
    assert disposable.inputs["skipFinalSnapshot"] is True
    assert disposable.inputs["backupRetentionPeriod"] >= 7


def test_postgres_logs_go_to_an_encrypted_group_the_stack_owns(prod: Snapshot) -> None:
    cluster = cluster_of(prod)
    assert cluster.inputs["enabledCloudwatchLogsExports"] == ["postgresql"]
    expected = f"/aws/rds/cluster/{cluster.inputs['clusterIdentifier']}/postgresql"
    (group,) = prod.where("aws:cloudwatch/logGroup:LogGroup", name=expected)
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert group.inputs["retentionInDays"] == 365
    assert group.urn in cluster.dependencies  # exists before RDS would create it unencrypted


def test_only_the_app_lambda_and_proxy_groups_reach_5432(prod: Snapshot) -> None:
    cluster = cluster_of(prod)
    (group_id,) = cluster.inputs["vpcSecurityGroupIds"]
    (proxy,) = prod.of_type("aws:rds/proxy:Proxy")
    (proxy_group_id,) = proxy.inputs["vpcSecurityGroupIds"]
    clients = {output_value(prod, "dataAppSecurityGroupId"),
               output_value(prod, "dataLambdaSecurityGroupId")}
    rules = ingress_sources(prod, group_id)
    assert {r.inputs["referencedSecurityGroupId"] for r in rules} == clients | {proxy_group_id}
    assert {r.inputs["referencedSecurityGroupId"] for r in ingress_sources(
        prod, proxy_group_id)} == clients
    for rule in rules + ingress_sources(prod, proxy_group_id):
        assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (5432, 5432)
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs


def test_the_proxy_requires_tls_and_iam_end_to_end_and_shares_no_password(prod: Snapshot) -> None:
    cluster = cluster_of(prod)
    (proxy,) = prod.of_type("aws:rds/proxy:Proxy")
    assert proxy.inputs["requireTls"] is True
    # every workload logs in as its own database user with an IAM token; no secret is shared
    assert proxy.inputs["defaultAuthScheme"] == "IAM_AUTH"
    assert not proxy.inputs.get("auths")
    assert set(proxy.inputs["vpcSubnetIds"]) == isolated_subnet_ids(prod)
    (target,) = prod.of_type("aws:rds/proxyTarget:ProxyTarget")
    assert target.inputs["dbClusterIdentifier"] == cluster.inputs["clusterIdentifier"]

    role = next(r for r in prod.of_type("aws:iam/role:Role")
                if r.outputs["arn"] == proxy.inputs["roleArn"])
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "rds.amazonaws.com"}
    (policy,) = prod.where("aws:iam/rolePolicy:RolePolicy", role=role.outputs["id"])
    (connect,) = json.loads(policy.inputs["policy"])["Statement"]
    assert connect["Action"] == "rds-db:connect"
    assert connect["Resource"] == (f"arn:aws:rds-db:us-east-1:123456789012:dbuser:"
                                   f"{cluster.outputs['clusterResourceId']}/*")


def test_single_az_is_only_an_explicit_argument() -> None:
    # GIVEN the component's defaults, WHEN built, THEN it is Multi-AZ with a reader elsewhere
    default = run_component(lambda: RelationalDatabase("db", database_args()))
    assert len({i.inputs["availabilityZone"] for i in instances_of(default)}) == 2
    # WHEN Availability.SINGLE_AZ is passed, THEN there is one instance and no reader scaling
    single = run_component(lambda: RelationalDatabase("db", database_args(
        availability=Availability.SINGLE_AZ)))
    assert len(instances_of(single)) == 1
    assert not single.where("aws:appautoscaling/target:Target", serviceNamespace="rds")


def test_no_stack_config_can_drop_the_reader(run_stack: RunStack) -> None:
    with pytest.raises(ProgramError, match="auroraReaderCount = 0 is not allowed"):
        run_stack("staging", {"ecommerce:auroraReaderCount": 0})


def test_an_unencrypted_cluster_is_only_an_explicit_argument() -> None:
    snapshot = run_component(lambda: RelationalDatabase("db", database_args(
        encryption=Encryption.NONE)))
    cluster = cluster_of(snapshot)
    assert cluster.inputs["storageEncrypted"] is False
    assert not snapshot.of_type("aws:kms/key:Key")
    (proxy,) = snapshot.of_type("aws:rds/proxy:Proxy")
    assert proxy.inputs["requireTls"] is False


def test_the_component_admits_exactly_the_clients_it_is_given() -> None:
    snapshot = run_component(lambda: RelationalDatabase("db", database_args()))
    (group_id,) = cluster_of(snapshot).inputs["vpcSecurityGroupIds"]
    sources = {r.inputs["referencedSecurityGroupId"] for r in ingress_sources(snapshot, group_id)}
    assert CLIENT_SG in sources and len(sources) == 2  # the client and the proxy


def test_a_multi_az_cluster_without_a_reader_is_refused() -> None:
    with pytest.raises(ProgramError, match="needs at least one reader in another AZ"):
        run_component(lambda: RelationalDatabase("db", database_args(reader_count=0)))
