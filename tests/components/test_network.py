"""The network tier: >= 2 AZs, three subnet roles per AZ, NAT per AZ in prod, endpoints, logs."""

from __future__ import annotations

from collections import Counter

from offline.engine import Resource, Snapshot
from tests.support.stacks import RunStack

SUBNET = "aws:ec2/subnet:Subnet"


def subnets_by_role(snapshot: Snapshot) -> dict[str, list[Resource]]:
    roles: dict[str, list[Resource]] = {}
    for subnet in snapshot.of_type(SUBNET):
        roles.setdefault(subnet.inputs["tags"]["subnet-role"], []).append(subnet)
    return roles


def test_the_vpc_spans_at_least_two_azs_with_three_subnet_roles_in_each(prod: Snapshot,
                                                                       staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        roles = subnets_by_role(snapshot)
        assert set(roles) == {"public", "private", "isolated"}
        azs = {s.inputs["availabilityZone"] for s in snapshot.of_type(SUBNET)}
        assert len(azs) >= 2
        for subnets in roles.values():
            assert {s.inputs["availabilityZone"] for s in subnets} == azs


def test_subnets_do_not_overlap_and_fit_the_vpc(prod: Snapshot) -> None:
    import ipaddress

    vpc = ipaddress.IPv4Network(prod.of_type("aws:ec2/vpc:Vpc")[0].inputs["cidrBlock"])
    nets = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in prod.of_type(SUBNET)]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def test_prod_has_a_nat_gateway_in_each_az_and_each_private_subnet_uses_its_own(
        prod: Snapshot) -> None:
    public_az = {s.outputs["id"]: s.inputs["availabilityZone"]
                 for s in subnets_by_role(prod)["public"]}
    nats = prod.of_type("aws:ec2/natGateway:NatGateway")
    nat_az = {n.outputs["id"]: public_az[n.inputs["subnetId"]] for n in nats}
    assert sorted(nat_az.values()) == sorted(public_az.values())

    tables = {t.outputs["id"]: t for t in prod.of_type("aws:ec2/routeTable:RouteTable")}
    for subnet in subnets_by_role(prod)["private"]:
        association = next(a for a in prod.of_type("aws:ec2/routeTableAssociation:"
                                                   "RouteTableAssociation")
                           if a.inputs["subnetId"] == subnet.outputs["id"])
        route = tables[association.inputs["routeTableId"]].inputs["routes"][0]
        assert nat_az[route["natGatewayId"]] == subnet.inputs["availabilityZone"]


def test_staging_shares_one_nat_gateway(staging: Snapshot) -> None:
    assert len(staging.of_type("aws:ec2/natGateway:NatGateway")) == 1


def test_isolated_subnets_have_no_route_out_of_the_vpc(prod: Snapshot) -> None:
    isolated = {s.outputs["id"] for s in subnets_by_role(prod)["isolated"]}
    table_ids = {a.inputs["routeTableId"] for a in prod.of_type(
        "aws:ec2/routeTableAssociation:RouteTableAssociation") if a.inputs["subnetId"] in isolated}
    for table in prod.of_type("aws:ec2/routeTable:RouteTable"):
        if table.outputs["id"] in table_ids:
            assert not table.inputs.get("routes")


def test_s3_and_dynamodb_gateway_endpoints_serve_private_and_isolated_subnets(
        prod: Snapshot) -> None:
    endpoints = prod.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    services = {e.inputs["serviceName"] for e in endpoints}
    assert services == {"com.amazonaws.us-east-1.s3", "com.amazonaws.us-east-1.dynamodb"}
    private_tables = len(subnets_by_role(prod)["private"]) + 1  # + the isolated table
    for endpoint in endpoints:
        assert endpoint.inputs["vpcEndpointType"] == "Gateway"
        assert len(endpoint.inputs["routeTableIds"]) == private_tables


def test_vpc_flow_logs_go_to_an_encrypted_log_group_with_retention(prod: Snapshot) -> None:
    (flow_log,) = prod.of_type("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"
    group = next(g for g in prod.of_type("aws:cloudwatch/logGroup:LogGroup")
                 if g.outputs["arn"] == flow_log.inputs["logDestination"])
    assert group.inputs["retentionInDays"] == 365
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:")


def test_more_azs_in_config_mean_more_subnets(run_stack: RunStack) -> None:
    snapshot = run_stack("staging", {"ecommerce:azCount": 3})
    assert Counter(s.inputs["tags"]["subnet-role"] for s in snapshot.of_type(SUBNET)) == {
        "public": 3, "private": 3, "isolated": 3}
