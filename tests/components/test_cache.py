"""ElastiCache: nodes in different AZs, failover, encryption at rest and in transit, IAM auth."""

from __future__ import annotations

import json

import pytest

from components.cache import ProductCache
from components.data_common import Availability, Encryption
from offline.engine import ProgramError, Resource, Snapshot
from tests.components.data_programs import cache_args, run_component
from tests.support.stacks import RunStack

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def group_of(snapshot: Snapshot) -> Resource:
    (group,) = snapshot.of_type(GROUP)
    return group


def test_nodes_sit_in_different_azs_with_automatic_failover(prod: Snapshot,
                                                           staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        group = group_of(snapshot)
        nodes = int(snapshot.config["ecommerce:cacheNodeCount"])
        assert group.inputs["numCacheClusters"] == nodes >= 2
        zones = group.inputs["preferredCacheClusterAzs"]
        assert len(zones) == nodes
        assert zones[0] != zones[1]  # the primary and the first replica
        assert group.inputs["automaticFailoverEnabled"] is True
        assert group.inputs["multiAzEnabled"] is True


def test_the_cache_is_encrypted_at_rest_with_its_key_and_requires_tls(prod: Snapshot) -> None:
    group = group_of(prod)
    key = next(k for k in prod.of_type("aws:kms/key:Key")
               if k.outputs["arn"] == group.inputs["kmsKeyId"])
    assert key.inputs["enableKeyRotation"] is True
    assert group.inputs["atRestEncryptionEnabled"] is True
    assert group.inputs["transitEncryptionEnabled"] is True
    assert group.inputs["transitEncryptionMode"] == "required"


def test_clients_authenticate_with_iam_and_the_default_user_is_off(prod: Snapshot) -> None:
    group = group_of(prod)
    assert "authToken" not in group.inputs
    (user_group,) = prod.of_type("aws:elasticache/userGroup:UserGroup")
    assert group.inputs["userGroupIds"] == [user_group.inputs["userGroupId"]]
    users = {u.inputs["userId"]: u for u in prod.of_type("aws:elasticache/user:User")}
    assert set(user_group.inputs["userIds"]) == set(users)
    default = next(u for u in users.values() if u.inputs["userName"] == "default")
    assert default.inputs["accessString"].startswith("off ")
    app = next(u for u in users.values() if u.inputs["userName"] != "default")
    assert app.inputs["authenticationMode"] == {"type": "iam"}
    assert app.inputs["userName"] == app.inputs["userId"]  # IAM auth requires it
    assert all("passwords" not in u.inputs for u in users.values())


def test_the_app_tasks_and_the_cache_invalidator_may_connect_as_the_app_user_only(prod: Snapshot) -> None:
    group = group_of(prod)
    (app,) = [u for u in prod.of_type("aws:elasticache/user:User")
              if u.inputs["userName"] != "default"]
    roles = {r.outputs["name"] for r in prod.of_type("aws:iam/role:Role")
             if (r.name.startswith("web-") and r.name.endswith("-task"))
             or r.name == "cache-invalidator-role"}
    grants = {p.inputs["role"]: [s for s in json.loads(p.inputs["policy"])["Statement"]
                                 if "elasticache:Connect" in json.dumps(s)]
              for p in prod.of_type("aws:iam/rolePolicy:RolePolicy")
              if "elasticache:Connect" in p.inputs["policy"]}
    assert len(roles) == 4 and set(grants) == roles  # no other function, no other tier
    for (statement,) in grants.values():
        assert statement["Action"] == "elasticache:Connect"
        assert statement["Resource"] == [group.outputs["arn"], app.outputs["arn"]]


def test_snapshots_are_kept_and_prod_takes_a_final_one(prod: Snapshot,
                                                       staging: Snapshot) -> None:
    assert group_of(prod).inputs["snapshotRetentionLimit"] >= 1
    assert group_of(prod).inputs["finalSnapshotIdentifier"]
    assert group_of(staging).inputs["snapshotRetentionLimit"] >= 1
    assert "finalSnapshotIdentifier" not in group_of(staging).inputs


def test_only_the_app_and_lambda_tiers_reach_the_cache_in_the_isolated_subnets(prod: Snapshot) -> None:
    group = group_of(prod)
    (group_sg,) = group.inputs["securityGroupIds"]
    rules = sorted((r for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
                    if r.inputs["securityGroupId"] == group_sg), key=lambda r: r.name)  # client-0, client-1
    [lambda_group] = [g.outputs["id"] for g in prod.of_type("aws:ec2/securityGroup:SecurityGroup")
                      if g.name == "data-clients-lambda"]
    # the storefront reads, the cache-invalidator writes; the VPC has no other way in
    assert [r.inputs["referencedSecurityGroupId"] for r in rules] == [
        prod.outputs["dataAppSecurityGroupId"], lambda_group]
    assert (rules[0].inputs["fromPort"], rules[0].inputs["toPort"]) == (6379, 6379)
    subnet_group = next(g for g in prod.of_type("aws:elasticache/subnetGroup:SubnetGroup")
                        if g.outputs["name"] == group.inputs["subnetGroupName"])
    isolated = {s.outputs["id"] for s in prod.of_type("aws:ec2/subnet:Subnet")
                if s.inputs["tags"]["subnet-role"] == "isolated"}
    assert set(subnet_group.inputs["subnetIds"]) == isolated


def test_the_slow_log_goes_to_an_encrypted_group(prod: Snapshot) -> None:
    (delivery,) = group_of(prod).inputs["logDeliveryConfigurations"]
    assert (delivery["logType"], delivery["destinationType"]) == ("slow-log", "cloudwatch-logs")
    (log_group,) = [g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")
                    if g.outputs["name"] == delivery["destination"]]
    assert log_group.inputs["kmsKeyId"].startswith("arn:aws:kms:")
    assert log_group.inputs["retentionInDays"] == 365


def test_one_node_is_only_an_explicit_argument() -> None:
    default = group_of(run_component(lambda: ProductCache("cache", cache_args())))
    assert default.inputs["multiAzEnabled"] is True and default.inputs["numCacheClusters"] == 2
    single = group_of(run_component(lambda: ProductCache("cache", cache_args(
        availability=Availability.SINGLE_AZ))))
    assert single.inputs["numCacheClusters"] == 1
    assert single.inputs["multiAzEnabled"] is False
    assert single.inputs["automaticFailoverEnabled"] is False


def test_no_stack_config_can_make_a_single_node_cache(run_stack: RunStack) -> None:
    with pytest.raises(ProgramError, match="cacheNodeCount = 1 is not allowed"):
        run_stack("staging", {"ecommerce:cacheNodeCount": 1})


def test_an_unencrypted_cache_is_only_an_explicit_argument() -> None:
    snapshot = run_component(lambda: ProductCache("cache", cache_args(
        encryption=Encryption.NONE)))
    group = group_of(snapshot)
    assert group.inputs["atRestEncryptionEnabled"] is False
    assert group.inputs["transitEncryptionEnabled"] is False
    assert not snapshot.of_type("aws:elasticache/userGroup:UserGroup")
