"""DynamoDB per-user state: carts, sessions, idempotency; on-demand, TTL, KMS, PITR, protection."""

from __future__ import annotations

from components.data_common import Encryption
from components.user_state import UserStateTables, UserStateTablesArgs
from offline.engine import Resource, Snapshot
from tests.components.data_programs import run_component

TABLE = "aws:dynamodb/table:Table"


def tables(snapshot: Snapshot) -> list[Resource]:
    """The tables of the UserStateTables component (other tiers may add their own)."""
    (component,) = snapshot.of_type("ecommerce:data:UserStateTables")
    return [t for t in snapshot.children(component) if t.type == TABLE]


def table(snapshot: Snapshot, kind: str) -> Resource:
    (found,) = [t for t in tables(snapshot) if t.name.endswith(f"-{kind}")]
    return found


def test_carts_sessions_and_idempotency_are_on_demand_and_expire(prod: Snapshot,
                                                                 staging: Snapshot) -> None:
    for snapshot in (prod, staging):
        expected_ttl = {"carts": "expires_at", "sessions": "expires_at",
                        "idempotency": "expiration"}  # Powertools' idempotency layer
        for kind, attribute in expected_ttl.items():
            found = table(snapshot, kind)
            assert found.inputs["billingMode"] == "PAY_PER_REQUEST"
            assert found.inputs["ttl"] == {"enabled": True, "attributeName": attribute}
        assert len(tables(snapshot)) == 3


def test_tables_are_encrypted_with_the_user_state_key_and_recoverable(prod: Snapshot) -> None:
    keys = {k.outputs["arn"]: k for k in prod.of_type("aws:kms/key:Key")}
    arns = set()
    for kind in ("carts", "sessions", "idempotency"):
        found = table(prod, kind)
        encryption = found.inputs["serverSideEncryption"]
        assert encryption["enabled"] is True
        assert keys[encryption["kmsKeyArn"]].inputs["enableKeyRotation"] is True
        arns.add(encryption["kmsKeyArn"])
        assert found.inputs["pointInTimeRecovery"]["enabled"] is True
    assert len(arns) == 1  # one key for the user-state data class...
    cluster_key = prod.of_type("aws:rds/cluster:Cluster")[0].inputs["kmsKeyId"]
    assert cluster_key not in arns  # ...that is not the relational data's key


def test_prod_tables_have_deletion_protection_and_staging_tables_do_not(
        prod: Snapshot, staging: Snapshot) -> None:
    for kind in ("carts", "sessions", "idempotency"):
        assert table(prod, kind).inputs["deletionProtectionEnabled"] is True
        assert table(staging, kind).inputs["deletionProtectionEnabled"] is False


def test_the_table_names_are_exported_for_the_tiers_that_use_them(prod: Snapshot) -> None:
    for kind, output in (("carts", "cartsTableName"), ("sessions", "sessionsTableName"),
                         ("idempotency", "idempotencyTableName")):
        assert prod.outputs[output] == table(prod, kind).outputs["name"]


def test_leaving_the_customer_key_is_only_an_explicit_argument() -> None:
    default = run_component(lambda: UserStateTables("state"))
    assert all(t.inputs["serverSideEncryption"]["enabled"] for t in default.of_type(TABLE))
    weak = run_component(lambda: UserStateTables("state", UserStateTablesArgs(
        encryption=Encryption.NONE)))
    assert not any(t.inputs["serverSideEncryption"]["enabled"] for t in weak.of_type(TABLE))
    assert not weak.of_type("aws:kms/key:Key")
