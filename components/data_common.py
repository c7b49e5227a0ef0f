"""What every data store of the shop shares: the explicit weak settings, keys, names and clients.

Each store's Args defaults to the secure choice. Running a store in one AZ or without encryption
takes an explicit enum value in code (no stack config reaches it), so a reviewer sees it and the
policy pack blocks it at preview.

Where the secrets live: the Aurora master password is generated, stored and rotated by RDS in
Secrets Manager (`manage_master_user_password`), encrypted with the relational data key; the
RDS Proxy reads it with its own role. The cache and the search domain have no password at all:
clients authenticate with IAM (ElastiCache IAM users, OpenSearch fine-grained access control with
an IAM master role). Nothing secret is in config, in the program or in its outputs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_aws as aws


class Availability(StrEnum):
    """Whether a store survives the loss of an AZ."""

    MULTI_AZ = "multi-az"
    SINGLE_AZ = "single-az"  # one AZ: a throwaway stack at most; the policy pack blocks it


class Encryption(StrEnum):
    """How a store protects its data at rest and in transit."""

    CUSTOMER_KEY = "customer-key"  # at rest with the data class's KMS key, TLS in transit
    NONE = "none"  # the service's weakest setting; the policy pack blocks it


class Protection(StrEnum):
    """What deleting the stack does to a store's data."""

    RETAIN = "retain"  # deletion protection on, final snapshot taken: prod
    DISPOSABLE = "disposable"  # can be destroyed without a snapshot: staging


class DataClass(StrEnum):
    """One KMS key per class of data, so access to one class never implies another."""

    RELATIONAL = "relational"  # orders, customers, catalog (Aurora, its secret, its insights)
    USER_STATE = "user-state"  # carts, sessions, idempotency records (DynamoDB)
    CACHE = "cache"  # hot product reads (ElastiCache)
    SEARCH = "search"  # the search index (OpenSearch)


@dataclass(frozen=True, kw_only=True)
class ReplicaRegion:
    """Another Region of the stack that receives a copy of a store's data (multiRegion).

    The store's primary makes the copy's KMS key there with `provider` (that Region's data-tier
    provider), since the replica must be encrypted before it exists.
    """

    region: str
    provider: aws.Provider


def arn_in_region(arn: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """The same resource's ARN in another Region: a global table's or a secret's replica."""
    return pulumi.Output.from_input(arn).apply(
        lambda value: ":".join([*value.split(":")[:3], region, *value.split(":")[4:]]))


def data_key(name: str, data_class: DataClass, opts: pulumi.ResourceOptions) -> aws.kms.Key:
    """A customer-managed key for one data class, rotated yearly, with an alias naming it.

    The key policy is the AWS default (the account administers the key, IAM policies grant its
    use): the data services use it through grants made with the deploying principal's rights.
    """
    key = aws.kms.Key(name, description=f"Shop {data_class.value} data at rest",
                      enable_key_rotation=True, deletion_window_in_days=30, opts=opts)
    aws.kms.Alias(f"{name}-alias", name=f"alias/{physical_name(name, 200)}",
                  target_key_id=key.key_id, opts=opts)
    return key


def physical_name(name: str, max_length: int) -> str:
    """`<project>-<stack>-<name>`: unique per stack in a shared account, readable in the console."""
    physical = f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}".lower()
    physical = re.sub(r"[^a-z0-9-]", "-", physical)
    if len(physical) > max_length:
        raise ValueError(f"{name}: the AWS name {physical!r} is longer than {max_length} "
                         "characters: use a shorter component name")
    return physical


def store_security_group(name: str, *, vpc_id: pulumi.Input[str], port: int, description: str,
                         client_security_group_ids: Sequence[pulumi.Input[str]],
                         opts: pulumi.ResourceOptions) -> aws.ec2.SecurityGroup:
    """A store's security group admitting `port` only from the given client security groups.

    No CIDR rule and no egress: each rule is a separate resource, so the client groups may be
    created by other tiers in any order without a cycle.
    """
    group = aws.ec2.SecurityGroup(name, vpc_id=vpc_id, description=description,
                                  tags={"Name": name}, opts=opts)
    for index, client in enumerate(client_security_group_ids):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-client-{index}", security_group_id=group.id,
            referenced_security_group_id=client, ip_protocol="tcp", from_port=port, to_port=port,
            description=f"{description}: client {index}", opts=opts)
    return group
