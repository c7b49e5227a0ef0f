"""Schema migrations, applied by `pulumi up` before anything that uses the database rolls.

A migrator Lambda function (the `shop` package's `shop.migrate.handler`, in the private subnets,
logged in to the cluster's writer as the master user from the master secret, TLS verified with
AWS's RDS CA bundle from the dependencies layer), and an `aws.lambda_.Invocation` of it whose
trigger is the content hash of `app_code/shop/migrations/`: whichever file is added or changed,
the next update invokes it once; an update with no change there invokes nothing.

Why an invocation in the update rather than an ECS task the deploy job runs: it is a resource of
the same dependency graph, so the engine runs it after the database exists and before the
services and functions that need the new schema, and a failure stops the update there with the
function's own error (the file, the statement, PostgreSQL's reason: `shop.migrate`), leaving the
running services on their previous task definitions. The Lambda runtime already runs the `shop`
package with psycopg (the functions' layer), so there is no second image or orchestrator. The
limit: one invocation runs at most 15 minutes; a longer backfill belongs in a job of its own.

`gate(value)` is `value` once the migrations are applied. The regional composition hands every
database client its endpoint through it, so each service, consumer and job, and whatever is added
later the same way, depends on the invocation through the dependency graph, not a list of names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pulumi
import pulumi_aws as aws

from components.defaults import Statement
from components.lambda_code import (
    APP_CODE_DIR,
    RDS_CA_BUNDLE_IN_LAYER,
    Access,
    FunctionSettings,
    FunctionSpec,
    python_function,
    validate_function,
)

MIGRATIONS_DIR = APP_CODE_DIR / "shop" / "migrations"
HANDLER = "shop.migrate.handler"
WORKLOAD = "migrations"
TIMEOUT_SECONDS = 900  # Lambda's maximum
MEMORY_MB = 512
LAYER_ROOT = "/opt"  # where Lambda extracts layers

T = TypeVar("T")


def migrations_hash(folder: Path = MIGRATIONS_DIR) -> str:
    """SHA-256 over every file of the folder (its path and bytes), bytecode caches aside."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if "__pycache__" in relative.parts or path.suffix in (".pyc", ".pyo"):
            continue
        digest.update(relative.as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass(frozen=True, kw_only=True)
class SchemaMigrationsArgs:
    database: pulumi.Resource
    """The database component: the invocation waits for all of it (the writer instance, too)."""
    writer_endpoint: pulumi.Input[str]
    port: pulumi.Input[int]
    database_name: pulumi.Input[str]
    master_secret_arn: pulumi.Input[str]
    master_secret_kms_key_arn: pulumi.Input[str] | None
    """The key that encrypts the master secret (None: Secrets Manager's own key)."""
    functions: FunctionSettings
    """Subnets, security groups (the data clients' group reaches the cluster), layers, logs."""
    migrations_dir: Path = MIGRATIONS_DIR


class SchemaMigrations(pulumi.ComponentResource):
    function_name: pulumi.Output[str]
    migrations_hash: str
    """The invocation's trigger: changes whenever a file of the migrations folder does."""
    result: pulumi.Output[str]
    """The migrator's answer: `{"applied": [...], "current": "<last version>"}`."""

    def __init__(self, name: str, args: SchemaMigrationsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if not args.migrations_dir.is_dir():
            raise ValueError(f"{name}: {args.migrations_dir} does not exist")
        statements: list[Statement] = [{
            "Sid": "MasterSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": args.master_secret_arn}]
        if args.master_secret_kms_key_arn is not None:
            statements.append({
                "Sid": "MasterSecretKey", "Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": args.master_secret_kms_key_arn,
                "Condition": {"StringEquals": {
                    "kms:ViaService": f"secretsmanager.{args.functions.region}.amazonaws.com"}}})
        spec = FunctionSpec(
            handler=HANDLER, owner="the schema migrator", workload=WORKLOAD,
            timeout=TIMEOUT_SECONDS, memory=MEMORY_MB, vpc=True, access=Access(
                statements=tuple(statements),
                environment={
                    "MASTER_SECRET_ARN": args.master_secret_arn,
                    "PGHOST": args.writer_endpoint,
                    "PGPORT": pulumi.Output.from_input(args.port).apply(str),
                    "PGDATABASE": args.database_name,
                    "PGSSLMODE": "verify-full",
                    "PGSSLROOTCERT": f"{LAYER_ROOT}/{RDS_CA_BUNDLE_IN_LAYER}"}))
        validate_function(spec, args.functions)
        super().__init__("ecommerce:data:SchemaMigrations", name, None, opts)
        built = python_function(name, spec, args.functions, opts=pulumi.ResourceOptions(parent=self))
        self.migrations_hash = migrations_hash(args.migrations_dir)
        invocation = aws.lambda_.Invocation(
            name, function_name=built.function.name, input=json.dumps({"migrate": True}),
            triggers={"migrations": self.migrations_hash},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.database]))
        self.function_name = built.function.name
        self.result = invocation.result
        self.register_outputs({"function_name": self.function_name,
                               "migrations_hash": self.migrations_hash, "result": self.result})

    def gate(self, value: pulumi.Input[T]) -> pulumi.Output[T]:
        """`value`, available once the migrations are applied: whatever takes it as an input is
        created or updated after them."""
        return pulumi.Output.all(value, self.result).apply(lambda values: values[0])
