"""The security groups through which the app tier and the Lambda tier reach the data stores.

They exist before the stores and before the compute that uses them, so the stores can admit them
by id and the compute tiers can take the stores' endpoints as arguments, with no cycle. An ECS
service or a Lambda function attaches its tier's group next to its own; the groups carry no rule
themselves: each store adds an ingress rule from them to its own group, and egress stays with the
compute's own group.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class DataClientsArgs:
    vpc_id: pulumi.Input[str]


class DataClients(pulumi.ComponentResource):
    app_security_group_id: pulumi.Output[str]
    """Attached to every ECS task of the app tier: admitted by Aurora, the cache and search."""
    lambda_security_group_id: pulumi.Output[str]
    """Attached to every VPC Lambda function: admitted by Aurora (through its proxy), the cache and
    search."""

    def __init__(self, name: str, args: DataClientsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:data:DataClients", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        app = aws.ec2.SecurityGroup(
            f"{name}-app", vpc_id=args.vpc_id, tags={"Name": f"{name}-app"},
            description="App tier (ECS tasks): a client of the data stores", opts=child)
        functions = aws.ec2.SecurityGroup(
            f"{name}-lambda", vpc_id=args.vpc_id, tags={"Name": f"{name}-lambda"},
            description="Lambda tier (VPC functions): a client of the data stores", opts=child)
        self.app_security_group_id = app.id
        self.lambda_security_group_id = functions.id
        self.register_outputs({"app_security_group_id": self.app_security_group_id,
                               "lambda_security_group_id": self.lambda_security_group_id})
