"""The relational source of truth: Aurora PostgreSQL over two or more AZs, and an RDS Proxy.

Orders, customers and the admin-edited product catalog live here (the catalog is relational, so
it stays out of DynamoDB). The writer and the readers are pinned to different AZs, readers scale
out for the spike, storage and Performance Insights are encrypted with the relational data key,
the master password is RDS-managed in Secrets Manager, every connection must use TLS and may use
IAM authentication, and Lambda functions connect through the proxy (TLS and IAM required).

In a multi-Region stack the cluster has a `GlobalRole` in an Aurora Global Database:
- PRIMARY: the writer Region. It makes the global cluster from this cluster, and for each
  secondary Region the relational key there and a replica of the master secret. RDS cannot manage
  the master password of a global database's member (a documented limitation), so the password is
  drawn by Secrets Manager into a secret of this stack (JSON, KMS-encrypted, replicated), passed to
  RDS write-only, and read back by the proxies; no value appears in the program or its config.
- SECONDARY: a read-only cluster in another Region, made only of readers spread over its AZs. It
  sets no database name and no master credentials (both come from the global database) and
  forwards writes to the primary (global write forwarding).
Both proxies get a read-only endpoint: whichever cluster is a secondary now (a failover swaps
them) serves its Region's functions through it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pulumi
import pulumi_aws as aws

from components.data_common import (
    Availability,
    DataClass,
    Encryption,
    Protection,
    ReplicaRegion,
    arn_in_region,
    data_key,
    physical_name,
    store_security_group,
)
from components.defaults import assume_role_policy, log_group, policy_document
from components.usage import stored_gb_tags

ENGINE = aws.rds.EngineType.AURORA_POSTGRESQL
PORT = 5432
RDS_CA = "rds-ca-rsa2048-g1"
MASTER_PASSWORD_LENGTH = 40


class GlobalRole(StrEnum):
    """The cluster's place in an Aurora Global Database."""

    NONE = "none"  # a regional cluster: the single-Region stack
    PRIMARY = "primary"  # the writer Region: makes the global cluster from this cluster
    SECONDARY = "secondary"  # a read-only copy in another Region, forwarding writes to the primary


@dataclass(frozen=True, kw_only=True)
class GlobalMembership:
    """What a SECONDARY cluster joins; the PRIMARY makes one per secondary Region."""

    region: str
    global_cluster_identifier: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    """The relational key in `region`: the cluster's storage, insights and the secret replica."""
    master_secret_arn: pulumi.Input[str]
    """The replica of the primary's master secret in `region` (read by that Region's proxy)."""
    global_cluster: pulumi.Resource
    """The global cluster (made after the primary's instances): the secondary joins it."""


@dataclass(frozen=True, kw_only=True)
class RelationalDatabaseArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Isolated subnets, one per AZ, in the order of `availability_zones`."""
    availability_zones: Sequence[str]
    client_security_group_ids: Sequence[pulumi.Input[str]]
    """The app and Lambda tiers' groups: the only sources admitted on 5432."""
    engine_version: str
    instance_class: str
    reader_count: int = 1
    max_readers: int = 4
    """Upper bound for reader autoscaling (target tracking on reader CPU)."""
    reader_target_cpu: float = 60.0
    backup_retention_days: int = 14
    log_retention_days: int
    logs_kms_key_arn: pulumi.Input[str]
    database_name: str = "shop"
    master_username: str = "shop_admin"
    protection: Protection = Protection.RETAIN
    availability: Availability = Availability.MULTI_AZ
    encryption: Encryption = Encryption.CUSTOMER_KEY
    global_role: GlobalRole = GlobalRole.NONE
    secondary_regions: Sequence[ReplicaRegion] = ()
    """PRIMARY: the Regions that get a secondary cluster (`memberships` has one for each)."""
    membership: GlobalMembership | None = None
    """SECONDARY: the global database to join."""
    stored_gb: int | None = None
    """The data the cluster holds: stated on it for the cost estimate (`components.usage`)."""


def _validate_global(name: str, args: RelationalDatabaseArgs) -> None:
    role = args.global_role
    if (role is GlobalRole.PRIMARY) != bool(args.secondary_regions):
        raise ValueError(f"{name}: secondary_regions go with global_role PRIMARY (and it needs at "
                         f"least one), got {role.value} with {len(args.secondary_regions)}")
    if (role is GlobalRole.SECONDARY) != (args.membership is not None):
        raise ValueError(f"{name}: a membership goes with global_role SECONDARY (and it needs "
                         f"one), got {role.value}")
    if role is not GlobalRole.NONE and args.encryption is not Encryption.CUSTOMER_KEY:
        raise ValueError(f"{name}: a global database's clusters are encrypted with the relational "
                         "key in each Region")


def _validate(name: str, args: RelationalDatabaseArgs) -> None:
    _validate_global(name, args)
    if len(args.subnet_ids) != len(args.availability_zones) or len(args.subnet_ids) < 2:
        raise ValueError(f"{name}: give one subnet per AZ in at least two AZs (an Aurora subnet "
                         f"group needs two), got {len(args.subnet_ids)} subnets for "
                         f"{list(args.availability_zones)}")
    if args.availability is Availability.MULTI_AZ and args.reader_count < 1:
        raise ValueError(f"{name}: a Multi-AZ cluster needs at least one reader in another AZ, "
                         f"got reader_count={args.reader_count}")
    if args.max_readers < args.reader_count or args.max_readers > 15:
        raise ValueError(f"{name}: max_readers={args.max_readers} must be from reader_count "
                         f"({args.reader_count}) to 15")
    if not 7 <= args.backup_retention_days <= 35:
        raise ValueError(f"{name}: backup_retention_days={args.backup_retention_days} must be "
                         "from 7 to 35")


def instance_zones(availability_zones: Sequence[str], readers: int) -> list[str]:
    """The writer's AZ then each reader's: round-robin, so the first reader is in another AZ."""
    return [availability_zones[i % len(availability_zones)] for i in range(readers + 1)]


def _credentials(args: RelationalDatabaseArgs, key_arn: pulumi.Input[str] | None,
                 password: pulumi.Output[str] | None) -> dict[str, Any]:
    """The cluster's database and master user, by its global role."""
    if args.membership is not None:  # both come from the global database
        return {"global_cluster_identifier": args.membership.global_cluster_identifier,
                "enable_global_write_forwarding": True}
    named = {"database_name": args.database_name, "master_username": args.master_username}
    if password is not None:  # RDS cannot manage it for a global database's member
        return {**named, "master_password_wo": password, "master_password_wo_version": 1}
    return {**named, "manage_master_user_password": True, "master_user_secret_kms_key_id": key_arn}


@dataclass(frozen=True)
class _MasterSecret:
    arn: pulumi.Output[str]
    password: pulumi.Output[str]
    replica_key_arns: dict[str, pulumi.Output[str]]
    """Per secondary Region: the relational key there (encrypts the secret's replica)."""


def _password(secret_string: str | None) -> str:
    password = json.loads(secret_string or "{}").get("password")
    if not password:
        raise ValueError("the master secret holds no password")
    return str(password)


def _secret_arn(secrets: Sequence[aws.rds.outputs.ClusterMasterUserSecret]) -> str:
    arn = secrets[0].secret_arn if secrets else None
    if not arn:
        raise ValueError("RDS reported no master user secret although it manages the password")
    return arn


class RelationalDatabase(pulumi.ComponentResource):
    cluster_endpoint: pulumi.Output[str]
    """The writer endpoint (the app tier's reads that must see their writes, and all writes)."""
    reader_endpoint: pulumi.Output[str]
    proxy_endpoint: pulumi.Output[str]
    """For Lambda functions: TLS and an IAM token (rds-db:connect on `proxy_arn`'s resource id)."""
    proxy_read_only_endpoint: pulumi.Output[str]
    """The proxy's endpoint to the readers only (never the writer): the storefront reads through it;
    in a global database's secondary Region, so do the functions (write forwarding carries their
    writes)."""
    port: pulumi.Output[int]
    cluster_arn: pulumi.Output[str]
    cluster_identifier: pulumi.Output[str]
    """The `DBClusterIdentifier` dimension of the cluster's metrics."""
    writer_instance_identifier: pulumi.Output[str]
    """The instance created as the writer (`DBInstanceIdentifier`); a failover moves the role.
    SECONDARY: the first reader, the first to be promoted."""
    cluster_resource_id: pulumi.Output[str]
    """For `rds-db:connect` grants: arn:aws:rds-db:<region>:<account>:dbuser:<id>/<db user>."""
    master_secret_arn: pulumi.Output[str]
    """The Secrets Manager secret RDS manages (and rotates) for the master user."""
    security_group_id: pulumi.Output[str]
    proxy_arn: pulumi.Output[str]
    proxy_security_group_id: pulumi.Output[str]
    database_name: str
    kms_key_arn: pulumi.Input[str] | None
    """The relational data key (None only when built with Encryption.NONE)."""
    global_role: GlobalRole
    global_cluster_identifier: pulumi.Output[str] | None
    """PRIMARY and SECONDARY: the Aurora Global Database (switchover and failover act on it)."""
    memberships: dict[str, GlobalMembership]
    """PRIMARY: per secondary Region, what its cluster joins."""

    def __init__(self, name: str, args: RelationalDatabaseArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("ecommerce:data:RelationalDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encrypted = args.encryption is Encryption.CUSTOMER_KEY
        retain = args.protection is Protection.RETAIN
        readers = args.reader_count if args.availability is Availability.MULTI_AZ else 0
        role, membership = args.global_role, args.membership
        # A global database's cluster names are unique across its Regions.
        identifier = physical_name(name if membership is None else f"{name}-{membership.region}", 63)
        key_arn: pulumi.Input[str] | None
        if membership is not None:  # made by the primary, which encrypts the secret replica with it
            key_arn = membership.kms_key_arn
        else:
            key = data_key(f"{name}-key", DataClass.RELATIONAL, child) if encrypted else None
            key_arn = key.arn if key else None

        groups = _security_groups(name, args, child)
        cluster_sg, proxy_sg = groups.cluster, groups.proxy

        subnet_group, parameters = _subnet_group(name, args, child), _parameters(name, args, child)
        # RDS would create this group itself, unencrypted and kept forever; own it instead.
        logs = log_group(f"{name}-postgresql", retention_days=args.log_retention_days,
                         kms_key_arn=args.logs_kms_key_arn, opts=child,
                         log_group_name=f"/aws/rds/cluster/{identifier}/postgresql")

        own_secret = self._master_secret(name, args, key_arn) if role is GlobalRole.PRIMARY else None
        cluster = aws.rds.Cluster(
            name, cluster_identifier=identifier, engine=ENGINE,
            engine_version=args.engine_version,
            **_credentials(args, key_arn, own_secret.password if own_secret else None),
            storage_encrypted=encrypted,
            kms_key_id=key_arn, iam_database_authentication_enabled=True, port=PORT,
            db_subnet_group_name=subnet_group.name, vpc_security_group_ids=[cluster_sg.id],
            db_cluster_parameter_group_name=parameters.name,
            backup_retention_period=args.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            preferred_maintenance_window="sun:05:00-sun:06:00",
            copy_tags_to_snapshot=True, deletion_protection=retain,
            skip_final_snapshot=not retain,
            final_snapshot_identifier=f"{identifier}-final" if retain else None,
            delete_automated_backups=not retain,
            enabled_cloudwatch_logs_exports=["postgresql"], tags=stored_gb_tags(args.stored_gb),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[logs, *([membership.global_cluster] if membership else [])],
                # joined from outside the cluster (PRIMARY) or replicated into it (SECONDARY)
                ignore_changes={GlobalRole.NONE: [], GlobalRole.PRIMARY: ["global_cluster_identifier"],
                                GlobalRole.SECONDARY: ["replication_source_identifier"]}[role]))

        instances: list[aws.rds.ClusterInstance] = []
        for index, zone in enumerate(instance_zones(args.availability_zones, readers)):
            # a secondary cluster has only readers; one is promoted on a failover
            member = f"reader-{index + 1}" if membership else "writer" if index == 0 else f"reader-{index}"
            instances.append(aws.rds.ClusterInstance(
                f"{name}-{member}", cluster_identifier=cluster.id, engine=ENGINE,
                engine_version=cluster.engine_version, instance_class=args.instance_class,
                availability_zone=zone, db_subnet_group_name=subnet_group.name,
                publicly_accessible=False, promotion_tier=index,  # failover to reader-1 first
                performance_insights_enabled=True, performance_insights_kms_key_id=key_arn,
                performance_insights_retention_period=7, ca_cert_identifier=RDS_CA,
                auto_minor_version_upgrade=True, copy_tags_to_snapshot=True,
                # the first instance created becomes the writer
                opts=pulumi.ResourceOptions(parent=self, depends_on=instances[:1])))

        self._join_global(name, args, cluster, instances, own_secret)

        # A secondary keeps as many instances as the primary has, so a promotion keeps capacity.
        if readers and membership is None:
            _reader_autoscaling(name, args, cluster, instances, readers, parent=self)

        master_secret_arn = _master_secret_arn(own_secret, membership, cluster)
        proxy = _proxy(name, args, cluster, instances, groups, parent=self)
        self.proxy_read_only_endpoint = proxy.read_only_endpoint

        self.cluster_endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        self.proxy_endpoint = proxy.proxy.endpoint
        self.port = cluster.port
        self.cluster_arn = cluster.arn
        self.cluster_identifier = cluster.cluster_identifier
        self.writer_instance_identifier = instances[0].identifier
        self.cluster_resource_id = cluster.cluster_resource_id
        self.master_secret_arn = master_secret_arn
        self.security_group_id = cluster_sg.id
        self.proxy_arn = proxy.proxy.arn
        self.proxy_security_group_id = proxy_sg.id
        self.database_name = args.database_name
        self.kms_key_arn = key_arn
        self.global_role = role
        outputs: dict[str, object] = {} if self.global_cluster_identifier is None else {
            "global_cluster_identifier": self.global_cluster_identifier}
        self.register_outputs({
            **outputs,
            "cluster_endpoint": self.cluster_endpoint, "reader_endpoint": self.reader_endpoint,
            "proxy_endpoint": self.proxy_endpoint, "port": self.port,
            "cluster_arn": self.cluster_arn, "cluster_resource_id": self.cluster_resource_id,
            "master_secret_arn": self.master_secret_arn,
            "security_group_id": self.security_group_id, "proxy_arn": self.proxy_arn,
            "proxy_security_group_id": self.proxy_security_group_id,
            "database_name": self.database_name})

    def _join_global(self, name: str, args: RelationalDatabaseArgs, cluster: aws.rds.Cluster,
                     instances: Sequence[aws.rds.ClusterInstance],
                     own_secret: _MasterSecret | None) -> None:
        """PRIMARY: the global database made from this cluster, and what each secondary Region's
        cluster joins; SECONDARY: the global database it joined."""
        retain = args.protection is Protection.RETAIN
        membership = args.membership
        self.global_cluster_identifier = None
        self.memberships = {}
        if own_secret is not None:
            # From the existing cluster, so turning multiRegion on never replaces the primary.
            global_cluster = aws.rds.GlobalCluster(
                f"{name}-global", global_cluster_identifier=physical_name(f"{name}-global", 255),
                source_db_cluster_identifier=cluster.arn, force_destroy=True,
                deletion_protection=retain,
                opts=pulumi.ResourceOptions(parent=self, depends_on=instances))
            self.global_cluster_identifier = global_cluster.id
            self.memberships = {region: GlobalMembership(
                region=region, global_cluster_identifier=global_cluster.id, kms_key_arn=replica_key,
                master_secret_arn=arn_in_region(own_secret.arn, region), global_cluster=global_cluster)
                for region, replica_key in own_secret.replica_key_arns.items()}
        elif membership is not None:
            self.global_cluster_identifier = pulumi.Output.from_input(
                membership.global_cluster_identifier)

    def _master_secret(self, name: str, args: RelationalDatabaseArgs,
                       key_arn: pulumi.Input[str] | None) -> _MasterSecret:
        """PRIMARY: the master credentials in a secret of this stack, replicated to every
        secondary Region (encrypted there with that Region's relational key, made here)."""
        replica_keys = {r.region: data_key(f"{name}-key-{r.region}", DataClass.RELATIONAL,
                                           pulumi.ResourceOptions(parent=self, provider=r.provider)).arn
                        for r in args.secondary_regions}
        secret = aws.secretsmanager.Secret(
            f"{name}-master", kms_key_id=key_arn, recovery_window_in_days=7,
            description="Aurora master user of the global database (RDS cannot manage it there)",
            replicas=[aws.secretsmanager.SecretReplicaArgs(region=region, kms_key_id=replica_key)
                      for region, replica_key in replica_keys.items()],
            opts=pulumi.ResourceOptions(parent=self))
        # Drawn by Secrets Manager and stored once: later draws are ignored, so the password
        # changes only when the version is replaced (`pulumi up --replace <its URN>`).
        draw = aws.secretsmanager.get_random_password_output(
            password_length=MASTER_PASSWORD_LENGTH, exclude_punctuation=True, include_space=False,
            opts=pulumi.InvokeOutputOptions(parent=self))
        credentials: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.json_dumps(
            {"username": args.master_username, "password": draw.random_password}))
        version = aws.secretsmanager.SecretVersion(
            f"{name}-master", secret_id=secret.id, secret_string=credentials,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["secret_string"]))
        password: pulumi.Output[str] = pulumi.Output.secret(version.secret_string.apply(_password))
        return _MasterSecret(arn=secret.arn, password=password, replica_key_arns=replica_keys)


def _db_user_arn(cluster_arn: str, cluster_resource_id: str, user: str) -> str:
    """`rds-db:connect` resource for `user` of the cluster (region and account from its ARN)."""
    _arn, partition, _rds, region, account, *_rest = cluster_arn.split(":")
    return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{cluster_resource_id}/{user}"


# ----------------------------------------------------------------------------------------------
# The steps of RelationalDatabase, each returning what the next ones need


@dataclass(frozen=True)
class _StoreGroups:
    cluster: aws.ec2.SecurityGroup
    """5432 from the app and Lambda tiers and from the proxy."""
    proxy: aws.ec2.SecurityGroup
    """5432 from the app and Lambda tiers."""


def _security_groups(name: str, args: RelationalDatabaseArgs,
                     child: pulumi.ResourceOptions) -> _StoreGroups:
    cluster_sg = store_security_group(
        f"{name}-cluster", vpc_id=args.vpc_id, port=PORT,
        description="Aurora PostgreSQL: 5432 from the app and Lambda tiers and the proxy",
        client_security_group_ids=args.client_security_group_ids, opts=child)
    proxy_sg = store_security_group(
        f"{name}-proxy", vpc_id=args.vpc_id, port=PORT,
        description="RDS Proxy: 5432 from the app and Lambda tiers",
        client_security_group_ids=args.client_security_group_ids, opts=child)
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-cluster-from-proxy", security_group_id=cluster_sg.id,
        referenced_security_group_id=proxy_sg.id, ip_protocol="tcp", from_port=PORT,
        to_port=PORT, description="RDS Proxy to Aurora", opts=child)
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-proxy-to-cluster", security_group_id=proxy_sg.id,
        referenced_security_group_id=cluster_sg.id, ip_protocol="tcp", from_port=PORT,
        to_port=PORT, description="RDS Proxy to Aurora", opts=child)
    return _StoreGroups(cluster=cluster_sg, proxy=proxy_sg)


def _subnet_group(name: str, args: RelationalDatabaseArgs,
                  child: pulumi.ResourceOptions) -> aws.rds.SubnetGroup:
    return aws.rds.SubnetGroup(
        name, subnet_ids=list(args.subnet_ids),
        description="Isolated subnets of the relational store", opts=child)


def _parameters(name: str, args: RelationalDatabaseArgs,
                child: pulumi.ResourceOptions) -> aws.rds.ClusterParameterGroup:
    """TLS 1.2+ required (unless the store is built unencrypted), slow queries logged."""
    family = f"{ENGINE.value}{args.engine_version.split('.')[0]}"
    tls = "1" if args.encryption is Encryption.CUSTOMER_KEY else "0"
    return aws.rds.ClusterParameterGroup(
        name, family=family, description="Aurora PostgreSQL: TLS 1.2+ required",
        parameters=[
            aws.rds.ClusterParameterGroupParameterArgs(
                name="rds.force_ssl", value=tls, apply_method="pending-reboot"),
            aws.rds.ClusterParameterGroupParameterArgs(
                name="ssl_min_protocol_version", value="TLSv1.2",
                apply_method="pending-reboot"),
            aws.rds.ClusterParameterGroupParameterArgs(
                name="log_min_duration_statement", value="1000"),  # slow queries, ms
        ], opts=child)


def _reader_autoscaling(name: str, args: RelationalDatabaseArgs, cluster: aws.rds.Cluster,
                        instances: Sequence[aws.rds.ClusterInstance], readers: int, *,
                        parent: pulumi.Resource) -> None:
    """Readers between `readers` and `max_readers`, on their average CPU."""
    child = pulumi.ResourceOptions(parent=parent)
    target = aws.appautoscaling.Target(
        f"{name}-readers", service_namespace="rds",
        scalable_dimension="rds:cluster:ReadReplicaCount",
        resource_id=pulumi.Output.concat("cluster:", cluster.cluster_identifier),
        min_capacity=readers, max_capacity=args.max_readers,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=instances))
    aws.appautoscaling.Policy(
        f"{name}-readers-cpu", policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension, resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration=aws.appautoscaling.
        PolicyTargetTrackingScalingPolicyConfigurationArgs(
            target_value=args.reader_target_cpu, scale_out_cooldown=60,
            scale_in_cooldown=600,
            predefined_metric_specification=aws.appautoscaling.
            PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="RDSReaderAverageCPUUtilization")),
        opts=child)


def _master_secret_arn(own_secret: _MasterSecret | None, membership: GlobalMembership | None,
                       cluster: aws.rds.Cluster) -> pulumi.Output[str]:
    """The master user's secret: this stack's (PRIMARY), the primary's replica here (SECONDARY),
    or the one RDS manages."""
    if own_secret is not None:
        return own_secret.arn
    if membership is not None:
        return pulumi.Output.from_input(membership.master_secret_arn)
    return cluster.master_user_secrets.apply(_secret_arn)


@dataclass(frozen=True)
class _Proxy:
    proxy: aws.rds.Proxy
    read_only_endpoint: pulumi.Output[str]


def _proxy(name: str, args: RelationalDatabaseArgs, cluster: aws.rds.Cluster,
           instances: Sequence[aws.rds.ClusterInstance], groups: _StoreGroups, *,
           parent: pulumi.Resource) -> _Proxy:
    child = pulumi.ResourceOptions(parent=parent)
    encrypted = args.encryption is Encryption.CUSTOMER_KEY
    proxy_sg = groups.proxy
    # End-to-end IAM: each workload connects as its own database user (granted rds_iam by the
    # migrations) with an IAM token, and the proxy logs in to the cluster the same way, so no
    # password is shared between workloads.
    proxy_role = aws.iam.Role(f"{name}-proxy", assume_role_policy=assume_role_policy(
        "rds.amazonaws.com"), description="RDS Proxy: connects to the cluster with IAM",
        opts=child)
    aws.iam.RolePolicy(f"{name}-proxy", role=proxy_role.id, policy=policy_document([{
        "Sid": "ConnectAsTheWorkloadUsers", "Effect": "Allow", "Action": "rds-db:connect",
        "Resource": pulumi.Output.all(cluster.arn, cluster.cluster_resource_id).apply(
            lambda v: _db_user_arn(v[0], v[1], "*"))}]), opts=child)

    proxy = aws.rds.Proxy(
        f"{name}-proxy", name=physical_name(f"{name}-proxy", 60), engine_family="POSTGRESQL",
        require_tls=encrypted, role_arn=proxy_role.arn, default_auth_scheme="IAM_AUTH",
        vpc_subnet_ids=list(args.subnet_ids), vpc_security_group_ids=[proxy_sg.id],
        idle_client_timeout=1800, debug_logging=False, opts=child)
    target_group = aws.rds.ProxyDefaultTargetGroup(
        f"{name}-proxy", db_proxy_name=proxy.name,
        connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
            max_connections_percent=50, max_idle_connections_percent=10,
            connection_borrow_timeout=30),
        opts=child)
    proxy_target = aws.rds.ProxyTarget(
        f"{name}-proxy", db_proxy_name=proxy.name, target_group_name=target_group.name,
        db_cluster_identifier=cluster.cluster_identifier,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=instances))
    # Reads that must never load the writer (the storefront), and, while the cluster is a global
    # database's secondary (no writer), the functions' connections, whose writes are forwarded.
    read_only = aws.rds.ProxyEndpoint(
        f"{name}-proxy-readers", db_proxy_endpoint_name=physical_name(f"{name}-readers", 63),
        db_proxy_name=proxy.name, target_role="READ_ONLY",
        vpc_subnet_ids=list(args.subnet_ids), vpc_security_group_ids=[proxy_sg.id],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[proxy_target])).endpoint
    return _Proxy(proxy=proxy, read_only_endpoint=read_only)
