"""The relational source of truth: Aurora PostgreSQL over two or more AZs, and an RDS Proxy.

Orders, customers and the admin-edited product catalog live here (the catalog is relational, so
it stays out of DynamoDB). The writer and the readers are pinned to different AZs, readers scale
out for the spike, storage and Performance Insights are encrypted with the relational data key,
the master password is RDS-managed in Secrets Manager, every connection must use TLS and may use
IAM authentication, and Lambda functions connect through the proxy (TLS and IAM required).
"""

from __future__ import annotations

from collections.abc import Sequence
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
from components.defaults import assume_role_policy, log_group, policy_document

ENGINE = aws.rds.EngineType.AURORA_POSTGRESQL
PORT = 5432
RDS_CA = "rds-ca-rsa2048-g1"


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


def _validate(name: str, args: RelationalDatabaseArgs) -> None:
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
    port: pulumi.Output[int]
    cluster_arn: pulumi.Output[str]
    cluster_identifier: pulumi.Output[str]
    """The `DBClusterIdentifier` dimension of the cluster's metrics."""
    writer_instance_identifier: pulumi.Output[str]
    """The instance created as the writer (`DBInstanceIdentifier`); a failover moves the role."""
    cluster_resource_id: pulumi.Output[str]
    """For `rds-db:connect` grants: arn:aws:rds-db:<region>:<account>:dbuser:<id>/<db user>."""
    master_secret_arn: pulumi.Output[str]
    """The Secrets Manager secret RDS manages (and rotates) for the master user."""
    security_group_id: pulumi.Output[str]
    proxy_arn: pulumi.Output[str]
    proxy_security_group_id: pulumi.Output[str]
    database_name: str
    kms_key_arn: pulumi.Output[str] | None
    """The relational data key (None only when built with Encryption.NONE)."""

    def __init__(self, name: str, args: RelationalDatabaseArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("ecommerce:data:RelationalDatabase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encrypted = args.encryption is Encryption.CUSTOMER_KEY
        retain = args.protection is Protection.RETAIN
        readers = args.reader_count if args.availability is Availability.MULTI_AZ else 0
        identifier = physical_name(name, 63)
        key = data_key(f"{name}-key", DataClass.RELATIONAL, child) if encrypted else None
        key_arn = key.arn if key else None

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

        subnet_group = aws.rds.SubnetGroup(
            name, subnet_ids=list(args.subnet_ids),
            description="Isolated subnets of the relational store", opts=child)
        family = f"{ENGINE.value}{args.engine_version.split('.')[0]}"
        tls = "1" if encrypted else "0"
        parameters = aws.rds.ClusterParameterGroup(
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
        # RDS would create this group itself, unencrypted and kept forever; own it instead.
        logs = log_group(f"{name}-postgresql", retention_days=args.log_retention_days,
                         kms_key_arn=args.logs_kms_key_arn, opts=child,
                         log_group_name=f"/aws/rds/cluster/{identifier}/postgresql")

        cluster = aws.rds.Cluster(
            name, cluster_identifier=identifier, engine=ENGINE,
            engine_version=args.engine_version, database_name=args.database_name,
            master_username=args.master_username, manage_master_user_password=True,
            master_user_secret_kms_key_id=key_arn, storage_encrypted=encrypted,
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
            enabled_cloudwatch_logs_exports=["postgresql"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]))

        instances: list[aws.rds.ClusterInstance] = []
        for index, zone in enumerate(instance_zones(args.availability_zones, readers)):
            role = "writer" if index == 0 else f"reader-{index}"
            instances.append(aws.rds.ClusterInstance(
                f"{name}-{role}", cluster_identifier=cluster.id, engine=ENGINE,
                engine_version=cluster.engine_version, instance_class=args.instance_class,
                availability_zone=zone, db_subnet_group_name=subnet_group.name,
                publicly_accessible=False, promotion_tier=index,  # failover to reader-1 first
                performance_insights_enabled=True, performance_insights_kms_key_id=key_arn,
                performance_insights_retention_period=7, ca_cert_identifier=RDS_CA,
                auto_minor_version_upgrade=True, copy_tags_to_snapshot=True,
                # the first instance created becomes the writer
                opts=pulumi.ResourceOptions(parent=self, depends_on=instances[:1])))

        if readers:
            target = aws.appautoscaling.Target(
                f"{name}-readers", service_namespace="rds",
                scalable_dimension="rds:cluster:ReadReplicaCount",
                resource_id=pulumi.Output.concat("cluster:", cluster.cluster_identifier),
                min_capacity=readers, max_capacity=args.max_readers,
                opts=pulumi.ResourceOptions(parent=self, depends_on=instances))
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

        master_secret_arn = cluster.master_user_secrets.apply(_secret_arn)
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        proxy_role = aws.iam.Role(f"{name}-proxy", assume_role_policy=assume_role_policy(
            "rds.amazonaws.com"), description="RDS Proxy: reads the master secret", opts=child)
        statements: list[dict[str, object]] = [{
            "Sid": "ReadMasterSecret", "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": master_secret_arn}]
        if key_arn is not None:
            statements.append({
                "Sid": "DecryptMasterSecret", "Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": key_arn, "Condition": {"StringEquals": {
                    "kms:ViaService": pulumi.Output.concat("secretsmanager.", region,
                                                           ".amazonaws.com")}}})
        aws.iam.RolePolicy(f"{name}-proxy", role=proxy_role.id,
                           policy=policy_document(statements), opts=child)

        proxy = aws.rds.Proxy(
            f"{name}-proxy", name=physical_name(f"{name}-proxy", 60), engine_family="POSTGRESQL",
            require_tls=encrypted, role_arn=proxy_role.arn,
            vpc_subnet_ids=list(args.subnet_ids), vpc_security_group_ids=[proxy_sg.id],
            idle_client_timeout=1800, debug_logging=False,
            auths=[aws.rds.ProxyAuthArgs(
                auth_scheme="SECRETS", iam_auth="REQUIRED", secret_arn=master_secret_arn,
                client_password_auth_type="POSTGRES_SCRAM_SHA_256",
                description="The RDS-managed master secret")],
            opts=child)
        target_group = aws.rds.ProxyDefaultTargetGroup(
            f"{name}-proxy", db_proxy_name=proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=50, max_idle_connections_percent=10,
                connection_borrow_timeout=30),
            opts=child)
        aws.rds.ProxyTarget(
            f"{name}-proxy", db_proxy_name=proxy.name, target_group_name=target_group.name,
            db_cluster_identifier=cluster.cluster_identifier,
            opts=pulumi.ResourceOptions(parent=self, depends_on=instances))

        self.cluster_endpoint = cluster.endpoint
        self.reader_endpoint = cluster.reader_endpoint
        self.proxy_endpoint = proxy.endpoint
        self.port = cluster.port
        self.cluster_arn = cluster.arn
        self.cluster_identifier = cluster.cluster_identifier
        self.writer_instance_identifier = instances[0].identifier
        self.cluster_resource_id = cluster.cluster_resource_id
        self.master_secret_arn = master_secret_arn
        self.security_group_id = cluster_sg.id
        self.proxy_arn = proxy.arn
        self.proxy_security_group_id = proxy_sg.id
        self.database_name = args.database_name
        self.kms_key_arn = key_arn
        self.register_outputs({
            "cluster_endpoint": self.cluster_endpoint, "reader_endpoint": self.reader_endpoint,
            "proxy_endpoint": self.proxy_endpoint, "port": self.port,
            "cluster_arn": self.cluster_arn, "cluster_resource_id": self.cluster_resource_id,
            "master_secret_arn": self.master_secret_arn,
            "security_group_id": self.security_group_id, "proxy_arn": self.proxy_arn,
            "proxy_security_group_id": self.proxy_security_group_id,
            "database_name": self.database_name})
