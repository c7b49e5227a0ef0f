"""What every Lambda function of the stack is built from.

- The code: one archive of the `shop` package in `app_code/` (no `__pycache__`, no tests). Its
  content hash is the function's `source_code_hash`, so changing a file changes the deployed
  function. A handler is checked against the files before any resource exists.
- Third-party code: boto3 from the Lambda runtime; Powertools from its public layer, resolved from
  the SSM public parameter of the exact version `app_code/requirements.txt` pins; the rest the
  handlers import (psycopg with its binary libpq, psycopg-pool, pydantic, stripe, redis,
  opensearch-py) from one
  dependencies layer of PyPI wheels for manylinux aarch64 / CPython 3.12 at the same pins, built by
  `scripts/build_lambda_layers.py` into `build/lambda-layers/dependencies/` before
  `pulumi preview`/`up` (the engine reads the folder then; the offline engine never does). It comes
  after the Powertools layer, so the app's pins win where both carry a package (pydantic).
- The runtime settings every function shares: Python 3.12 on arm64, X-Ray active tracing, JSON
  logs into its own KMS-encrypted log group with retention, private subnets when it needs the
  VPC, and the APM seam (ADOT layer + collector config whose API key is read from Secrets Manager
  by ARN, never a value).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.cache import PORT as CACHE_PORT
from components.config import PROJECT_DIR
from components.defaults import (
    LAMBDA_ARCHITECTURE,
    LAMBDA_RUNTIME,
    ApmSettings,
    Statement,
    assume_role_policy,
    log_group,
    policy_document,
)
from components.providers import workload_tags

APP_CODE_DIR = PROJECT_DIR / "app_code"
PACKAGE = "shop"
DEPENDENCIES_LAYER_DIR = PROJECT_DIR / "build" / "lambda-layers" / "dependencies"
"""Built by scripts/build_lambda_layers.py; holds `python/` as Lambda expects in a layer."""
DEPENDENCY_PACKAGES = ("psycopg", "psycopg-pool", "pydantic", "stripe", "sqlparse", "redis",
                       "opensearch-py")
"""Packages of app_code/requirements.txt the handlers import that neither the runtime (boto3) nor
the Powertools layer provides at the pinned version; psycopg is required, the others go in when
pinned. The service-only ones (fastapi, uvicorn, Jinja2) stay out."""
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
"""AWS's bundle of every RDS certificate authority (RDS user guide, "Certificate bundles by AWS
Region"): what verifies an Aurora cluster endpoint's certificate, which no system store holds."""
RDS_CA_BUNDLE_IN_LAYER = "rds-ca/global-bundle.pem"
"""Where scripts/build_lambda_layers.py puts it in the dependencies layer (under /opt in Lambda)."""

_EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "test"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")

# Powertools publishes one SSM public parameter per version, architecture and Python version.
POWERTOOLS_LAYER_PARAMETER = "/aws/service/powertools/python/{architecture}/{python}/{version}"
# AWS Distro for OpenTelemetry, Python, with the embedded collector (aws-otel.github.io).
ADOT_PYTHON_LAYER = "arn:aws:lambda:{region}:901920570463:layer:aws-otel-python-{architecture}-ver-1-29-0:2"
OTEL_COLLECTOR_CONFIG = "otel-collector.yaml"
"""Added at the archive's root when an APM is configured; read from /var/task by the collector."""

# Managed policies for the two service integrations that IAM cannot scope to a resource: X-Ray
# trace upload and the ENIs of a VPC function. Every other permission is inline and names its
# resources.
XRAY_WRITE_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
VPC_ENI_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess"
METRICS_NAMESPACE = "ecommerce"


class LambdaCodeError(pulumi.RunError):
    """The functions' code or its pins are not what the stack needs (one line, no traceback)."""


# ----------------------------------------------------------------------------------------------
# The code archive


def _included(relative: Path) -> bool:
    parts = relative.parts
    return not (any(p in _EXCLUDED_DIRS or p.startswith(".") for p in parts)
                or relative.suffix in _EXCLUDED_SUFFIXES)


@dataclass(frozen=True)
class CodeBundle:
    """The `shop` package as the functions run it: file list and content hash, read once."""

    root: Path
    files: tuple[str, ...]
    """Paths relative to `root`, POSIX style, sorted: the archive's entries."""
    sha256: str
    """Base64 SHA-256 over every entry's path and bytes: changes whenever the code does."""

    @classmethod
    def from_directory(cls, root: Path = APP_CODE_DIR, package: str = PACKAGE) -> CodeBundle:
        package_dir = root / package
        if not package_dir.is_dir():
            raise LambdaCodeError(f"{root.name}/{package} does not exist: the Lambda functions "
                                       "are built from that package")
        files = tuple(sorted(
            path.relative_to(root).as_posix() for path in package_dir.rglob("*")
            if path.is_file() and _included(path.relative_to(root))))
        return cls(root=root, files=files, sha256=_content_hash(root, files, {}))

    def archive(self, extra: Mapping[str, str] | None = None) -> pulumi.AssetArchive:
        """The deployment archive; `extra` adds generated files (path -> text) at its root."""
        assets: dict[str, pulumi.Asset | pulumi.Archive] = {
            name: pulumi.FileAsset(str(self.root / name)) for name in self.files}
        assets.update({name: pulumi.StringAsset(text) for name, text in (extra or {}).items()})
        return pulumi.AssetArchive(assets)

    def hash_with(self, extra: Mapping[str, str] | None = None) -> str:
        return _content_hash(self.root, self.files, extra or {}) if extra else self.sha256

    def require_handler(self, handler: str, *, owner: str) -> None:
        """Fail with one line unless `handler` (module.function) is defined in the bundle."""
        module, _, function = handler.rpartition(".")
        if not module or not function:
            raise LambdaCodeError(f"{owner}: handler {handler!r} must be <module>.<function>")
        path = module.replace(".", "/")
        candidates = (f"{path}.py", f"{path}/__init__.py")
        found = next((c for c in candidates if c in self.files), None)
        if found is None:
            raise LambdaCodeError(f"{owner}: handler {handler!r} needs module "
                                       f"{self.root.name}/{candidates[0]}, which does not exist")
        if function not in _top_level_names((self.root / found).read_text()):
            raise LambdaCodeError(f"{owner}: handler {handler!r}: {self.root.name}/{found} "
                                       f"defines no top-level {function!r}")


def _content_hash(root: Path, files: Sequence[str], extra: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    entries = [(name, (root / name).read_bytes()) for name in files]
    entries += [(name, text.encode()) for name, text in extra.items()]
    for name, content in sorted(entries):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return base64.b64encode(digest.digest()).decode()


def _top_level_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


# ----------------------------------------------------------------------------------------------
# Third-party layers


def pinned_requirement(package: str, requirements: Path = APP_CODE_DIR / "requirements.txt",
                       ) -> str | None:
    """The `package[extras]==version` line of a requirements file, or None if not pinned."""
    wanted = re.sub(r"[-_.]+", "-", package).lower()
    for line in requirements.read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*(\S+)\s*(#.*)?",
                             line)
        if match and re.sub(r"[-_.]+", "-", match.group(1)).lower() == wanted:
            return f"{match.group(1)}{match.group(2) or ''}=={match.group(3)}"
    return None


def _python_tag() -> str:
    return LAMBDA_RUNTIME.replace("python", "")  # "3.12"


def powertools_layer_arn(opts: pulumi.InvokeOutputOptions | None = None,
                         requirements: Path = APP_CODE_DIR / "requirements.txt",
                         ) -> pulumi.Output[str]:
    """The public Powertools layer of exactly the version app_code/requirements.txt pins."""
    pin = pinned_requirement("aws-lambda-powertools", requirements)
    if pin is None:
        raise LambdaCodeError(f"{requirements.parent.name}/{requirements.name} pins no "
                                   "aws-lambda-powertools==<version>: the Lambda layer follows it")
    name = POWERTOOLS_LAYER_PARAMETER.format(architecture=LAMBDA_ARCHITECTURE,
                                             python=LAMBDA_RUNTIME, version=pin.split("==")[1])
    return aws.ssm.get_parameter_output(name=name, opts=opts).insecure_value


def dependency_requirements(requirements: Path = APP_CODE_DIR / "requirements.txt") -> list[str]:
    pins = [pinned_requirement(p, requirements) for p in DEPENDENCY_PACKAGES]
    if pins[0] is None:
        raise LambdaCodeError(f"{requirements.parent.name}/{requirements.name} pins no "
                                   "psycopg==<version>: the dependencies layer is built from it")
    return [p for p in pins if p]


def dependencies_layer_build_command(target: Path = DEPENDENCIES_LAYER_DIR,
                                     requirements: Path = APP_CODE_DIR / "requirements.txt",
                                     ) -> list[str]:
    """pip, installing the pinned wheels for Lambda (manylinux aarch64, CPython 3.12) only."""
    machine = "aarch64" if LAMBDA_ARCHITECTURE == "arm64" else "x86_64"
    # The python3.12 runtime is Amazon Linux 2023 (glibc 2.34): manylinux2014 (2.17) up to 2.28.
    platforms = [arg for tag in (f"manylinux2014_{machine}", f"manylinux_2_28_{machine}")
                 for arg in ("--platform", tag)]
    return [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
            "--disable-pip-version-check", "--target", str(target / "python"), *platforms,
            "--implementation", "cp", "--python-version", _python_tag(), "--only-binary=:all:",
            *dependency_requirements(requirements)]


def otel_collector_config(apm: ApmSettings) -> str:
    """The ADOT collector's config: OTLP in from the function, out to the APM.

    The Authorization header is resolved by the collector from Secrets Manager at start-up (its
    `secretsmanager` config provider), so the key never appears in the archive, the environment
    or the state. The secret holds the header's whole value, e.g. `Bearer <key>`.
    """
    return (
        "receivers:\n"
        "  otlp:\n"
        "    protocols:\n"
        "      grpc:\n"
        "        endpoint: localhost:4317\n"
        "      http:\n"
        "        endpoint: localhost:4318\n"
        "exporters:\n"
        "  otlphttp/apm:\n"
        f"    endpoint: {apm.otlp_endpoint}\n"
        "    headers:\n"
        f"      authorization: ${{secretsmanager:{apm.api_key_secret_arn}}}\n"
        "service:\n"
        "  pipelines:\n"
        "    traces:\n"
        "      receivers: [otlp]\n"
        "      exporters: [otlphttp/apm]\n"
        "    metrics:\n"
        "      receivers: [otlp]\n"
        "      exporters: [otlphttp/apm]\n")


# ----------------------------------------------------------------------------------------------
# Access: what one function may touch besides its own logs, and how its code finds it


@dataclass(frozen=True)
class TableRef:
    """A DynamoDB table another tier owns: its name (for the code) and ARN (for the policy)."""

    name: pulumi.Input[str]
    arn: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class DatabaseAccess:
    """The RDS Proxy that functions connect through (TLS and an IAM token, no password)."""

    proxy_endpoint: pulumi.Input[str]
    proxy_arn: pulumi.Input[str]
    port: pulumi.Input[int]
    database_name: pulumi.Input[str]


@dataclass(frozen=True, kw_only=True)
class Access:
    """Permissions (each naming its resources) and the environment variables that go with them."""

    statements: Sequence[Statement] = ()
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)

    def __add__(self, other: Access) -> Access:
        return Access(statements=(*self.statements, *other.statements),
                      environment={**self.environment, **other.environment})


def table_access(table: TableRef, *, env_var: str, actions: Sequence[str], sid: str) -> Access:
    """`actions` on one table (not its indexes), exposed to the code as `env_var`."""
    return Access(statements=({"Sid": sid, "Effect": "Allow", "Action": list(actions),
                               "Resource": table.arn},),
                  environment={env_var: table.name})


def payment_secret_access(secret_arn: pulumi.Input[str]) -> Access:
    """Read the payment provider's API key (the code fetches it by ARN at run time)."""
    return Access(statements=({"Sid": "PaymentProviderKey", "Effect": "Allow",
                               "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},),
                  environment={"STRIPE_SECRET_ARN": secret_arn})


SEARCH_READ_ACTIONS = ("es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost")
"""Search and get (a search is a POST)."""
SEARCH_WRITE_ACTIONS = (*SEARCH_READ_ACTIONS, "es:ESHttpPut", "es:ESHttpDelete")
"""Also index documents, create indexes, move aliases, delete old indexes."""


def search_access(domain_arn: pulumi.Input[str], endpoint: pulumi.Input[str], *,
                  actions: Sequence[str], sid: str = "SearchDomain") -> Access:
    """`actions` on the domain's paths (the domain's access policy must also name the role)."""
    return Access(statements=({"Sid": sid, "Effect": "Allow", "Action": list(actions),
                               "Resource": pulumi.Output.concat(domain_arn, "/*")},),
                  environment={"SEARCH_ENDPOINT": endpoint})


@dataclass(frozen=True, kw_only=True)
class CacheRef:
    """The product cache as a client sees it: where it is and the IAM-enabled user to connect as."""

    host: pulumi.Input[str]
    port: pulumi.Input[int]
    user_name: pulumi.Input[str]
    user_arn: pulumi.Input[str]
    replication_group_id: pulumi.Input[str]
    replication_group_arn: pulumi.Input[str]


def cache_access(cache: CacheRef) -> Access:
    """Connect as the cache's app user with an IAM token over TLS: the variables shop.cache reads."""
    return Access(
        statements=({"Sid": "ConnectToTheCacheAsTheAppUser", "Effect": "Allow",
                     "Action": "elasticache:Connect",
                     "Resource": [cache.replication_group_arn, cache.user_arn]},),
        environment={"CACHE_HOST": cache.host,
                     "CACHE_PORT": pulumi.Output.from_input(cache.port).apply(str),
                     "CACHE_USER": cache.user_name, "CACHE_NAME": cache.replication_group_id})


def database_user(workload: str) -> str:
    """The PostgreSQL user a function connects as: its own, granted `rds_iam` and its tables."""
    return workload.replace("-", "_")


def db_connect_arn(region: str, account_id: pulumi.Input[str], proxy_arn: pulumi.Input[str],
                   user: str) -> pulumi.Output[str]:
    """`rds-db:connect` through the proxy (arn:...:db-proxy:prx-<id> -> dbuser:prx-<id>/<user>)."""
    return pulumi.Output.all(account_id, proxy_arn).apply(
        lambda v: f"arn:aws:rds-db:{region}:{v[0]}:dbuser:{str(v[1]).rsplit(':', 1)[-1]}/{user}")


# The RDS Proxy presents an Amazon Trust Services certificate: verify it with the runtime's (AL2023)
# CA bundle.
LAMBDA_CA_BUNDLE = "/etc/pki/tls/certs/ca-bundle.crt"


def database_access(database: DatabaseAccess, *, user: str, region: str,
                    account_id: pulumi.Input[str], ca_bundle: str = LAMBDA_CA_BUNDLE) -> Access:
    """Connect as `user` through the proxy with IAM auth; the PG* variables shop.settings reads.

    `ca_bundle` verifies the proxy's certificate: a file, or `system` (libpq 16+) for the image's
    own trust store."""
    return Access(
        statements=({"Sid": "DatabaseThroughTheProxy", "Effect": "Allow", "Action": "rds-db:connect",
                     "Resource": db_connect_arn(region, account_id, database.proxy_arn, user)},),
        environment={
            "PGHOST": database.proxy_endpoint,
            "PGPORT": pulumi.Output.from_input(database.port).apply(str),
            "PGDATABASE": database.database_name, "PGUSER": user, "DB_IAM_AUTH": "true",
            "PGSSLMODE": "verify-full", "PGSSLROOTCERT": ca_bundle})


# ----------------------------------------------------------------------------------------------
# Functions


@dataclass(frozen=True, kw_only=True)
class FunctionSettings:
    """What every function of the stack shares."""

    code: CodeBundle
    region: str
    account_id: pulumi.Input[str]
    layers: Sequence[pulumi.Input[str]]
    """Powertools, then the dependencies layer (FunctionBase.dependencies_layer_arn)."""
    logs_kms_key_arn: pulumi.Input[str]
    log_retention_days: int
    private_subnet_ids: Sequence[pulumi.Input[str]] = ()
    security_group_ids: Sequence[pulumi.Input[str]] = ()
    """Attached to every VPC function: the functions' egress group and the data clients' group."""
    apm: ApmSettings | None = None

    @cached_property
    def archive(self) -> pulumi.AssetArchive:
        return self.code.archive(self._extra_files)

    @cached_property
    def source_hash(self) -> str:
        return self.code.hash_with(self._extra_files)

    @property
    def _extra_files(self) -> dict[str, str]:
        return {OTEL_COLLECTOR_CONFIG: otel_collector_config(self.apm)} if self.apm else {}


@dataclass(frozen=True, kw_only=True)
class FunctionSpec:
    """One function: its handler, size, network placement and exactly the access it needs."""

    handler: str
    owner: str
    """Who the function is, for error messages: "consumer 'email'"."""
    workload: str
    timeout: int
    memory: int
    vpc: bool
    reserved_concurrency: int = 0
    access: Access = Access()
    """Inline permissions besides writing its own logs, and their environment variables."""


@dataclass(frozen=True)
class BuiltFunction:
    function: aws.lambda_.Function
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup


def validate_function(spec: FunctionSpec, settings: FunctionSettings) -> None:
    """Checks that must pass before the owning component creates anything."""
    settings.code.require_handler(spec.handler, owner=spec.owner)
    if not 1 <= spec.timeout <= 900:
        raise ValueError(f"{spec.owner}: timeout={spec.timeout} must be from 1 to 900 seconds")
    if not 128 <= spec.memory <= 10_240:
        raise ValueError(f"{spec.owner}: memory={spec.memory} must be from 128 to 10240 MiB")
    if spec.vpc and not (settings.private_subnet_ids and settings.security_group_ids):
        raise ValueError(f"{spec.owner}: needs the VPC but no private subnets or security "
                         "groups were given")
    for statement in spec.access.statements:
        for key in ("Action", "Resource"):
            values = statement.get(key)
            if values == "*" or (isinstance(values, list | tuple) and "*" in values):
                raise ValueError(f"{spec.owner}: statement {statement.get('Sid')!r} grants {key} "
                                 "'*': name what it needs")


def python_function(name: str, spec: FunctionSpec, settings: FunctionSettings, *,
                    opts: pulumi.ResourceOptions) -> BuiltFunction:
    """A function with its own role (logs + `spec.access`), log group and tracing."""
    logs = log_group(f"{name}-logs", retention_days=settings.log_retention_days,
                     kms_key_arn=settings.logs_kms_key_arn, opts=opts)
    role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_role_policy("lambda.amazonaws.com"),
                        description=f"Runs {spec.owner}", opts=opts)
    statements: list[Statement] = [{
        "Sid": "OwnLogs", "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [pulumi.Output.concat(logs.arn, ":*")]}]
    statements.extend(spec.access.statements)
    environment: dict[str, pulumi.Input[str]] = {
        "POWERTOOLS_SERVICE_NAME": spec.workload,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        **spec.access.environment}
    layers: list[pulumi.Input[str]] = list(settings.layers)
    if settings.apm is not None:
        statements.append({"Sid": "ApmApiKey", "Effect": "Allow",
                           "Action": "secretsmanager:GetSecretValue",
                           "Resource": settings.apm.api_key_secret_arn})
        layers.append(ADOT_PYTHON_LAYER.format(region=settings.region,
                                               architecture=LAMBDA_ARCHITECTURE))
        environment.update({
            "AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel-instrument",
            "OPENTELEMETRY_COLLECTOR_CONFIG_URI": f"/var/task/{OTEL_COLLECTOR_CONFIG}",
            "OTEL_SERVICE_NAME": spec.workload,
            "OTEL_PROPAGATORS": "tracecontext,baggage,xray"})
    policy = aws.iam.RolePolicy(f"{name}-role", role=role.id, policy=policy_document(statements),
                                opts=opts)
    attachments = [aws.iam.RolePolicyAttachment(f"{name}-xray", role=role.name,
                                                policy_arn=XRAY_WRITE_POLICY, opts=opts)]
    if spec.vpc:
        attachments.append(aws.iam.RolePolicyAttachment(f"{name}-eni", role=role.name,
                                                        policy_arn=VPC_ENI_POLICY, opts=opts))
    function = aws.lambda_.Function(
        name, description=f"{spec.owner} ({spec.handler})", role=role.arn,
        runtime=LAMBDA_RUNTIME, architectures=[LAMBDA_ARCHITECTURE], handler=spec.handler,
        code=settings.archive, source_code_hash=settings.source_hash,
        timeout=spec.timeout, memory_size=spec.memory,
        reserved_concurrent_executions=spec.reserved_concurrency or None,
        layers=layers, environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="JSON", log_group=logs.name, application_log_level="INFO",
            system_log_level="WARN"),
        vpc_config=aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=list(settings.private_subnet_ids),
            security_group_ids=list(settings.security_group_ids)) if spec.vpc else None,
        tags=workload_tags(spec.workload),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
            depends_on=[policy, *attachments])))
    return BuiltFunction(function=function, role=role, policy=policy, log_group=logs)


# ----------------------------------------------------------------------------------------------
# What the functions share in AWS: their egress security group and the dependencies layer


@dataclass(frozen=True, kw_only=True)
class FunctionBaseArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    dependencies_dir: Path = DEPENDENCIES_LAYER_DIR


class FunctionBase(pulumi.ComponentResource):
    """The VPC functions' own security group, and the layer of the handlers' third-party code.

    The group has no ingress and sends only HTTPS anywhere (AWS APIs, the search domain and partners
    through the NAT gateways), PostgreSQL within the VPC (the RDS Proxy) and Redis within the VPC
    (the product cache); which store admits a function is the data tier's decision, through its
    client group.
    """

    security_group_id: pulumi.Output[str]
    dependencies_layer_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FunctionBaseArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        pins = dependency_requirements()
        super().__init__("ecommerce:events:FunctionBase", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            name, vpc_id=args.vpc_id, description="Lambda functions: no ingress, HTTPS, "
                                                  "PostgreSQL and Redis out",
            ingress=[], egress=[
                aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=443, to_port=443,
                                                cidr_blocks=["0.0.0.0/0"],
                                                description="AWS APIs and partners over TLS"),
                aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=5432, to_port=5432,
                                                cidr_blocks=[args.vpc_cidr],
                                                description="PostgreSQL through the RDS Proxy"),
                aws.ec2.SecurityGroupEgressArgs(protocol="tcp", from_port=CACHE_PORT, to_port=CACHE_PORT,
                                                cidr_blocks=[args.vpc_cidr],
                                                description="Redis (TLS) to the product cache")],
            tags={"Name": name}, opts=child)
        layer = aws.lambda_.LayerVersion(
            f"{name}-dependencies", layer_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-dependencies",
            description=f"{', '.join(pins)} for {LAMBDA_RUNTIME} {LAMBDA_ARCHITECTURE}"[:256],
            code=pulumi.FileArchive(str(args.dependencies_dir)),
            source_code_hash=base64.b64encode(hashlib.sha256("\n".join(pins).encode()).digest()).decode(),
            compatible_runtimes=[LAMBDA_RUNTIME], compatible_architectures=[LAMBDA_ARCHITECTURE],
            opts=child)
        self.security_group_id = group.id
        self.dependencies_layer_arn = layer.arn
        self.register_outputs({"security_group_id": self.security_group_id,
                               "dependencies_layer_arn": self.dependencies_layer_arn})
