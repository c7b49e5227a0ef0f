"""The network tier: a VPC over two or more AZs with public, private and isolated subnets."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from components.config import NatGatewayMode
from components.defaults import assume_role_policy, log_group, policy_document


class SubnetRole(StrEnum):
    PUBLIC = "public"  # the ALB and the NAT gateways
    PRIVATE = "private"  # ECS tasks and Lambda functions; out to the internet through NAT
    ISOLATED = "isolated"  # data stores; no route out of the VPC


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    cidr: str
    availability_zones: tuple[str, ...]
    nat_gateways: NatGatewayMode = NatGatewayMode.PER_AZ
    flow_log_retention_days: int
    logs_kms_key_arn: pulumi.Input[str]


def subnet_cidrs(vpc_cidr: str, az_count: int) -> dict[SubnetRole, list[str]]:
    """Carve the VPC into 32 equal blocks: role r, AZ a takes block 8 * r + a (room for 8 AZs)."""
    blocks = list(ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=5))
    return {role: [str(blocks[8 * r + a]) for a in range(az_count)]
            for r, role in enumerate(SubnetRole)}


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    subnet_ids: dict[SubnetRole, list[pulumi.Output[str]]]
    """Subnet ids per role, in the order of `availability_zones`."""
    private_route_table_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if len(args.availability_zones) < 2:
            raise ValueError(f"{name}: a VPC must span at least two AZs, got "
                             f"{list(args.availability_zones)}")
        super().__init__("ecommerce:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        azs = args.availability_zones
        cidrs = subnet_cidrs(args.cidr, len(azs))

        vpc = aws.ec2.Vpc(name, cidr_block=args.cidr, enable_dns_support=True,
                          enable_dns_hostnames=True, tags={"Name": name}, opts=child)
        # Nothing may use the default security group: strip its rules.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
                                     opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": name},
                                      opts=child)

        subnets: dict[SubnetRole, list[aws.ec2.Subnet]] = {role: [] for role in SubnetRole}
        for role in SubnetRole:
            for index, az in enumerate(azs):
                subnets[role].append(aws.ec2.Subnet(
                    f"{name}-{role}-{index}", vpc_id=vpc.id, availability_zone=az,
                    cidr_block=cidrs[role][index], map_public_ip_on_launch=False,
                    tags={"Name": f"{name}-{role}-{az}", "subnet-role": role.value},
                    opts=child))

        public_rt = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id,
                                       routes=[aws.ec2.RouteTableRouteArgs(
                                           cidr_block="0.0.0.0/0", gateway_id=igw.id)],
                                       tags={"Name": f"{name}-public"}, opts=child)
        for index, subnet in enumerate(subnets[SubnetRole.PUBLIC]):
            aws.ec2.RouteTableAssociation(f"{name}-public-{index}", subnet_id=subnet.id,
                                          route_table_id=public_rt.id, opts=child)

        nat_count = len(azs) if args.nat_gateways is NatGatewayMode.PER_AZ else 1
        nats = []
        for index in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc",
                              tags={"Name": f"{name}-nat-{azs[index]}"}, opts=child)
            nats.append(aws.ec2.NatGateway(
                f"{name}-nat-{index}", allocation_id=eip.allocation_id,
                subnet_id=subnets[SubnetRole.PUBLIC][index].id,
                tags={"Name": f"{name}-nat-{azs[index]}"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))

        private_rts = []
        for index, subnet in enumerate(subnets[SubnetRole.PRIVATE]):
            nat = nats[index % nat_count]  # an AZ's own NAT when there is one per AZ
            rt = aws.ec2.RouteTable(f"{name}-private-{index}", vpc_id=vpc.id,
                                    routes=[aws.ec2.RouteTableRouteArgs(
                                        cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                                    tags={"Name": f"{name}-private-{azs[index]}"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id,
                                          route_table_id=rt.id, opts=child)
            private_rts.append(rt)

        isolated_rt = aws.ec2.RouteTable(f"{name}-isolated", vpc_id=vpc.id,
                                         tags={"Name": f"{name}-isolated"}, opts=child)
        for index, subnet in enumerate(subnets[SubnetRole.ISOLATED]):
            aws.ec2.RouteTableAssociation(f"{name}-isolated-{index}", subnet_id=subnet.id,
                                          route_table_id=isolated_rt.id, opts=child)

        # S3 and DynamoDB traffic stays on the AWS network and off the NAT bill.
        endpoint_rts = [rt.id for rt in private_rts] + [isolated_rt.id]
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        for service in ("s3", "dynamodb"):
            aws.ec2.VpcEndpoint(
                f"{name}-{service}", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
                service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
                route_table_ids=endpoint_rts, tags={"Name": f"{name}-{service}"}, opts=child)

        flow_logs = log_group(f"{name}-flow-logs", retention_days=args.flow_log_retention_days,
                              kms_key_arn=args.logs_kms_key_arn, opts=child)
        flow_role = aws.iam.Role(f"{name}-flow-logs",
                                 assume_role_policy=assume_role_policy(
                                     "vpc-flow-logs.amazonaws.com"), opts=child)
        aws.iam.RolePolicy(f"{name}-flow-logs", role=flow_role.id, policy=policy_document([{
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [flow_logs.arn, pulumi.Output.concat(flow_logs.arn, ":*")]}]),
            opts=child)
        aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL",
                        log_destination_type="cloud-watch-logs", log_destination=flow_logs.arn,
                        iam_role_arn=flow_role.arn, max_aggregation_interval=60, opts=child)

        self.vpc_id = vpc.id
        self.vpc_cidr = args.cidr
        self.availability_zones = azs
        self.subnet_ids = {role: [s.id for s in subnets[role]] for role in SubnetRole}
        self.private_route_table_ids = [rt.id for rt in private_rts]
        self.register_outputs({
            "vpc_id": self.vpc_id,
            **{f"{role}_subnet_ids": ids for role, ids in self.subnet_ids.items()},
        })
