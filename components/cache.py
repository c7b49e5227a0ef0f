"""Hot product reads: an ElastiCache (Valkey) replication group in front of Aurora.

A primary and replicas in different AZs with automatic failover, encrypted at rest with the cache
data key and in transit with TLS (required), and no password anywhere: the app authenticates as
an IAM-enabled ElastiCache user (`elasticache:Connect`), the default user is switched off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.data_common import (
    Availability,
    DataClass,
    Encryption,
    Protection,
    data_key,
    physical_name,
    store_security_group,
)
from components.defaults import log_group, policy_document

ENGINE = "valkey"
PORT = 6379
APP_ACCESS_STRING = "on ~* +@all -@dangerous"
"""What the app user may do: every key and command except the dangerous ones (FLUSHALL, KEYS,
CONFIG, DEBUG, ...). The storefront's commands (GET, SET, INCR, EVALSHA) are within it."""


@dataclass(frozen=True, kw_only=True)
class ProductCacheArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Isolated subnets, one per AZ, in the order of `availability_zones`."""
    availability_zones: Sequence[str]
    client_security_group_ids: Sequence[pulumi.Input[str]]
    """The app tier's group: the only source admitted on 6379."""
    node_type: str
    node_count: int = 2
    """The primary and its replicas, spread round-robin over the AZs."""
    engine_version: str = "8.0"
    snapshot_retention_days: int = 7
    log_retention_days: int
    logs_kms_key_arn: pulumi.Input[str]
    protection: Protection = Protection.RETAIN
    availability: Availability = Availability.MULTI_AZ
    encryption: Encryption = Encryption.CUSTOMER_KEY
    """NONE also means no authentication: ElastiCache users need TLS."""


def _validate(name: str, args: ProductCacheArgs) -> None:
    if len(args.subnet_ids) != len(args.availability_zones) or not args.subnet_ids:
        raise ValueError(f"{name}: give one subnet per AZ, got {len(args.subnet_ids)} subnets "
                         f"for {list(args.availability_zones)}")
    if args.availability is Availability.MULTI_AZ and (
            args.node_count < 2 or len(args.availability_zones) < 2):
        raise ValueError(f"{name}: a Multi-AZ cache needs at least 2 nodes in 2 AZs, got "
                         f"{args.node_count} nodes in {list(args.availability_zones)}")
    if not 1 <= args.node_count <= 6:
        raise ValueError(f"{name}: node_count={args.node_count} must be from 1 to 6")
    if not 1 <= args.snapshot_retention_days <= 35:
        raise ValueError(f"{name}: snapshot_retention_days={args.snapshot_retention_days} must "
                         "be from 1 to 35")


class ProductCache(pulumi.ComponentResource):
    primary_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    security_group_id: pulumi.Output[str]
    replication_group_arn: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]
    """What an IAM auth token is signed for (the client's CACHE_NAME)."""
    node_ids: list[pulumi.Output[str]]
    """The `CacheClusterId` dimension of each node's metrics (`<group>-001` is created primary)."""
    user_group_id: pulumi.Output[str] | None
    app_user_name: pulumi.Output[str] | None
    """Connect as this user with an IAM auth token (user id = user name)."""
    app_user_arn: pulumi.Output[str] | None
    """`allow_roles` grants `elasticache:Connect` on this and `replication_group_arn`."""
    kms_key_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: ProductCacheArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("ecommerce:data:ProductCache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encrypted = args.encryption is Encryption.CUSTOMER_KEY
        multi_az = args.availability is Availability.MULTI_AZ
        retain = args.protection is Protection.RETAIN
        nodes = args.node_count if multi_az else 1
        group_id = physical_name(name, 40)
        key = data_key(f"{name}-key", DataClass.CACHE, child) if encrypted else None

        security_group = store_security_group(
            name, vpc_id=args.vpc_id, port=PORT, description="Product cache: 6379 from the app tier",
            client_security_group_ids=args.client_security_group_ids, opts=child)
        subnet_group = aws.elasticache.SubnetGroup(
            name, subnet_ids=list(args.subnet_ids),
            description="Isolated subnets of the product cache", opts=child)
        slow_log = log_group(f"{name}-slow-log", retention_days=args.log_retention_days,
                             kms_key_arn=args.logs_kms_key_arn, opts=child)

        user_group: aws.elasticache.UserGroup | None = None
        app_user: aws.elasticache.User | None = None
        if encrypted:  # ElastiCache users (RBAC) require TLS
            default_user = aws.elasticache.User(
                f"{name}-default", user_id=physical_name(f"{name}-default", 40),
                user_name="default", engine=ENGINE, access_string="off -@all",
                authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                    type="no-password-required"), opts=child)  # switched off: nobody is it
            app_user_id = physical_name(f"{name}-app", 40)
            app_user = aws.elasticache.User(
                f"{name}-app", user_id=app_user_id, user_name=app_user_id, engine=ENGINE,
                access_string=APP_ACCESS_STRING,
                authentication_mode=aws.elasticache.UserAuthenticationModeArgs(type="iam"),
                opts=child)
            user_group = aws.elasticache.UserGroup(
                name, user_group_id=group_id, engine=ENGINE,
                user_ids=[default_user.user_id, app_user.user_id], opts=child)

        group = aws.elasticache.ReplicationGroup(
            name, replication_group_id=group_id, description="Hot product reads",
            engine=ENGINE, engine_version=args.engine_version, node_type=args.node_type,
            port=PORT, num_cache_clusters=nodes,
            preferred_cache_cluster_azs=[args.availability_zones[i % len(args.availability_zones)]
                                         for i in range(nodes)],
            automatic_failover_enabled=multi_az, multi_az_enabled=multi_az,
            subnet_group_name=subnet_group.name, security_group_ids=[security_group.id],
            at_rest_encryption_enabled=encrypted, kms_key_id=key.arn if key else None,
            transit_encryption_enabled=encrypted,
            transit_encryption_mode="required" if encrypted else None,
            user_group_ids=[user_group.user_group_id] if user_group else None,
            snapshot_retention_limit=args.snapshot_retention_days, snapshot_window="04:00-05:00",
            maintenance_window="sun:06:00-sun:07:00",
            final_snapshot_identifier=f"{group_id}-final" if retain else None,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=slow_log.name, destination_type="cloudwatch-logs",
                    log_format="json", log_type="slow-log")],
            opts=child)

        self.primary_endpoint = group.primary_endpoint_address
        self.reader_endpoint = group.reader_endpoint_address
        self.port = group.port.apply(lambda p: p or PORT)
        self.security_group_id = security_group.id
        self.replication_group_arn = group.arn
        self.replication_group_id = group.replication_group_id
        self.node_ids = [pulumi.Output.concat(group.replication_group_id, f"-{i:03d}")
                         for i in range(1, nodes + 1)]
        self.user_group_id = user_group.user_group_id if user_group else None
        self.app_user_name = app_user.user_name if app_user else None
        self.app_user_arn = app_user.arn if app_user else None
        self.kms_key_arn = key.arn if key else None
        self._name = name
        self.register_outputs({
            "primary_endpoint": self.primary_endpoint, "reader_endpoint": self.reader_endpoint,
            "port": self.port, "security_group_id": self.security_group_id,
            "replication_group_arn": self.replication_group_arn,
            "replication_group_id": self.replication_group_id,
            "app_user_name": self.app_user_name, "app_user_arn": self.app_user_arn})

    def allow_roles(self, role_names: Mapping[str, pulumi.Input[str]]) -> None:
        """Let each role (keyed by a short name) connect as the app user with an IAM token."""
        if self.app_user_arn is None:
            raise ValueError(f"{self._name}: an unencrypted cache has no users to connect as")
        for key, role_name in role_names.items():
            aws.iam.RolePolicy(
                f"{self._name}-{key}-connects", role=role_name, policy=policy_document([{
                    "Sid": "ConnectAsTheAppUser", "Effect": "Allow",
                    "Action": "elasticache:Connect",
                    "Resource": [self.replication_group_arn, self.app_user_arn]}]),
                opts=pulumi.ResourceOptions(parent=self))
