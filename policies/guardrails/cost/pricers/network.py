"""Pricers of NAT gateways, public addresses, VPC endpoints, flow logs and load balancers."""

from __future__ import annotations

from collections.abc import Mapping

from ...common import Res
from ..context import FLOW_LOG, LOAD_BALANCERS, NAT, Pricer, PricingContext, Unpriceable, known, text_or
from ..result import Charge


def _nat_gateway(resource: Res, ctx: PricingContext) -> list[Charge]:
    share = ctx.traffic_share(resource)
    return [Charge("NAT gateway-hours", ctx.hours, "ec2.natGatewayHour"),
            Charge("GB processed (AWS APIs, payment provider, logs, traces)", ctx.usage.nat_gb * share,
                   "ec2.natGatewayGb")]


def _eip(resource: Res, ctx: PricingContext) -> list[Charge]:
    return [Charge("public IPv4 address-hours", ctx.hours, "ec2.publicIpv4Hour")]


def _vpc_endpoint(resource: Res, ctx: PricingContext) -> list[Charge]:
    kind = text_or(resource.props.get("vpcEndpointType"), "Gateway")
    if kind == "Gateway":
        return []  # gateway endpoints (S3, DynamoDB) are free
    subnets = resource.props.get("subnetIds")
    zones = len(subnets) if isinstance(subnets, list) and subnets else 2
    return [Charge(f"interface endpoint ENI-hours ({zones} AZs)", ctx.hours * zones,
                   "vpc.interfaceEndpointHour"),
            Charge("GB processed", 10.0, "vpc.interfaceEndpointGb")]


def _flow_log(resource: Res, ctx: PricingContext) -> list[Charge]:
    gb = ctx.flow_log_gb(resource)
    to_s3 = resource.props.get("logDestinationType") in ("s3", "kinesis-data-firehose")
    key = "logs.vendedToS3Gb" if to_s3 else "logs.vendedToLogsGb"
    return [Charge("GB of flow-log records delivered", gb, key, basis=gb)]


def _load_balancer(resource: Res, ctx: PricingContext) -> list[Charge]:
    kind = text_or(resource.props.get("loadBalancerType"), "application")
    if kind not in ("application", "network"):
        raise Unpriceable(f"{kind} load balancers are not in the price table")
    share = ctx.traffic_share(resource, ctx.of_type(*LOAD_BALANCERS))
    requests = ctx.usage.origin_requests * share
    gb_per_hour = ctx.usage.origin_gb * share / ctx.hours
    new_connections = requests / ctx.usage.seconds * 0.1 / 25  # CloudFront keeps connections alive
    capacity_units = max(gb_per_hour, new_connections)
    prefix = "alb" if kind == "application" else "nlb"
    charges = [Charge(f"{prefix.upper()}-hours", ctx.hours, f"elb.{prefix}Hour"),
               Charge(f"capacity unit-hours ({capacity_units:.2f} on average: processed bytes)",
                      capacity_units * ctx.hours, f"elb.{prefix}LcuHour")]
    if resource.props.get("internal") is not True:
        subnets = known(resource.props.get("subnets")) or known(resource.props.get("subnetMappings"))
        zones = len(subnets) if isinstance(subnets, list) and subnets else 2
        charges.append(Charge(f"public IPv4 address-hours ({zones} AZs)", ctx.hours * zones,
                              "ec2.publicIpv4Hour"))
    return charges


PRICERS: Mapping[str, Pricer] = {
    NAT: _nat_gateway,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    FLOW_LOG: _flow_log,
    **dict.fromkeys(LOAD_BALANCERS, _load_balancer),
}
