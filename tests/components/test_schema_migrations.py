"""Schema migrations inside `pulumi up`: a migrator in the VPC, invoked whenever a migration file
changes, ordered before every service and function that uses the database by the dependency
graph itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from components.migrations import MIGRATIONS_DIR, migrations_hash
from offline.engine import Resource, Snapshot

INVOCATION = "aws:lambda/invocation:Invocation"
FUNCTION = "aws:lambda/function:Function"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
CLUSTER = "aws:rds/cluster:Cluster"


def upstream(snapshot: Snapshot, resource: Resource) -> set[str]:
    return snapshot.upstream(resource)


def migrator(snapshot: Snapshot) -> tuple[Resource, Resource]:
    (invocation,) = snapshot.of_type(INVOCATION)
    (function,) = [f for f in snapshot.of_type(FUNCTION)
                   if f.outputs["name"] == invocation.inputs["functionName"]]
    return invocation, function


def database_hosts(snapshot: Snapshot) -> set[str]:
    """Every host name of the relational database: cluster, readers and proxy endpoints."""
    hosts: set[str] = set()
    for resource in snapshot.resources:
        if resource.type.startswith("aws:rds/"):
            hosts |= {str(resource.outputs[k]) for k in ("endpoint", "readerEndpoint")
                      if resource.outputs.get(k)}
    return hosts


def test_the_migrator_runs_in_the_vpc_as_the_master_user_on_the_writer(prod: Snapshot) -> None:
    invocation, function = migrator(prod)
    (cluster,) = prod.of_type(CLUSTER)
    assert function.inputs["handler"] == "shop.migrate.handler"
    assert function.inputs["timeout"] == 900
    assert function.inputs["vpcConfig"]["subnetIds"]
    variables = function.inputs["environment"]["variables"]
    assert variables["PGHOST"] == cluster.outputs["endpoint"]  # the writer, not the proxy
    assert variables["MASTER_SECRET_ARN"] == cluster.outputs["masterUserSecrets"][0]["secretArn"]
    assert variables["PGSSLMODE"] == "verify-full"
    assert variables["PGSSLROOTCERT"] == "/opt/rds-ca/global-bundle.pem"
    # its role reads that one secret (and decrypts it through Secrets Manager), nothing else
    (policy,) = [p for p in prod.of_type("aws:iam/rolePolicy:RolePolicy")
                 if p.inputs["role"] == function.inputs["role"].rsplit("/", 1)[-1]]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["MasterSecret"]["Resource"] == variables["MASTER_SECRET_ARN"]
    assert statements["MasterSecretKey"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "secretsmanager.us-east-1.amazonaws.com"


def test_it_is_invoked_once_per_change_of_the_migrations_folder(prod: Snapshot) -> None:
    invocation, _ = migrator(prod)
    assert invocation.inputs["triggers"] == {"migrations": migrations_hash(MIGRATIONS_DIR)}
    assert invocation.inputs.get("lifecycleScope", "CREATE_ONLY") == "CREATE_ONLY"
    # ... after the whole database exists, the writer instance included
    waits_for = upstream(prod, invocation)
    writer = next(r for r in prod.of_type("aws:rds/clusterInstance:ClusterInstance")
                  if r.name.endswith("-writer"))
    assert writer.urn in waits_for


def test_the_trigger_changes_with_any_file_of_the_folder_and_only_then(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    unchanged = migrations_hash(folder)
    assert unchanged == migrations_hash(MIGRATIONS_DIR)  # an update without changes invokes nothing
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert migrations_hash(folder) == unchanged
    (folder / "0099_later.sql").write_text("SELECT 1;\n")  # another branch adds a migration
    added = migrations_hash(folder)
    assert added != unchanged
    first = sorted(folder.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    assert migrations_hash(folder) not in (unchanged, added)


def test_everything_that_uses_the_database_waits_for_the_migrations(prod: Snapshot) -> None:
    invocation, function = migrator(prod)
    before_migrations = upstream(prod, invocation)
    hosts = database_hosts(prod)
    # GIVEN every resource whose inputs name a database host (whatever its name or its tier)
    users = [r for r in prod.custom() if r.urn not in before_migrations and r.urn != invocation.urn
             and not r.type.startswith("aws:rds/") and any(h in json.dumps(r.inputs) for h in hosts)]
    kinds = {r.type for r in users}
    assert {TASK, FUNCTION} <= kinds
    assert len([r for r in users if r.type == TASK]) == len(prod.of_type(TASK))
    # THEN each one, and each service running such a task, waits for the invocation
    for user in users:
        assert invocation.urn in upstream(prod, user), user.urn
    for service in prod.of_type(SERVICE):
        assert invocation.urn in upstream(prod, service), service.urn
    # AND the only function ahead of it is the migrator itself
    assert [f.urn for f in prod.of_type(FUNCTION) if f.urn in before_migrations] == [function.urn]


def test_a_preview_plans_the_migration_before_the_services(prod_preview: Snapshot) -> None:
    (invocation,) = prod_preview.of_type(INVOCATION)
    for service in prod_preview.of_type(SERVICE):
        assert invocation.urn in upstream(prod_preview, service), service.urn
