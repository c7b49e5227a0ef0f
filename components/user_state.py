"""Per-user state in DynamoDB: carts, sessions and the Lambda consumers' idempotency records.

Key-value access by one id, bursty, short-lived: on-demand tables whose items expire through TTL.
The product catalog is deliberately not here: it is relational and admin-edited, so it lives in
Aurora (with the cache and search in front of it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.data_common import DataClass, Encryption, Protection, data_key


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: str
    ttl_attribute: str
    purpose: str


CARTS = TableSpec("carts", "cart_id", "expires_at", "Shopper carts until checkout or expiry")
SESSIONS = TableSpec("sessions", "session_id", "expires_at", "Storefront sessions")
# Powertools for AWS Lambda's idempotency layer: partition key `id`, expiry in `expiration`.
IDEMPOTENCY = TableSpec("idempotency", "id", "expiration",
                        "Idempotency records of the event consumers by event id")
TABLES = (CARTS, SESSIONS, IDEMPOTENCY)


@dataclass(frozen=True, kw_only=True)
class UserStateTablesArgs:
    protection: Protection = Protection.RETAIN
    encryption: Encryption = Encryption.CUSTOMER_KEY
    """NONE leaves the tables on the AWS-owned key (DynamoDB always encrypts at rest)."""


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
        super().__init__("ecommerce:data:UserStateTables", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encrypted = args.encryption is Encryption.CUSTOMER_KEY
        key = data_key(f"{name}-key", DataClass.USER_STATE, child) if encrypted else None

        tables: dict[str, aws.dynamodb.Table] = {}
        for spec in TABLES:
            tables[spec.name] = aws.dynamodb.Table(
                f"{name}-{spec.name}", billing_mode="PAY_PER_REQUEST", hash_key=spec.hash_key,
                attributes=[aws.dynamodb.TableAttributeArgs(name=spec.hash_key, type="S")],
                ttl=aws.dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True),
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                    enabled=encrypted, kms_key_arn=key.arn if key else None),
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
                deletion_protection_enabled=args.protection is Protection.RETAIN,
                tags={"purpose": spec.purpose}, opts=child)

        self.carts_table_name = tables[CARTS.name].name
        self.carts_table_arn = tables[CARTS.name].arn
        self.sessions_table_name = tables[SESSIONS.name].name
        self.sessions_table_arn = tables[SESSIONS.name].arn
        self.idempotency_table_name = tables[IDEMPOTENCY.name].name
        self.idempotency_table_arn = tables[IDEMPOTENCY.name].arn
        self.kms_key_arn = key.arn if key else None
        self.register_outputs({
            **{f"{spec.name}_table_name": tables[spec.name].name for spec in TABLES},
            **{f"{spec.name}_table_arn": tables[spec.name].arn for spec in TABLES}})
