"""The stack's configuration, read once into frozen, typed objects.

`Pulumi.yaml` declares every key (type, description, default); this module checks each value
against that declaration and against what the product allows, and fails with ONE line that
names the key, the stack file and what is allowed. The CLI applies the schema's defaults; offline
runs get them from `offline.engine`, so both paths see the same values.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import pulumi
import yaml

PROJECT = "ecommerce"
PROJECT_DIR = Path(__file__).resolve().parent.parent

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
# The event contract (docs/architecture.md): every detail-type the platform publishes.
KNOWN_EVENTS = ("order.placed", "order.fulfilled", "cart.abandoned", "product.updated")
EVENT_SOURCE = "ecommerce.orders"
FARGATE_CPU_MEMORY = {  # valid Fargate memory (MiB) per CPU unit count
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}


_E = TypeVar("_E", bound=StrEnum)


class ConfigError(pulumi.RunError):
    """A config mistake. A RunError, so the CLI prints the one line and no traceback."""


class Environment(StrEnum):
    PROD = "prod"
    STAGING = "staging"


class NatGatewayMode(StrEnum):
    PER_AZ = "per-az"
    SINGLE = "single"


class ImageSource(StrEnum):
    """Where the services' container images come from (docs/config.md, `imageSource`)."""

    BUILD = "build"  # the program builds app_code/Dockerfile and pushes it to each service's repository
    PREBUILT = "prebuilt"  # built elsewhere and pushed to each service's repository: `prebuiltImages`


class MultiRegionTrigger(StrEnum):
    """The case study's three business reasons to add a second Region."""

    RESIDENCY_CONTRACT = "residency-contract"
    EU_LATENCY_SLO_BREACH = "eu-latency-slo-breach"
    REGION_OUTAGE_COST_CASE = "region-outage-cost-case"


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    az_count: int
    cidr: str
    nat_gateways: NatGatewayMode


@dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    domain_name: str | None
    certificate_arn: str | None
    """None with a `hosted_zone_id`: the stack issues the certificate (DNS-validated)."""
    origin_domain_name: str
    origin_certificate_arn: str | None
    """None with a `hosted_zone_id`: the stack issues the certificate (DNS-validated)."""
    waf_rate_limit: int
    sign_in_rate_limit: int
    """Sign-in requests (link requests, link redemptions) per 5 minutes per client IP at the WAF."""
    hosted_zone_id: str | None = None
    """The Route 53 zone holding the shop's names: the stack writes its records there."""


SERVICE_APPS = {
    "storefront": "shop.storefront.app:app",
    "order-api": "shop.order_service.app:app",
    "admin": "shop.admin.app:app",
}
"""The ASGI app each known service runs (`module:attribute` under app_code/); another service
names its own with `app=` in its `services` line."""


ADMIN_SERVICE = "admin"
"""The service whose path the ALB protects with OpenID Connect (docs/admin.md)."""


@dataclass(frozen=True, kw_only=True)
class AdminAuthConfig:
    """Staff sign-in at the ALB for the admin service: the OpenID Connect provider and the roles."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    user_info_endpoint: str
    client_id: str
    client_secret_arn: str
    """Secrets Manager secret whose value is the client secret; the program hands it to the ALB."""
    scope: str
    roles_claim: str
    editor_group: str
    viewer_group: str


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One ECS Fargate service behind the ALB."""

    name: str
    path: str
    cpu: int
    memory: int
    app: str
    """The ASGI app the service's container serves (`module:attribute`, see SERVICE_APPS)."""
    port: int = 8080
    baseline_rps: float = 10.0
    rps_per_task: float = 50.0
    min_tasks: int = 2

    def max_tasks(self, spike_factor: int) -> int:
        """Tasks needed at `spike_factor` x the daily average, plus 25% headroom for uneven load."""
        needed = math.ceil(self.baseline_rps * spike_factor * 1.25 / self.rps_per_task)
        return max(self.min_tasks, needed)

    @property
    def command(self) -> tuple[str, ...]:
        """What the container runs: uvicorn serving `app` on every interface; the port comes from
        the task's `UVICORN_PORT` (the web tier sets it to `port`)."""
        return ("python", "-m", "uvicorn", self.app, "--host", "0.0.0.0")


@dataclass(frozen=True, kw_only=True)
class ScheduledScaleOut:
    name: str
    start: datetime
    end: datetime
    min_tasks_factor: int


@dataclass(frozen=True, kw_only=True)
class PrebuiltImage:
    """An image built elsewhere, in the service's own repository: by tag or by digest."""

    service: str
    tag: str | None = None
    digest: str | None = None
    """`sha256:<64 hex>`; a tag is pinned to its digest at deploy time."""


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    services: tuple[ServiceSpec, ...]
    image_source: ImageSource
    prebuilt_images: tuple[PrebuiltImage, ...]
    """One per service with ImageSource.PREBUILT; empty with BUILD."""
    scheduled_scale_outs: tuple[ScheduledScaleOut, ...]
    """The windows that have not ended yet (ended ones are dropped with a warning)."""


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    aurora_engine_version: str
    aurora_instance_class: str
    aurora_reader_count: int
    aurora_max_readers: int
    backup_retention_days: int
    cache_node_type: str
    cache_node_count: int
    search_instance_type: str
    search_data_nodes: int
    search_zone_count: int
    search_dedicated_masters: bool
    search_volume_gb: int


@dataclass(frozen=True, kw_only=True)
class ConsumerSpec:
    """One event consumer: an EventBridge rule, its SQS queue + DLQ and a Lambda function."""

    name: str
    events: tuple[str, ...]
    batch_size: int = 10
    max_receive_count: int = 5
    max_concurrency: int = 10
    reserved_concurrency: int = 0  # 0: no reservation
    timeout: int = 30
    memory: int = 512
    handler: str = ""
    vpc: bool = True


@dataclass(frozen=True, kw_only=True)
class EventsConfig:
    consumers: tuple[ConsumerSpec, ...]
    archive_retention_days: int
    email_domain: str


@dataclass(frozen=True, kw_only=True)
class ObservabilityConfig:
    alarm_email: str
    checkout_availability_target: float
    checkout_latency_p99_ms: int
    apm_otlp_endpoint: str | None
    apm_api_key_secret_arn: str | None


@dataclass(frozen=True, kw_only=True)
class MultiRegionConfig:
    enabled: bool
    secondary_region: str | None = None
    trigger: MultiRegionTrigger | None = None
    trigger_reference: str = ""
    secondary_origin_certificate_arn: str | None = None
    """The secondary Region's ACM certificate for the origin host name (its ALB's listener)."""
    writer_region: str | None = None
    """Where the global database writes now, when a failover moved it (None: the primary Region)."""


@dataclass(frozen=True, kw_only=True)
class UsageConfig:
    """Usage the cost estimate assumes (docs/cost.md); the estimator reads the same keys."""

    traffic_percent: int
    edge_cache_hit_percent: int
    response_kb: int
    requests_per_order: int
    database_gb: int
    static_assets_gb: int
    log_kb_per_request: int


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    stack: str
    environment: Environment
    region: str
    log_retention_days: int
    spike_factor: int
    network: NetworkConfig
    edge: EdgeConfig
    web: WebConfig
    data: DataConfig
    events: EventsConfig
    observability: ObservabilityConfig
    multi_region: MultiRegionConfig
    usage: UsageConfig
    payment_secret_arn: str
    """The payment provider's API key in Secrets Manager: never in config or the program."""
    payment_lookup_secret_arn: str
    """A restricted provider key that reads payments and cannot charge: what scheduled work may hold."""
    warnings: tuple[str, ...] = ()
    """One line each: what the config asks for that this deployment leaves out, and why."""
    admin_auth: AdminAuthConfig | None = None
    """Set when the stack runs the admin service (then required)."""

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.PROD

    @classmethod
    def load(cls) -> StackConfig:
        """Read the running program's config (CLI or offline engine), validate it, and show its
        warnings as the engine shows a program's warnings."""
        config = parse_stack_config(_runtime_config(), stack=pulumi.get_stack())
        for warning in config.warnings:
            pulumi.log.warn(warning)
        return config


# ----------------------------------------------------------------------------------------------
# Reading


def load_schema(project_dir: Path = PROJECT_DIR) -> dict[str, dict[str, Any]]:
    """The `config:` declarations of Pulumi.yaml, keyed by short name."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    return dict(project.get("config") or {})


def _runtime_config() -> dict[str, str]:
    from pulumi.runtime import config as runtime_config

    values = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    return {k: v for k, v in values.items() if isinstance(v, str)}


class _Reader:
    """Reads raw config strings by their declared type; remembers what was read."""

    def __init__(self, raw: Mapping[str, str], schema: Mapping[str, Mapping[str, Any]],
                 stack_file: str) -> None:
        self.raw = raw
        self.schema = schema
        self.stack_file = stack_file
        self.read: set[str] = set()

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.stack_file}: {PROJECT}:{key} {problem}")

    def _value(self, key: str) -> Any:
        """The typed value: the stack's, else the Pulumi.yaml default, else a clear error."""
        if key not in self.schema:  # a programming error, not a user's
            raise KeyError(f"{PROJECT}:{key} is read but not declared in Pulumi.yaml")
        self.read.add(key)
        declared = self.schema[key]
        full = f"{PROJECT}:{key}"
        if full not in self.raw:
            if "default" not in declared:
                raise self.fail(key, f"is missing: {declared.get('description', 'set it')}")
            return declared["default"]
        text = self.raw[full]
        kind = declared.get("type", "string")
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", text.strip()):
                raise self.fail(key, f"must be an integer, got {text!r}")
            return int(text)
        if kind == "boolean":
            if text not in ("true", "false"):
                raise self.fail(key, f"must be true or false, got {text!r}")
            return text == "true"
        if kind == "array":
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                items = None
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise self.fail(key, f"must be a list of strings, got {text!r}")
            return items
        return text

    def string(self, key: str, *, pattern: str | None = None, allowed: str = "") -> str:
        value = str(self._value(key))
        if pattern is not None and not re.fullmatch(pattern, value):
            raise self.fail(key, f"= {value!r} is not allowed: {allowed}")
        return value

    def optional_string(self, key: str, *, pattern: str, allowed: str) -> str | None:
        value = self.string(key)
        if not value:
            return None
        if not re.fullmatch(pattern, value):
            raise self.fail(key, f"= {value!r} is not allowed: {allowed}")
        return value

    def integer(self, key: str, *, minimum: int, maximum: int | None = None) -> int:
        value = int(self._value(key))
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise self.fail(key, f"= {value} is not allowed: must be an integer {bound}")
        return value

    def boolean(self, key: str) -> bool:
        return bool(self._value(key))

    def choice(self, key: str, enum: type[_E]) -> _E:
        value = str(self._value(key))
        try:
            return enum(value)
        except ValueError:
            options = ", ".join(e.value for e in enum)
            raise self.fail(key, f"= {value!r} is not allowed: one of {options}") from None

    def strings(self, key: str) -> list[str]:
        return list(self._value(key))


# ----------------------------------------------------------------------------------------------
# Specs: "<name> key=value key=value" lines


_NAME = r"[a-z][a-z0-9-]{1,30}[a-z0-9]"


def _parse_spec(reader: _Reader, key: str, index: int, line: str,
                fields: Mapping[str, type]) -> tuple[str, dict[str, Any]]:
    where = f"{key}[{index}]"
    words = line.split()
    if not words or not re.fullmatch(_NAME, words[0]):
        raise reader.fail(where, f"= {line!r} must start with a name of 3-32 lowercase letters, "
                                 "digits or dashes")
    values: dict[str, Any] = {}
    for word in words[1:]:
        name, sep, text = word.partition("=")
        if not sep or name not in fields:
            raise reader.fail(where, f"has unknown setting {word!r}: allowed are "
                                     f"{', '.join(f'{f}=' for f in fields)}")
        if name in values:
            raise reader.fail(where, f"sets {name} twice")
        kind = fields[name]
        try:
            if kind is bool:
                if text not in ("true", "false"):
                    raise ValueError
                values[name] = text == "true"
            elif kind is int:
                values[name] = int(text)
            elif kind is float:
                values[name] = float(text)
                if not math.isfinite(values[name]):
                    raise ValueError
            elif kind is datetime:
                values[name] = datetime.fromisoformat(text.replace("Z", "+00:00"))
                if values[name].utcoffset() is None:
                    raise ValueError
            else:
                values[name] = text
        except ValueError:
            kind_name = {datetime: "an RFC 3339 UTC time", bool: "true or false"}.get(
                kind, f"a {kind.__name__}")
            raise reader.fail(where, f"{name}={text!r} must be {kind_name}") from None
    return words[0], values


def _at_least(reader: _Reader, where: str, values: Mapping[str, Any],
              bounds: Mapping[str, tuple[float, float]]) -> None:
    for name, (low, high) in bounds.items():
        if name in values and not low <= values[name] <= high:
            raise reader.fail(where, f"{name}={values[name]} is not allowed: must be from "
                                     f"{low:g} to {high:g}")


def _services(reader: _Reader) -> tuple[ServiceSpec, ...]:
    fields = {"path": str, "cpu": int, "memory": int, "port": int, "baselineRps": float,
              "rpsPerTask": float, "minTasks": int, "app": str}
    specs: list[ServiceSpec] = []
    lines = reader.strings("services")
    if not lines:
        raise reader.fail("services", "is empty: name at least one service")
    for index, line in enumerate(lines):
        where = f"services[{index}]"
        name, values = _parse_spec(reader, "services", index, line, fields)
        _at_least(reader, where, values, {"port": (1024, 65535), "baselineRps": (0, 1e6),
                                          "rpsPerTask": (0.1, 1e5), "minTasks": (2, 1000)})
        cpu = values.get("cpu", 512)
        memory = values.get("memory", 1024)
        if cpu not in FARGATE_CPU_MEMORY:
            raise reader.fail(where, f"cpu={cpu} is not allowed: one of "
                                     f"{', '.join(map(str, FARGATE_CPU_MEMORY))}")
        if memory not in FARGATE_CPU_MEMORY[cpu]:
            valid = FARGATE_CPU_MEMORY[cpu]
            raise reader.fail(where, f"memory={memory} is not allowed with cpu={cpu}: "
                                     f"{valid[0]} to {valid[-1]} in steps Fargate accepts")
        path = values.get("path", f"/{name}/*")
        if not re.fullmatch(r"/[A-Za-z0-9_\-/.*]*", path):
            raise reader.fail(where, f"path={path!r} must be an ALB path pattern like /api/*")
        app = values.get("app", SERVICE_APPS.get(name))
        if app is None:
            raise reader.fail(where, f"is missing app=: name the ASGI app {name} serves, e.g. "
                                     f"app=shop.{name.replace('-', '_')}.app:app")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*", app):
            raise reader.fail(where, f"app={app!r} must be <module>:<attribute>, e.g. "
                                     "shop.order_service.app:app")
        specs.append(ServiceSpec(
            name=name, path=path, cpu=cpu, memory=memory, app=app, port=values.get("port", 8080),
            baseline_rps=values.get("baselineRps", 10.0),
            rps_per_task=values.get("rpsPerTask", 50.0), min_tasks=values.get("minTasks", 2)))
    _unique(reader, "services", [s.name for s in specs])
    _unique(reader, "services", [s.path for s in specs], what="path")
    if not any(s.path == "/*" for s in specs):
        raise reader.fail("services", "needs one service with path=/* (the default route)")
    return tuple(specs)


def _scale_outs(reader: _Reader, now: datetime,
                warnings: list[str]) -> tuple[ScheduledScaleOut, ...]:
    """The windows still to come; one that has ended is dropped with a warning, never an error
    (a date must not break CI)."""
    fields = {"start": datetime, "end": datetime, "minTasksFactor": int}
    result: list[ScheduledScaleOut] = []
    for index, line in enumerate(reader.strings("scheduledScaleOuts")):
        where = f"scheduledScaleOuts[{index}]"
        name, values = _parse_spec(reader, "scheduledScaleOuts", index, line, fields)
        missing = [f for f in fields if f not in values]
        if missing:
            raise reader.fail(where, f"is missing {', '.join(f'{m}=' for m in missing)}")
        _at_least(reader, where, values, {"minTasksFactor": (2, 50)})
        if values["end"] <= values["start"]:
            raise reader.fail(where, "end= must be after start=")
        result.append(ScheduledScaleOut(name=name, start=values["start"], end=values["end"],
                                        min_tasks_factor=values["minTasksFactor"]))
    _unique(reader, "scheduledScaleOuts", [s.name for s in result])
    ended = [(i, s) for i, s in enumerate(result) if s.end <= now]
    warnings.extend(
        f"{reader.stack_file}: {PROJECT}:scheduledScaleOuts[{i}] {s.name} ended "
        f"{s.end.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}: dropped from this deployment; remove it from "
        "the stack file" for i, s in ended)
    return tuple(s for s in result if s.end > now)


def _prebuilt_images(reader: _Reader, source: ImageSource,
                     services: Sequence[ServiceSpec]) -> tuple[PrebuiltImage, ...]:
    """One image per service with `imageSource: prebuilt` (a tag or a digest); none with build."""
    fields = {"tag": str, "digest": str}
    images: list[PrebuiltImage] = []
    for index, line in enumerate(reader.strings("prebuiltImages")):
        where = f"prebuiltImages[{index}]"
        name, values = _parse_spec(reader, "prebuiltImages", index, line, fields)
        if len(values) != 1:
            raise reader.fail(where, f"= {line!r} must give exactly one of tag= or digest=")
        tag, digest = values.get("tag"), values.get("digest")
        if tag is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
            raise reader.fail(where, f"tag={tag!r} is not a Docker image tag")
        if digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise reader.fail(where, f"digest={digest!r} must be sha256:<64 hex digits>")
        images.append(PrebuiltImage(service=name, tag=tag, digest=digest))
    _unique(reader, "prebuiltImages", [i.service for i in images], what="service")
    names = [s.name for s in services]
    unknown = [i.service for i in images if i.service not in names]
    if unknown:
        raise reader.fail("prebuiltImages", f"names {unknown[0]!r}, which is not in services "
                                            f"({', '.join(names)})")
    if source is ImageSource.BUILD and images:
        raise reader.fail("prebuiltImages", "is set but imageSource is build: the program builds "
                                            "every image; set imageSource: prebuilt to deploy these")
    missing = [n for n in names if n not in {i.service for i in images}]
    if source is ImageSource.PREBUILT and missing:
        raise reader.fail("prebuiltImages", f"has no image for {', '.join(missing)}: with "
                                            "imageSource prebuilt every service needs "
                                            "'<service> tag=<tag>' or '<service> digest=sha256:...'")
    return tuple(images)


def _consumers(reader: _Reader) -> tuple[ConsumerSpec, ...]:
    fields = {"events": str, "batchSize": int, "maxReceiveCount": int, "maxConcurrency": int,
              "reservedConcurrency": int, "timeout": int, "memory": int, "handler": str,
              "vpc": bool}
    specs: list[ConsumerSpec] = []
    for index, line in enumerate(reader.strings("consumers")):
        where = f"consumers[{index}]"
        name, values = _parse_spec(reader, "consumers", index, line, fields)
        _at_least(reader, where, values, {
            "batchSize": (1, 10_000), "maxReceiveCount": (1, 1000), "maxConcurrency": (2, 1000),
            "reservedConcurrency": (0, 1000), "timeout": (1, 900), "memory": (128, 10_240)})
        reserved, maximum = values.get("reservedConcurrency", 0), values.get("maxConcurrency", 10)
        if 0 < reserved < maximum:
            raise reader.fail(where, f"reservedConcurrency={reserved} is not allowed below "
                                     f"maxConcurrency={maximum}: the function would throttle its "
                                     "own queue; reserve at least that many, or 0")
        events = tuple(values.get("events", "").split(",")) if "events" in values else ()
        if not events:
            raise reader.fail(where, "is missing events=: name at least one of "
                                     f"{', '.join(KNOWN_EVENTS)}")
        unknown = [e for e in events if e not in KNOWN_EVENTS]
        if unknown:
            raise reader.fail(where, f"events= names unknown event {unknown[0]!r}: allowed are "
                                     f"{', '.join(KNOWN_EVENTS)}")
        handler = values.get("handler", f"shop.consumers.{name.replace('-', '_')}.handler")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+", handler):
            raise reader.fail(where, f"handler={handler!r} must be a dotted module.function")
        specs.append(ConsumerSpec(
            name=name, events=events, batch_size=values.get("batchSize", 10),
            max_receive_count=values.get("maxReceiveCount", 5),
            max_concurrency=values.get("maxConcurrency", 10),
            reserved_concurrency=values.get("reservedConcurrency", 0),
            timeout=values.get("timeout", 30), memory=values.get("memory", 512),
            handler=handler, vpc=values.get("vpc", True)))
    _unique(reader, "consumers", [c.name for c in specs])
    return tuple(specs)


def _unique(reader: _Reader, key: str, values: Sequence[str], what: str = "name") -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise reader.fail(key, f"repeats the {what} {value!r}: each must be unique")
        seen.add(value)


# ----------------------------------------------------------------------------------------------
# The whole stack


_ARN_ACM = r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+"
_HOST = r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_REGION = r"[a-z]{2}(-gov)?-[a-z]+-\d"


def parse_stack_config(raw: Mapping[str, str], *, stack: str,
                       schema: Mapping[str, Mapping[str, Any]] | None = None,
                       now: datetime | None = None) -> StackConfig:
    """Validate raw config strings (as the CLI passes them) into a StackConfig.

    `now` (default: the clock) decides which scheduled scale-outs have ended."""
    schema = load_schema() if schema is None else schema
    reader = _Reader(raw, schema, f"Pulumi.{stack}.yaml")
    warnings: list[str] = []

    for full in sorted(raw):
        namespace, _, key = full.partition(":")
        if namespace == PROJECT and key not in schema:
            raise ConfigError(f"{reader.stack_file}: {full} is not a known key: the keys are "
                              "declared in Pulumi.yaml (see docs/config.md)")

    region = raw.get("aws:region", "us-east-1")
    if not re.fullmatch(_REGION, region):
        raise ConfigError(f"{reader.stack_file}: aws:region = {region!r} is not an AWS Region")

    environment = reader.choice("environment", Environment)
    retention = reader.integer("logRetentionDays", minimum=1)
    if retention not in LOG_RETENTION_DAYS:
        raise reader.fail("logRetentionDays", f"= {retention} is not allowed: one of "
                                              f"{', '.join(map(str, LOG_RETENTION_DAYS))}")

    cidr_text = reader.string("vpcCidr")
    try:
        cidr = ipaddress.IPv4Network(cidr_text)
    except ValueError:
        raise reader.fail("vpcCidr", f"= {cidr_text!r} is not allowed: an IPv4 CIDR such as "
                                     "10.0.0.0/16") from None
    if not 16 <= cidr.prefixlen <= 20:
        raise reader.fail("vpcCidr", f"= {cidr_text!r} is not allowed: the prefix must be /16 "
                                     "to /20 to fit three subnets per AZ")
    network = NetworkConfig(
        az_count=reader.integer("azCount", minimum=2, maximum=6), cidr=str(cidr),
        nat_gateways=reader.choice("natGateways", NatGatewayMode))

    zone = reader.optional_string("hostedZoneId", pattern=r"Z[A-Z0-9]{1,32}",
                                  allowed="a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ")
    domain = reader.optional_string("domainName", pattern=_HOST, allowed="a DNS host name")
    certificate = reader.optional_string("certificateArn", pattern=_ARN_ACM,
                                         allowed="an ACM certificate ARN")
    if domain and not certificate and not zone:
        raise reader.fail("certificateArn", "is missing: a us-east-1 ACM certificate for "
                                            f"domainName {domain} is required (or set "
                                            "hostedZoneId and the stack issues one)")
    if certificate and not certificate.split(":")[3] == "us-east-1":
        raise reader.fail("certificateArn", "must be in us-east-1 (CloudFront reads it there)")
    origin_certificate = reader.optional_string("originCertificateArn", pattern=_ARN_ACM,
                                                allowed="an ACM certificate ARN")
    if not origin_certificate and not zone:
        raise reader.fail("originCertificateArn", f"is missing: an ACM certificate in {region} "
                                                  "for originDomainName is required (or set "
                                                  "hostedZoneId and the stack issues one)")
    edge = EdgeConfig(
        domain_name=domain, certificate_arn=certificate,
        origin_domain_name=reader.string("originDomainName", pattern=_HOST,
                                         allowed="a DNS host name"),
        origin_certificate_arn=origin_certificate,
        waf_rate_limit=reader.integer("wafRateLimit", minimum=100, maximum=2_000_000_000),
        sign_in_rate_limit=reader.integer("signInRateLimit", minimum=10, maximum=2_000_000_000),
        hosted_zone_id=zone)

    services = _services(reader)
    image_source = reader.choice("imageSource", ImageSource)
    web = WebConfig(
        services=services, image_source=image_source,
        prebuilt_images=_prebuilt_images(reader, image_source, services),
        scheduled_scale_outs=_scale_outs(reader, now or datetime.now(UTC), warnings))

    backup_days = reader.integer("backupRetentionDays", minimum=7, maximum=35)
    if environment is Environment.PROD and backup_days < 14:
        raise reader.fail("backupRetentionDays", f"= {backup_days} is not allowed in prod: "
                                                 "must be from 14 to 35")
    reader_count = reader.integer("auroraReaderCount", minimum=1, maximum=15)
    data_nodes = reader.integer("searchDataNodes", minimum=2, maximum=80)
    if data_nodes % 2:
        raise reader.fail("searchDataNodes", f"= {data_nodes} is not allowed: an even number "
                                             "so each zone holds the same share")
    data = DataConfig(
        aurora_engine_version=reader.string("auroraEngineVersion", pattern=r"\d+(\.\d+)?",
                                            allowed="an Aurora PostgreSQL version like 16.4"),
        aurora_instance_class=reader.string("auroraInstanceClass", pattern=r"db\.[a-z0-9]+\.\w+",
                                            allowed="an RDS instance class like db.r6g.large"),
        aurora_reader_count=reader_count,
        aurora_max_readers=reader.integer("auroraMaxReaders", minimum=reader_count, maximum=15),
        backup_retention_days=backup_days,
        cache_node_type=reader.string("cacheNodeType", pattern=r"cache\.[a-z0-9]+\.\w+",
                                      allowed="an ElastiCache node type like cache.r7g.large"),
        cache_node_count=reader.integer("cacheNodeCount", minimum=2, maximum=6),
        search_instance_type=reader.string("searchInstanceType", pattern=r"[a-z0-9]+\.\w+\.search",
                                           allowed="an OpenSearch type like r7g.large.search"),
        search_data_nodes=data_nodes,
        search_zone_count=reader.integer("searchZoneCount", minimum=2, maximum=3),
        search_dedicated_masters=reader.boolean("searchDedicatedMasters"),
        search_volume_gb=reader.integer("searchVolumeGb", minimum=10, maximum=3072))

    events = EventsConfig(
        consumers=_consumers(reader),
        archive_retention_days=reader.integer("eventArchiveRetentionDays", minimum=1,
                                              maximum=3650),
        email_domain=reader.string("emailDomain", pattern=_HOST, allowed="a DNS domain"))

    target_text = reader.string("checkoutAvailabilityTarget",
                                pattern=r"9\d(\.\d{1,3})?",
                                allowed="a percentage from 90 to 99.999, e.g. 99.95")
    apm_endpoint = reader.optional_string("apmOtlpEndpoint", pattern=r"https://\S+",
                                          allowed="an https:// OTLP endpoint")
    apm_key = reader.optional_string(
        "apmApiKeySecretArn", pattern=r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+",
        allowed="a Secrets Manager secret ARN")
    if apm_endpoint and not apm_key:
        raise reader.fail("apmApiKeySecretArn", "is missing: apmOtlpEndpoint needs the ARN of "
                                                "its API key secret")
    observability = ObservabilityConfig(
        alarm_email=reader.string("alarmEmail", pattern=r"[^@\s]+@[^@\s]+\.[a-z]{2,}",
                                  allowed="an email address"),
        checkout_availability_target=float(target_text),
        checkout_latency_p99_ms=reader.integer("checkoutLatencyP99Ms", minimum=50,
                                               maximum=60_000),
        apm_otlp_endpoint=apm_endpoint, apm_api_key_secret_arn=apm_key)

    multi_region = _multi_region(reader, region, zone)
    payment_secret_arn = reader.string(
        "paymentSecretArn", pattern=r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+",
        allowed="a Secrets Manager secret ARN")
    payment_lookup_secret_arn = reader.string(
        "paymentLookupSecretArn", pattern=r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+",
        allowed="a Secrets Manager secret ARN")
    if payment_lookup_secret_arn == payment_secret_arn:
        raise reader.fail("paymentLookupSecretArn", "is the charging key paymentSecretArn: give "
                                                    "checkout recovery a restricted read-only key")

    admin_auth = _admin_auth(reader, web, edge)
    config = StackConfig(
        stack=stack, environment=environment, region=region, log_retention_days=retention,
        spike_factor=reader.integer("spikeFactor", minimum=1, maximum=100),
        network=network, edge=edge, web=web, data=data, events=events,
        observability=observability, multi_region=multi_region, usage=_usage(reader),
        payment_secret_arn=payment_secret_arn, payment_lookup_secret_arn=payment_lookup_secret_arn,
        admin_auth=admin_auth, warnings=tuple(warnings))
    unread = set(schema) - reader.read
    if unread:  # every declared key must mean something
        raise KeyError(f"declared in Pulumi.yaml but never read: {', '.join(sorted(unread))}")
    return config


_HTTPS_URL = r"https://[A-Za-z0-9.-]+(:\d+)?(/[^\s]*)?"
_SECRET_ARN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+"


def _admin_auth(reader: _Reader, web: WebConfig, edge: EdgeConfig) -> AdminAuthConfig | None:
    """The OpenID Connect settings, required exactly when the admin service runs."""
    url = {"pattern": _HTTPS_URL, "allowed": "an https:// URL of the identity provider"}
    values = {
        "issuer": reader.optional_string("adminOidcIssuer", **url),
        "authorization_endpoint": reader.optional_string("adminOidcAuthorizationEndpoint", **url),
        "token_endpoint": reader.optional_string("adminOidcTokenEndpoint", **url),
        "user_info_endpoint": reader.optional_string("adminOidcUserInfoEndpoint", **url),
        "client_id": reader.optional_string("adminOidcClientId", pattern=r"[\x21-\x7e]{1,255}",
                                            allowed="the OIDC client id (printable, no spaces)"),
        "client_secret_arn": reader.optional_string("adminOidcClientSecretArn", pattern=_SECRET_ARN,
                                                    allowed="a Secrets Manager secret ARN"),
    }
    scope = reader.string("adminOidcScope", pattern=r"[\x21-\x7e]+( [\x21-\x7e]+)*",
                          allowed="space-separated OAuth scopes, e.g. openid email")
    group = {"pattern": r"[\x21-\x7e]{1,256}", "allowed": "a group name (printable, no spaces)"}
    claim = reader.string("adminRolesClaim", pattern=r"[\x21-\x7e]{1,128}",
                          allowed="the claim that lists the user's groups, e.g. groups")
    editor, viewer = reader.string("adminEditorGroup", **group), reader.string("adminViewerGroup", **group)
    if ADMIN_SERVICE not in {s.name for s in web.services}:
        return None
    keys = {"issuer": "adminOidcIssuer", "authorization_endpoint": "adminOidcAuthorizationEndpoint",
            "token_endpoint": "adminOidcTokenEndpoint", "user_info_endpoint": "adminOidcUserInfoEndpoint",
            "client_id": "adminOidcClientId", "client_secret_arn": "adminOidcClientSecretArn"}
    for field, key in keys.items():
        if values[field] is None:
            raise reader.fail(key, "is missing: the admin service signs staff in with your OpenID "
                                   "Connect provider at the ALB (docs/admin.md)")
    if "openid" not in scope.split():
        raise reader.fail("adminOidcScope", f"= {scope!r} is not allowed: it must include openid")
    if editor == viewer:
        raise reader.fail("adminViewerGroup", "must differ from adminEditorGroup")
    if edge.domain_name is None:
        raise reader.fail("domainName", "is missing: staff sign-in at the ALB needs the shop's own "
                                        "host name (the identity provider redirects back to it)")
    return AdminAuthConfig(scope=scope, roles_claim=claim, editor_group=editor, viewer_group=viewer,
                           **{k: str(v) for k, v in values.items()})


def _usage(reader: _Reader) -> UsageConfig:
    return UsageConfig(
        traffic_percent=reader.integer("usageTrafficPercent", minimum=0, maximum=1000),
        edge_cache_hit_percent=reader.integer("usageEdgeCacheHitPercent", minimum=0, maximum=95),
        response_kb=reader.integer("usageResponseKb", minimum=1, maximum=1_048_576),
        requests_per_order=reader.integer("usageRequestsPerOrder", minimum=1),
        database_gb=reader.integer("usageDatabaseGb", minimum=1, maximum=131_072),
        static_assets_gb=reader.integer("usageStaticAssetsGb", minimum=0),
        log_kb_per_request=reader.integer("usageLogKbPerRequest", minimum=0, maximum=1024))


def _multi_region(reader: _Reader, region: str, zone: str | None) -> MultiRegionConfig:
    enabled = reader.boolean("multiRegion")
    secondary = reader.optional_string("secondaryRegion", pattern=_REGION,
                                       allowed="an AWS Region such as eu-central-1")
    trigger_text = reader.string("multiRegionTrigger")
    reference = reader.string("multiRegionTriggerReference")
    certificate = reader.optional_string("secondaryOriginCertificateArn", pattern=_ARN_ACM,
                                         allowed="an ACM certificate ARN")
    writer = reader.optional_string("databaseWriterRegion", pattern=_REGION,
                                    allowed="an AWS Region such as eu-central-1")
    if not enabled:
        if writer not in (None, region):
            raise reader.fail("databaseWriterRegion", f"= {writer!r} is not allowed: aws:region "
                                                      f"{region} (multiRegion is off)")
        return MultiRegionConfig(enabled=False)
    if secondary is None:
        raise reader.fail("secondaryRegion", "is missing: multiRegion is true, so name the "
                                             "second Region, e.g. eu-central-1")
    if secondary == region:
        raise reader.fail("secondaryRegion", f"= {secondary!r} is the primary Region: pick "
                                             "another")
    options = ", ".join(t.value for t in MultiRegionTrigger)
    if not trigger_text:
        raise reader.fail("multiRegionTrigger", f"is missing: multiRegion is true, so name the "
                                                f"business trigger, one of {options}")
    trigger = reader.choice("multiRegionTrigger", MultiRegionTrigger)
    if not reference.strip():
        raise reader.fail("multiRegionTriggerReference", "is missing: say which contract, SLO "
                                                         "report or cost case triggered it")
    if zone is None:
        raise reader.fail("hostedZoneId", "is missing: multiRegion is true, so name the Route 53 "
                                          "hosted zone of originDomainName (its latency records "
                                          "pick a Region)")
    if certificate is None:
        raise reader.fail("secondaryOriginCertificateArn", "is missing: multiRegion is true, so "
                                                           f"give an ACM certificate in {secondary} "
                                                           "for originDomainName")
    if certificate.split(":")[3] != secondary:
        raise reader.fail("secondaryOriginCertificateArn", f"must be in secondaryRegion {secondary} "
                                                           "(that Region's ALB uses it)")
    if writer not in (None, region, secondary):
        raise reader.fail("databaseWriterRegion", f"= {writer!r} is not allowed: aws:region "
                                                  f"{region} or secondaryRegion {secondary}")
    return MultiRegionConfig(enabled=True, secondary_region=secondary, trigger=trigger,
                             trigger_reference=reference.strip(),
                             secondary_origin_certificate_arn=certificate,
                             writer_region=writer if writer != region else None)

