"""Properties every data store shares: private, encrypted, no password, one store per pattern."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format

from offline.engine import Resource, Snapshot
from tests.support.resources import default_tags

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PROXY = "aws:rds/proxy:Proxy"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
DOMAIN = "aws:opensearch/domain:Domain"
TABLE = "aws:dynamodb/table:Table"
STORES = (CLUSTER, INSTANCE, PROXY, CACHE, DOMAIN, TABLE)
SECRET_KEY = re.compile(r"(?i)pass(word|wd|phrase)s?$|authtoken|secretstring|apikey")
# The Pulumi wire protocol's marker of a secret value (encrypted in state, masked in output).
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"


def store_security_groups(snapshot: Snapshot) -> dict[str, str]:
    """Security group id -> the store type it guards."""
    groups: dict[str, str] = {}
    for resource in snapshot.of_type(CLUSTER, PROXY):
        groups.update(dict.fromkeys(resource.inputs["vpcSecurityGroupIds"], resource.type))
    for resource in snapshot.of_type(CACHE):
        groups.update(dict.fromkeys(resource.inputs["securityGroupIds"], resource.type))
    for resource in snapshot.of_type(DOMAIN):
        groups.update(dict.fromkeys(resource.inputs["vpcOptions"]["securityGroupIds"], DOMAIN))
    return groups


def user_state_tables(snapshot: Snapshot) -> list[Resource]:
    (component,) = snapshot.of_type("ecommerce:data:UserStateTables")
    return [t for t in snapshot.children(component) if t.type == TABLE]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every property; a value the engine holds as a secret is not descended."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item.get(SIG_KEY) == SECRET_SIG:
                continue
            yield f"{path}.{key}", item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def test_every_store_is_registered_in_both_stacks(prod: Snapshot, staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        counts = Counter(r.type for r in snapshot.of_type(*STORES))
        assert counts[CLUSTER] == counts[PROXY] == counts[CACHE] == counts[DOMAIN] == 1
        assert counts[INSTANCE] >= 2 and len(user_state_tables(snapshot)) == 3


def test_no_store_is_public_or_reachable_from_the_internet(prod: Snapshot,
                                                           staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        assert all(i.inputs["publiclyAccessible"] is False for i in snapshot.of_type(INSTANCE))
        assert all(c.inputs.get("publiclyAccessible") in (None, False)
                   for c in snapshot.of_type(CLUSTER))
        assert all(d.inputs["vpcOptions"]["subnetIds"] for d in snapshot.of_type(DOMAIN))
        guarded = store_security_groups(snapshot)
        assert len(guarded) == 4  # cluster, proxy, cache, search: none shares a group
        for group in snapshot.of_type("aws:ec2/securityGroup:SecurityGroup"):
            if group.outputs["id"] in guarded:
                assert not group.inputs.get("ingress")
        for rule in snapshot.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
            if rule.inputs["securityGroupId"] in guarded:
                assert set(rule.inputs) & {"cidrIpv4", "cidrIpv6", "prefixListId"} == set()
                assert rule.inputs["referencedSecurityGroupId"]


def test_stores_sit_only_in_private_or_isolated_subnets(prod: Snapshot) -> None:
    role = {s.outputs["id"]: s.inputs["tags"]["subnet-role"]
            for s in prod.of_type("aws:ec2/subnet:Subnet")}
    used = [*prod.of_type(PROXY)[0].inputs["vpcSubnetIds"],
            *prod.of_type(DOMAIN)[0].inputs["vpcOptions"]["subnetIds"]]
    for group in prod.of_type("aws:rds/subnetGroup:SubnetGroup",
                              "aws:elasticache/subnetGroup:SubnetGroup"):
        used.extend(group.inputs["subnetIds"])
    assert {role[s] for s in used} == {"isolated", "private"}


def test_every_store_is_encrypted_at_rest_with_its_own_rotated_key(prod: Snapshot,
                                                                   staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        keys = {k.outputs["arn"]: k for k in snapshot.of_type("aws:kms/key:Key")}
        (cluster,) = snapshot.of_type(CLUSTER)
        (cache,) = snapshot.of_type(CACHE)
        (domain,) = snapshot.of_type(DOMAIN)
        assert cluster.inputs["storageEncrypted"] and cache.inputs["atRestEncryptionEnabled"]
        assert domain.inputs["encryptAtRest"]["enabled"]
        per_class = {
            "relational": cluster.inputs["kmsKeyId"],
            "cache": cache.inputs["kmsKeyId"],
            "search": domain.inputs["encryptAtRest"]["kmsKeyId"],
            **{f"user-state {t.name}": t.inputs["serverSideEncryption"]["kmsKeyArn"]
               for t in user_state_tables(snapshot)}}
        assert all(keys[arn].inputs["enableKeyRotation"] for arn in per_class.values())
        assert len(set(per_class.values())) == 4  # one key per data class


def test_every_store_is_encrypted_in_transit(prod: Snapshot, staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        (cluster,) = snapshot.of_type(CLUSTER)
        group = next(g for g in snapshot.of_type(
            "aws:rds/clusterParameterGroup:ClusterParameterGroup")
            if g.outputs["name"] == cluster.inputs["dbClusterParameterGroupName"])
        assert {"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"} in \
            group.inputs["parameters"]
        assert all(p.inputs["requireTls"] for p in snapshot.of_type(PROXY))
        assert all(c.inputs["transitEncryptionEnabled"] for c in snapshot.of_type(CACHE))
        for domain in snapshot.of_type(DOMAIN):
            assert domain.inputs["domainEndpointOptions"]["enforceHttps"] is True
            assert domain.inputs["nodeToNodeEncryption"]["enabled"] is True
        # DynamoDB speaks only HTTPS; the VPC reaches it through the gateway endpoint


def plaintext_secrets(inputs: dict[str, Any]) -> list[str]:
    """Paths of password-like properties that hold a plaintext value."""
    return [path for path, value in walk(inputs)
            if SECRET_KEY.search(path.rsplit(".", 1)[-1]) and not isinstance(value, bool)]


def test_no_password_literal_appears_in_any_input(prod: Snapshot, staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        for resource in snapshot:
            wire = json_format.MessageToDict(resource.request.object)  # secrets still marked
            assert plaintext_secrets(wire) == [], resource.urn


def test_the_password_scan_sees_a_literal_but_not_a_secret() -> None:
    # GIVEN a literal password and token, and a password the engine holds as a secret
    inputs = {"masterPassword": "hunter2!", "nested": [{"authToken": "x"}],
              "passwords": {SIG_KEY: SECRET_SIG, "value": ["generated"]},
              "manageMasterUserPassword": True}
    # THEN only the plaintext ones are flagged
    assert plaintext_secrets(inputs) == [".masterPassword", ".nested[0].authToken"]


def test_the_catalog_is_not_a_dynamodb_table(prod: Snapshot, staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        for table in snapshot.of_type(TABLE):
            words = " ".join([table.name, str(table.outputs.get("name")),
                              *map(str, (table.inputs.get("tags") or {}).values())]).lower()
            assert not re.search(r"product|catalog|inventory", words), table.name
        assert {t.name.rsplit("-", 1)[-1] for t in user_state_tables(snapshot)} == {
            "carts", "sessions", "idempotency"}
        # the catalog's home is the relational store
        assert snapshot.outputs["databaseName"] == "shop"


def test_every_data_resource_carries_the_data_tier_tag(prod: Snapshot) -> None:
    for store in prod.of_type(*STORES):
        provider = prod.provider_of(store)
        assert provider is not None and default_tags(provider)["tier"] == "data", store.urn


def test_preview_registers_the_same_stores_with_their_settings_known(
        prod: Snapshot, prod_preview: Snapshot) -> None:
    assert Counter(r.type for r in prod_preview.of_type(*STORES)) == \
        Counter(r.type for r in prod.of_type(*STORES))
    # what the policy pack decides on must not wait for an apply
    (cluster,) = prod_preview.of_type(CLUSTER)
    assert cluster.inputs["storageEncrypted"] is True
    zones = {i.inputs["availabilityZone"] for i in prod_preview.of_type(INSTANCE)}
    assert len(zones) >= 2
    (cache,) = prod_preview.of_type(CACHE)
    assert cache.inputs["multiAzEnabled"] is True
