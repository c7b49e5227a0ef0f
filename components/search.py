"""Search and recommendations: an OpenSearch domain in the VPC's private subnets.

Zone-aware over two (or three) AZs with an even spread of data nodes, dedicated masters where
configured, encrypted at rest with the search data key and between nodes, HTTPS only with a TLS 1.2
policy, fine-grained access control with an IAM master role (no internal users, no password), slow
and error logs published to encrypted log groups, and a domain access policy that names only the
admin role and the app roles (`allow_roles`, once those roles exist).
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
    data_key,
    physical_name,
    store_security_group,
)
from components.defaults import OPENSEARCH_TLS_POLICY, log_group, policy_document

PORT = 443
LOG_TYPES = ("INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS", "ES_APPLICATION_LOGS")


@dataclass(frozen=True, kw_only=True)
class SearchDomainArgs:
    account_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Private subnets, one per AZ, in the order of `availability_zones`."""
    availability_zones: Sequence[str]
    client_security_group_ids: Sequence[pulumi.Input[str]]
    """The app and Lambda tiers' groups: the only sources admitted on 443."""
    instance_type: str
    data_nodes: int = 2
    zone_count: int = 2
    dedicated_masters: bool = False
    """Three dedicated master nodes (of `instance_type`) keep the cluster state off data nodes."""
    volume_gb: int = 100
    engine_version: str = "OpenSearch_2.17"
    log_retention_days: int
    logs_kms_key_arn: pulumi.Input[str]
    availability: Availability = Availability.MULTI_AZ
    encryption: Encryption = Encryption.CUSTOMER_KEY
    """NONE also switches off fine-grained access control, which needs every encryption."""


def _validate(name: str, args: SearchDomainArgs) -> None:
    if len(args.subnet_ids) != len(args.availability_zones) or not args.subnet_ids:
        raise ValueError(f"{name}: give one subnet per AZ, got {len(args.subnet_ids)} subnets "
                         f"for {list(args.availability_zones)}")
    if args.availability is Availability.MULTI_AZ:
        if args.zone_count not in (2, 3) or args.zone_count > len(args.availability_zones):
            raise ValueError(f"{name}: zone_count={args.zone_count} must be 2 or 3 and at most "
                             f"the {len(args.availability_zones)} AZs given")
        if args.data_nodes < args.zone_count or args.data_nodes % args.zone_count:
            raise ValueError(f"{name}: data_nodes={args.data_nodes} must be a multiple of "
                             f"zone_count={args.zone_count} so each zone holds the same share")
    if args.data_nodes < 1 or args.volume_gb < 10:
        raise ValueError(f"{name}: data_nodes={args.data_nodes} must be >= 1 and "
                         f"volume_gb={args.volume_gb} >= 10")


class SearchDomain(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    """The VPC endpoint host name (HTTPS on 443, requests signed with SigV4)."""
    domain_arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    admin_role_arn: pulumi.Output[str]
    """The fine-grained access control master: assumable by the account's administrators."""
    kms_key_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: SearchDomainArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("ecommerce:data:SearchDomain", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encrypted = args.encryption is Encryption.CUSTOMER_KEY
        multi_az = args.availability is Availability.MULTI_AZ
        zones = args.zone_count if multi_az else 1
        key = data_key(f"{name}-key", DataClass.SEARCH, child) if encrypted else None

        security_group = store_security_group(
            name, vpc_id=args.vpc_id, port=PORT,
            description="Search domain: 443 from the app and Lambda tiers",
            client_security_group_ids=args.client_security_group_ids, opts=child)

        admin = aws.iam.Role(
            f"{name}-admin", description="Master of the search domain's fine-grained access",
            assume_role_policy=policy_document([{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", args.account_id,
                                                          ":root")}}]),
            opts=child)

        logs = {log_type: log_group(f"{name}-{log_type.lower().replace('_', '-')}",
                                    retention_days=args.log_retention_days,
                                    kms_key_arn=args.logs_kms_key_arn, opts=child)
                for log_type in LOG_TYPES}
        log_policy = aws.cloudwatch.LogResourcePolicy(
            f"{name}-logs", policy_name=physical_name(f"{name}-logs", 255),
            policy_document=policy_document([{
                "Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"},
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [pulumi.Output.concat(group.arn, ":*") for group in logs.values()],
                "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}}}]),
            opts=child)

        domain = aws.opensearch.Domain(
            name, domain_name=physical_name(name, 28), engine_version=args.engine_version,
            cluster_config=aws.opensearch.DomainClusterConfigArgs(
                instance_type=args.instance_type, instance_count=args.data_nodes,
                zone_awareness_enabled=multi_az,
                zone_awareness_config=aws.opensearch.DomainClusterConfigZoneAwarenessConfigArgs(
                    availability_zone_count=zones) if multi_az else None,
                dedicated_master_enabled=args.dedicated_masters,
                dedicated_master_type=args.instance_type if args.dedicated_masters else None,
                dedicated_master_count=3 if args.dedicated_masters else None),
            ebs_options=aws.opensearch.DomainEbsOptionsArgs(
                ebs_enabled=True, volume_type="gp3", volume_size=args.volume_gb),
            vpc_options=aws.opensearch.DomainVpcOptionsArgs(
                subnet_ids=list(args.subnet_ids[:zones]), security_group_ids=[security_group.id]),
            encrypt_at_rest=aws.opensearch.DomainEncryptAtRestArgs(
                enabled=encrypted, kms_key_id=key.arn if key else None),
            node_to_node_encryption=aws.opensearch.DomainNodeToNodeEncryptionArgs(
                enabled=encrypted),
            domain_endpoint_options=aws.opensearch.DomainDomainEndpointOptionsArgs(
                enforce_https=encrypted,
                tls_security_policy=OPENSEARCH_TLS_POLICY if encrypted else None),
            advanced_security_options=aws.opensearch.DomainAdvancedSecurityOptionsArgs(
                enabled=encrypted, anonymous_auth_enabled=False,
                internal_user_database_enabled=False,
                master_user_options=aws.opensearch.DomainAdvancedSecurityOptionsMasterUserOptionsArgs(
                    master_user_arn=admin.arn) if encrypted else None),
            log_publishing_options=[aws.opensearch.DomainLogPublishingOptionArgs(
                log_type=log_type, cloudwatch_log_group_arn=group.arn, enabled=True)
                for log_type, group in logs.items()],
            software_update_options=aws.opensearch.DomainSoftwareUpdateOptionsArgs(
                auto_software_update_enabled=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy]))

        self._name = name
        self._account_id = args.account_id
        self._access_policy: aws.opensearch.DomainPolicy | None = None
        self.endpoint = domain.endpoint
        self.domain_arn = domain.arn
        self.domain_name = domain.domain_name
        self.security_group_id = security_group.id
        self.admin_role_arn = admin.arn
        self.kms_key_arn = key.arn if key else None
        self.register_outputs({
            "endpoint": self.endpoint, "domain_arn": self.domain_arn,
            "domain_name": self.domain_name, "security_group_id": self.security_group_id,
            "admin_role_arn": self.admin_role_arn})

    def allow_roles(self, role_arns: Sequence[pulumi.Input[str]]) -> aws.opensearch.DomainPolicy:
        """Make the admin role and `role_arns` the only principals of the account that reach the
        domain's indexes (call once, after the app and Lambda roles exist).

        Until then the domain has no access policy. Each role still needs a fine-grained access
        control mapping (made in OpenSearch by the admin role) to read or write an index.
        """
        if self._access_policy is not None:
            raise ValueError(f"{self._name}: the access policy is set; pass every role at once")
        if not role_arns:
            raise ValueError(f"{self._name}: name at least one client role")
        principals = [self.admin_role_arn, *role_arns]
        indexes = pulumi.Output.concat(self.domain_arn, "/*")
        self._access_policy = aws.opensearch.DomainPolicy(
            f"{self._name}-access", domain_name=self.domain_name,
            access_policies=policy_document([
                {"Sid": "AppRolesAndAdmin", "Effect": "Allow", "Principal": {"AWS": principals},
                 "Action": "es:ESHttp*", "Resource": indexes},
                {"Sid": "NobodyElseInTheAccount", "Effect": "Deny",
                 "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", self._account_id,
                                                           ":root")},
                 "Action": "es:ESHttp*", "Resource": indexes,
                 "Condition": {"ArnNotEquals": {"aws:PrincipalArn": principals}}}]),
            opts=pulumi.ResourceOptions(parent=self))
        return self._access_policy
