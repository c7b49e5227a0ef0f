"""OpenSearch: in the private subnets, zone-aware, encrypted, HTTPS only, FGAC, logs, access."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.data_common import Availability, Encryption
from components.defaults import OPENSEARCH_TLS_POLICY
from components.search import SearchDomain
from offline.engine import ProgramError, Resource, Snapshot
from tests.components.data_programs import run_component, search_args, three_az_staging
from tests.support.stacks import RunStack

DOMAIN = "aws:opensearch/domain:Domain"
APP_ROLE = "arn:aws:iam::123456789012:role/storefront-task"


def domain_of(snapshot: Snapshot) -> Resource:
    (domain,) = snapshot.of_type(DOMAIN)
    return domain


def domain_subnet_zones(snapshot: Snapshot, domain: Resource) -> list[tuple[str, str]]:
    """(subnet role, AZ) of each subnet the domain's VPC endpoints use."""
    subnets = {s.outputs["id"]: s for s in snapshot.of_type("aws:ec2/subnet:Subnet")}
    return [(subnets[i].inputs["tags"]["subnet-role"], subnets[i].inputs["availabilityZone"])
            for i in domain.inputs["vpcOptions"]["subnetIds"]]


def test_the_domain_is_zone_aware_in_the_private_subnets(prod: Snapshot,
                                                         staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        domain = domain_of(snapshot)
        cluster = domain.inputs["clusterConfig"]
        assert cluster["zoneAwarenessEnabled"] is True
        assert cluster["zoneAwarenessConfig"]["availabilityZoneCount"] == 2
        assert cluster["instanceCount"] >= 2 and cluster["instanceCount"] % 2 == 0
        placed = domain_subnet_zones(snapshot, domain)
        assert [role for role, _ in placed] == ["private", "private"]
        assert len({zone for _, zone in placed}) == 2


def test_prod_has_three_dedicated_masters_and_staging_none(prod: Snapshot,
                                                           staging: Snapshot) -> None:
    masters = domain_of(prod).inputs["clusterConfig"]
    assert (masters["dedicatedMasterEnabled"], masters["dedicatedMasterCount"]) == (True, 3)
    assert domain_of(staging).inputs["clusterConfig"]["dedicatedMasterEnabled"] is False


def test_three_zones_spread_the_domain_over_three_private_subnets() -> None:
    snapshot = three_az_staging()  # azCount 3, searchZoneCount 3, searchDataNodes 6
    domain = domain_of(snapshot)
    assert domain.inputs["clusterConfig"]["zoneAwarenessConfig"]["availabilityZoneCount"] == 3
    placed = domain_subnet_zones(snapshot, domain)
    assert {role for role, _ in placed} == {"private"}
    assert len({zone for _, zone in placed}) == 3


def test_data_is_encrypted_at_rest_between_nodes_and_on_the_wire(prod: Snapshot) -> None:
    domain = domain_of(prod)
    key = next(k for k in prod.of_type("aws:kms/key:Key")
               if k.outputs["arn"] == domain.inputs["encryptAtRest"]["kmsKeyId"])
    assert key.inputs["enableKeyRotation"] is True
    assert domain.inputs["encryptAtRest"]["enabled"] is True
    assert domain.inputs["nodeToNodeEncryption"] == {"enabled": True}
    assert domain.inputs["domainEndpointOptions"] == {
        "enforceHttps": True, "tlsSecurityPolicy": OPENSEARCH_TLS_POLICY}


def test_fine_grained_access_has_an_iam_master_and_no_internal_users(prod: Snapshot) -> None:
    security = domain_of(prod).inputs["advancedSecurityOptions"]
    assert security["enabled"] is True
    assert security["internalUserDatabaseEnabled"] is False
    master = security["masterUserOptions"]
    assert set(master) == {"masterUserArn"}  # no user name, no password
    assert master["masterUserArn"].startswith("arn:aws:iam::123456789012:role/")


def test_the_access_policy_admits_the_admin_and_app_roles_and_denies_the_rest(
        prod: Snapshot) -> None:
    domain = domain_of(prod)
    (policy,) = prod.of_type("aws:opensearch/domainPolicy:DomainPolicy")
    assert policy.inputs["domainName"] == domain.inputs["domainName"]
    allow, deny = json.loads(policy.inputs["accessPolicies"])["Statement"]
    admin = domain.inputs["advancedSecurityOptions"]["masterUserOptions"]["masterUserArn"]
    web_roles = {r.outputs["arn"] for r in prod.of_type("aws:iam/role:Role")
                 if r.name.startswith("web-") and r.name.endswith("-task")}
    writers = {r.outputs["arn"] for r in prod.of_type("aws:iam/role:Role")
               if r.name in ("recommendations-role", "search-indexer-role", "search-reindex-role")}
    assert web_roles and len(writers) == 3
    assert set(allow["Principal"]["AWS"]) == {admin, *writers, *web_roles}
    assert allow["Resource"] == f"{domain.outputs['arn']}/*"
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == allow["Principal"]["AWS"]


def test_roles_are_admitted_only_through_one_explicit_call() -> None:
    def build() -> None:
        domain = SearchDomain("search", search_args())
        domain.allow_roles([APP_ROLE])
        with pytest.raises(ValueError, match="pass every role at once"):
            domain.allow_roles([APP_ROLE])

    snapshot = run_component(build)
    (policy,) = snapshot.of_type("aws:opensearch/domainPolicy:DomainPolicy")
    principals = json.loads(policy.inputs["accessPolicies"])["Statement"][0]["Principal"]["AWS"]
    assert len(principals) == 2 and APP_ROLE in principals


def test_slow_and_error_logs_are_published_to_encrypted_groups(prod: Snapshot) -> None:
    options = domain_of(prod).inputs["logPublishingOptions"]
    assert {o["logType"] for o in options} == {
        "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS"}
    groups = {g.outputs["arn"]: g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")}
    for option in options:
        assert option["enabled"] is True
        assert groups[option["cloudwatchLogGroupArn"]].inputs["kmsKeyId"].startswith("arn:aws:kms")
    (statement,) = [s for p in prod.of_type("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
                    for s in json.loads(p.inputs["policyDocument"])["Statement"]
                    if s["Principal"] == {"Service": "es.amazonaws.com"}]
    assert sorted(statement["Resource"]) == sorted(
        f"{o['cloudwatchLogGroupArn']}:*" for o in options)


def test_the_app_and_lambda_tiers_reach_search_on_443_only(prod: Snapshot) -> None:
    (group_id,) = domain_of(prod).inputs["vpcOptions"]["securityGroupIds"]
    rules = [r for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.inputs["securityGroupId"] == group_id]
    assert {r.inputs["referencedSecurityGroupId"] for r in rules} == {
        prod.outputs["dataAppSecurityGroupId"], prod.outputs["dataLambdaSecurityGroupId"]}
    assert all((r.inputs["fromPort"], r.inputs["toPort"]) == (443, 443) for r in rules)


def test_one_zone_is_only_an_explicit_argument() -> None:
    single = domain_of(run_component(lambda: SearchDomain("search", search_args(
        availability=Availability.SINGLE_AZ))))
    assert single.inputs["clusterConfig"]["zoneAwarenessEnabled"] is False
    assert len(single.inputs["vpcOptions"]["subnetIds"]) == 1


@pytest.mark.parametrize(("overrides", "message"), [
    ({"ecommerce:searchZoneCount": 1}, "searchZoneCount = 1 is not allowed"),
    ({"ecommerce:searchDataNodes": 3}, "searchDataNodes = 3 is not allowed"),
])
def test_no_stack_config_can_drop_zone_awareness(run_stack: RunStack, overrides: dict[str, Any],
                                                        message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        run_stack("staging", overrides)


def test_an_unbalanced_three_zone_domain_is_refused() -> None:
    with pytest.raises(ProgramError, match="multiple of zone_count=3"):
        run_component(lambda: SearchDomain("search", search_args(zone_count=3, data_nodes=4)))


def test_an_unencrypted_domain_is_only_an_explicit_argument() -> None:
    domain = domain_of(run_component(lambda: SearchDomain("search", search_args(
        encryption=Encryption.NONE))))
    assert domain.inputs["encryptAtRest"]["enabled"] is False
    assert domain.inputs["nodeToNodeEncryption"]["enabled"] is False
    assert domain.inputs["domainEndpointOptions"]["enforceHttps"] is False
    assert domain.inputs["advancedSecurityOptions"]["enabled"] is False
