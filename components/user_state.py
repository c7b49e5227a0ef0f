"""Per-user state in DynamoDB: carts, sessions and the Lambda consumers' idempotency records.

Key-value access by one id, bursty, short-lived: on-demand tables whose items expire through TTL.
The product catalog is deliberately not here: it is relational and admin-edited, so it lives in
Aurora (with the cache and search in front of it).

In a multi-Region stack (docs/multi-region.md) each table has a scope. Customer data (carts) is a
GLOBAL table: the primary Region's table with a replica in every other Region (DynamoDB global
tables, version 2019.11.21), written in either Region, last writer wins. Sessions and idempotency
records stay REGIONAL: each Region has its own table, never a replica. A session lives where the
shopper's requests land, and the idempotency records deduplicate the consumers of that Region's
event bus, which only see that Region's events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from components.data_common import (
    DataClass,
    Encryption,
    Protection,
    ReplicaRegion,
    arn_in_region,
    data_key,
)


class TableScope(StrEnum):
    GLOBAL = "global"  # customer data: replicated to every Region of the stack
    REGIONAL = "regional"  # one table per Region, never replicated


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: str
    ttl_attribute: str
    purpose: str
    scope: TableScope = TableScope.REGIONAL


CARTS = TableSpec("carts", "cart_id", "expires_at", "Shopper carts until checkout or expiry",
                  TableScope.GLOBAL)
SESSIONS = TableSpec("sessions", "session_id", "expires_at", "Storefront sessions")
# Powertools for AWS Lambda's idempotency layer: partition key `id`, expiry in `expiration`.
IDEMPOTENCY = TableSpec("idempotency", "id", "expiration",
                        "Idempotency records of the event consumers by event id")
TABLES = (CARTS, SESSIONS, IDEMPOTENCY)
# Streams carry the replication of a global table (version 2019.11.21 requires both images).
REPLICATION_STREAM_VIEW = "NEW_AND_OLD_IMAGES"


@dataclass(frozen=True, kw_only=True)
class GlobalTables:
    """In a secondary Region: the primary's GLOBAL tables, whose replicas are in `region`."""

    region: str
    names: Mapping[str, pulumi.Input[str]]
    arns: Mapping[str, pulumi.Input[str]]
    """The tables' ARNs in the primary Region."""


@dataclass(frozen=True, kw_only=True)
class UserStateTablesArgs:
    protection: Protection = Protection.RETAIN
    encryption: Encryption = Encryption.CUSTOMER_KEY
    """NONE leaves the tables on the AWS-owned key (DynamoDB always encrypts at rest)."""
    replicas: Sequence[ReplicaRegion] = ()
    """The stack's other Regions: every GLOBAL table gets a replica there (primary Region)."""
    global_tables: GlobalTables | None = None
    """A secondary Region: GLOBAL tables are the primary's replicas; only REGIONAL ones are made."""


class UserStateTables(pulumi.ComponentResource):
    carts_table_name: pulumi.Output[str]
    carts_table_arn: pulumi.Output[str]
    sessions_table_name: pulumi.Output[str]
    sessions_table_arn: pulumi.Output[str]
    idempotency_table_name: pulumi.Output[str]
    idempotency_table_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str] | None
    """The user-state data key (None only when built with Encryption.NONE)."""

    def __init__(self, name: str, args: UserStateTablesArgs | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        args = args or UserStateTablesArgs()
        _validate(name, args)
        super().__init__("ecommerce:data:UserStateTables", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encrypted = args.encryption is Encryption.CUSTOMER_KEY
        retain = args.protection is Protection.RETAIN
        key = data_key(f"{name}-key", DataClass.USER_STATE, child) if encrypted else None
        # A replica is encrypted with a key of its own Region, made here before the replica.
        replica_keys = {r.region: data_key(f"{name}-key-{r.region}", DataClass.USER_STATE,
                                           pulumi.ResourceOptions(parent=self, provider=r.provider))
                        for r in args.replicas} if encrypted else {}

        self._tables: dict[str, aws.dynamodb.Table] = {}
        names: dict[str, pulumi.Output[str]] = {}
        arns: dict[str, pulumi.Output[str]] = {}
        for spec in TABLES:
            if spec.scope is TableScope.GLOBAL and args.global_tables is not None:
                names[spec.name] = pulumi.Output.from_input(args.global_tables.names[spec.name])
                arns[spec.name] = arn_in_region(args.global_tables.arns[spec.name],
                                                args.global_tables.region)
                continue
            replicated = spec.scope is TableScope.GLOBAL and bool(args.replicas)
            table = self._tables[spec.name] = aws.dynamodb.Table(
                f"{name}-{spec.name}", billing_mode="PAY_PER_REQUEST", hash_key=spec.hash_key,
                attributes=[aws.dynamodb.TableAttributeArgs(name=spec.hash_key, type="S")],
                ttl=aws.dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True),
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                    enabled=encrypted, kms_key_arn=key.arn if key else None),
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
                deletion_protection_enabled=retain,
                stream_enabled=True if replicated else None,
                stream_view_type=REPLICATION_STREAM_VIEW if replicated else None,
                replicas=[aws.dynamodb.TableReplicaArgs(
                    region_name=r.region, kms_key_arn=replica_keys[r.region].arn if encrypted else None,
                    point_in_time_recovery=True, deletion_protection_enabled=retain,
                    propagate_tags=True) for r in args.replicas] if replicated else None,
                tags={"purpose": spec.purpose}, opts=child)
            names[spec.name], arns[spec.name] = table.name, table.arn

        self.carts_table_name = names[CARTS.name]
        self.carts_table_arn = arns[CARTS.name]
        self.sessions_table_name = names[SESSIONS.name]
        self.sessions_table_arn = arns[SESSIONS.name]
        self.idempotency_table_name = names[IDEMPOTENCY.name]
        self.idempotency_table_arn = arns[IDEMPOTENCY.name]
        self.kms_key_arn = key.arn if key else None
        self.register_outputs({
            **{f"{spec_name}_table_name": value for spec_name, value in names.items()},
            **{f"{spec_name}_table_arn": value for spec_name, value in arns.items()}})

    def replicas_in(self, region: str) -> GlobalTables:
        """What a secondary Region's tables component needs: this Region's GLOBAL tables."""
        specs = [s for s in TABLES if s.scope is TableScope.GLOBAL and s.name in self._tables]
        return GlobalTables(region=region, names={s.name: self._tables[s.name].name for s in specs},
                            arns={s.name: self._tables[s.name].arn for s in specs})


def _validate(name: str, args: UserStateTablesArgs) -> None:
    if args.replicas and args.global_tables is not None:
        raise ValueError(f"{name}: a Region either has the global tables' primaries (replicas) or "
                         "their replicas (global_tables), not both")
    if args.global_tables is not None:
        missing = [s.name for s in TABLES
                   if s.scope is TableScope.GLOBAL and s.name not in args.global_tables.names]
        if missing:
            raise ValueError(f"{name}: global_tables lacks the global table(s) {missing}")
