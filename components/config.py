"""The stack's configuration, read once into frozen, typed objects.

`Pulumi.yaml` declares every key (type, description, default); this module checks each value
against that declaration and against what the product allows, and fails with ONE line that
names the key, the stack file and what is allowed.

Each default is written once, on the typed object's field (`setting(key, default)`); the CLI
needs Pulumi.yaml to carry it too (a key without a default is required there), and
tests/components/test_config_defaults.py holds Pulumi.yaml and docs/config.md to these. The rules
of a spec line (`services`, `consumers`, ...) live on its object, which cannot be made invalid:
the components take specs as they are.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, get_origin, get_type_hints

import pulumi
import yaml

PROJECT = "ecommerce"
PROJECT_DIR = Path(__file__).resolve().parent.parent

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
# The event contract (docs/architecture.md): every detail-type the platform publishes, and their
# source. app_code/shop/events.py holds the app's copy (the app is deployed without this program);
# tests/app/test_event_contract.py ties the two.
ORDER_PLACED = "order.placed"
ORDER_FULFILLED = "order.fulfilled"
CART_ABANDONED = "cart.abandoned"
PRODUCT_UPDATED = "product.updated"
KNOWN_EVENTS = (ORDER_PLACED, ORDER_FULFILLED, CART_ABANDONED, PRODUCT_UPDATED)
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


class SettingError(ValueError):
    """A value a config object does not allow; the message names the setting as config spells it
    (`cpu=300 is not allowed: ...`), and the reader adds the key and the stack file."""


def setting(key: str, default: Any = MISSING, *, low: float | None = None,
            high: float | None = None, unset: bool = False) -> Any:
    """A field read from config: `key` is its name in Pulumi.yaml (or in a spec line), `default`
    its default (the one place it is written down: Pulumi.yaml's copy is checked against it),
    `low`..`high` the bounds a spec line's value must keep, and `unset` a key without a default
    that may be left empty (the parser says when it is required)."""
    metadata = {"key": key, "low": low, "high": high, "unset": unset}
    if default is MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


def _check_bounds(spec: Any) -> None:
    for item in fields(spec):
        low, high = item.metadata.get("low"), item.metadata.get("high")
        value = getattr(spec, item.name)
        if low is not None and high is not None and not low <= value <= high:
            raise SettingError(f"{item.metadata['key']}={value} is not allowed: must be from "
                               f"{low:g} to {high:g}")


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    az_count: int = setting("azCount", 2)
    cidr: str = setting("vpcCidr", "10.0.0.0/16")
    nat_gateways: NatGatewayMode = setting("natGateways", NatGatewayMode.PER_AZ)


@dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    domain_name: str | None = setting("domainName", None)
    certificate_arn: str | None = setting("certificateArn", None)
    """None with a `hosted_zone_id`: the stack issues the certificate (DNS-validated)."""
    origin_domain_name: str = setting("originDomainName")
    origin_certificate_arn: str | None = setting("originCertificateArn", None)
    """None with a `hosted_zone_id`: the stack issues the certificate (DNS-validated)."""
    waf_rate_limit: int = setting("wafRateLimit", 2000)
    sign_in_rate_limit: int = setting("signInRateLimit", 50)
    """Sign-in requests (link requests, link redemptions) per 5 minutes per client IP at the WAF."""
    hosted_zone_id: str | None = setting("hostedZoneId", None)
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

    issuer: str = setting("adminOidcIssuer", unset=True)
    authorization_endpoint: str = setting("adminOidcAuthorizationEndpoint", unset=True)
    token_endpoint: str = setting("adminOidcTokenEndpoint", unset=True)
    user_info_endpoint: str = setting("adminOidcUserInfoEndpoint", unset=True)
    client_id: str = setting("adminOidcClientId", unset=True)
    client_secret_arn: str = setting("adminOidcClientSecretArn", unset=True)
    """Secrets Manager secret whose value is the client secret; the program hands it to the ALB."""
    scope: str = setting("adminOidcScope", "openid email")
    roles_claim: str = setting("adminRolesClaim", "groups")
    editor_group: str = setting("adminEditorGroup", "shop-editors")
    viewer_group: str = setting("adminViewerGroup", "shop-viewers")


_APP = r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*"


@dataclass(frozen=True, kw_only=True)
class ServiceSpec:
    """One ECS Fargate service behind the ALB: a line of `services`. A spec that breaks a rule
    cannot be made (SettingError), so the components need not check it again."""

    name: str
    path: str = setting("path", "")
    """An ALB path pattern; "" means `/<name>/*`."""
    cpu: int = setting("cpu", 512)
    memory: int = setting("memory", 1024)
    app: str = setting("app", "")
    """The ASGI app the service's container serves (`module:attribute`); "" means the known
    service's (SERVICE_APPS)."""
    port: int = setting("port", 8080, low=1024, high=65535)
    baseline_rps: float = setting("baselineRps", 10.0, low=0, high=1e6)
    rps_per_task: float = setting("rpsPerTask", 50.0, low=0.1, high=1e5)
    min_tasks: int = setting("minTasks", 2, low=2, high=1000)

    def __post_init__(self) -> None:
        _check_bounds(self)
        if self.cpu not in FARGATE_CPU_MEMORY:
            raise SettingError(f"cpu={self.cpu} is not allowed: one of "
                               f"{', '.join(map(str, FARGATE_CPU_MEMORY))}")
        if self.memory not in FARGATE_CPU_MEMORY[self.cpu]:
            valid = FARGATE_CPU_MEMORY[self.cpu]
            raise SettingError(f"memory={self.memory} is not allowed with cpu={self.cpu}: "
                               f"{valid[0]} to {valid[-1]} in steps Fargate accepts")
        path = self.path or f"/{self.name}/*"
        if not re.fullmatch(r"/[A-Za-z0-9_\-/.*]*", path):
            raise SettingError(f"path={path!r} must be an ALB path pattern like /api/*")
        app = self.app or SERVICE_APPS.get(self.name)
        if app is None:
            raise SettingError(f"is missing app=: name the ASGI app {self.name} serves, e.g. "
                               f"app=shop.{self.name.replace('-', '_')}.app:app")
        if not re.fullmatch(_APP, app):
            raise SettingError(f"app={app!r} must be <module>:<attribute>, e.g. "
                               "shop.order_service.app:app")
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "app", app)

    def max_tasks(self, spike_factor: int) -> int:
        """Tasks needed at `spike_factor` x the daily average, plus 25% headroom for uneven load."""
        needed = math.ceil(self.baseline_rps * spike_factor * 1.25 / self.rps_per_task)
        return max(self.min_tasks, needed)

    @property
    def command(self) -> tuple[str, ...]:
        """What the container runs: uvicorn serving `app` on every interface; the port comes from
        the task's `UVICORN_PORT` (the web tier sets it to `port`)."""
        return ("python", "-m", "uvicorn", self.app, "--host", "0.0.0.0")


DEFAULT_SERVICES = (
    ServiceSpec(name="storefront", path="/*", baseline_rps=60, rps_per_task=100),
    ServiceSpec(name="order-api", path="/api/*", cpu=1024, memory=2048, baseline_rps=20,
                rps_per_task=40),
    ServiceSpec(name="admin", path="/admin/*", cpu=256, memory=512, baseline_rps=1, rps_per_task=20),
)
"""The case study's three services: `services` when the stack sets none."""


@dataclass(frozen=True, kw_only=True)
class ScheduledScaleOut:
    name: str
    start: datetime = setting("start")
    end: datetime = setting("end")
    min_tasks_factor: int = setting("minTasksFactor", low=2, high=50)

    def __post_init__(self) -> None:
        _check_bounds(self)
        if self.end <= self.start:
            raise SettingError("end= must be after start=")


@dataclass(frozen=True, kw_only=True)
class PrebuiltImage:
    """An image built elsewhere, in the service's own repository: by tag or by digest."""

    service: str
    tag: str | None = setting("tag", None)
    digest: str | None = setting("digest", None)
    """`sha256:<64 hex>`; a tag is pinned to its digest at deploy time."""

    def __post_init__(self) -> None:
        if (self.tag is None) == (self.digest is None):
            raise SettingError(f"= {self.service!r} must give exactly one of tag= or digest=")
        if self.tag is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", self.tag):
            raise SettingError(f"tag={self.tag!r} is not a Docker image tag")
        if self.digest is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", self.digest):
            raise SettingError(f"digest={self.digest!r} must be sha256:<64 hex digits>")


@dataclass(frozen=True, kw_only=True)
class WebConfig:
    services: tuple[ServiceSpec, ...] = setting("services", DEFAULT_SERVICES)
    image_source: ImageSource = setting("imageSource", ImageSource.BUILD)
    prebuilt_images: tuple[PrebuiltImage, ...] = setting("prebuiltImages", ())
    """One per service with ImageSource.PREBUILT; empty with BUILD."""
    scheduled_scale_outs: tuple[ScheduledScaleOut, ...] = setting("scheduledScaleOuts", ())
    """The windows that have not ended yet (ended ones are dropped with a warning)."""


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    aurora_engine_version: str = setting("auroraEngineVersion", "16.4")
    aurora_instance_class: str = setting("auroraInstanceClass", "db.r6g.large")
    aurora_reader_count: int = setting("auroraReaderCount", 1)
    aurora_max_readers: int = setting("auroraMaxReaders", 4)
    backup_retention_days: int = setting("backupRetentionDays", 7)
    cache_node_type: str = setting("cacheNodeType", "cache.r7g.large")
    cache_node_count: int = setting("cacheNodeCount", 2)
    search_instance_type: str = setting("searchInstanceType", "r7g.large.search")
    search_data_nodes: int = setting("searchDataNodes", 2)
    search_zone_count: int = setting("searchZoneCount", 2)
    search_dedicated_masters: bool = setting("searchDedicatedMasters", False)
    search_volume_gb: int = setting("searchVolumeGb", 100)


def default_handler(consumer: str) -> str:
    """`search-indexer` -> `shop.consumers.search_indexer.handler`."""
    return f"shop.consumers.{consumer.replace('-', '_')}.handler"


@dataclass(frozen=True, kw_only=True)
class ConsumerSpec:
    """One event consumer: an EventBridge rule, its SQS queue + DLQ and a Lambda function; a line
    of `consumers`. A spec that breaks a rule cannot be made (SettingError)."""

    name: str
    events: tuple[str, ...] = setting("events", ())
    batch_size: int = setting("batchSize", 10, low=1, high=10_000)
    max_receive_count: int = setting("maxReceiveCount", 5, low=1, high=1000)
    max_concurrency: int = setting("maxConcurrency", 10, low=2, high=1000)
    reserved_concurrency: int = setting("reservedConcurrency", 0, low=0, high=1000)
    """0: no reservation."""
    timeout: int = setting("timeout", 30, low=1, high=900)
    memory: int = setting("memory", 512, low=128, high=10_240)
    handler: str = setting("handler", "")
    """A dotted `module.function` under app_code/; "" means `default_handler(name)`."""
    vpc: bool = setting("vpc", True)

    def __post_init__(self) -> None:
        _check_bounds(self)
        if 0 < self.reserved_concurrency < self.max_concurrency:
            raise SettingError(f"reservedConcurrency={self.reserved_concurrency} is not allowed below "
                               f"maxConcurrency={self.max_concurrency}: the function would throttle "
                               "its own queue; reserve at least that many, or 0")
        if not self.events:
            raise SettingError(f"is missing events=: name at least one of {', '.join(KNOWN_EVENTS)}")
        unknown = [e for e in self.events if e not in KNOWN_EVENTS]
        if unknown:
            raise SettingError(f"events= names unknown event {unknown[0]!r}: allowed are "
                               f"{', '.join(KNOWN_EVENTS)}")
        handler = self.handler or default_handler(self.name)
        if not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+", handler):
            raise SettingError(f"handler={handler!r} must be a dotted module.function")
        object.__setattr__(self, "handler", handler)


DEFAULT_CONSUMERS = (
    ConsumerSpec(name="fulfillment", events=(ORDER_PLACED,)),
    ConsumerSpec(name="email", events=(ORDER_PLACED, CART_ABANDONED)),
    ConsumerSpec(name="analytics", events=(ORDER_PLACED, ORDER_FULFILLED, CART_ABANDONED),
                 batch_size=100),
    ConsumerSpec(name="recommendations", events=(ORDER_PLACED, PRODUCT_UPDATED)),
    ConsumerSpec(name="search-indexer", events=(PRODUCT_UPDATED,)),
    ConsumerSpec(name="cache-invalidator", events=(PRODUCT_UPDATED,)),
)
"""The consumers of the event contract: `consumers` when the stack sets none. Each has its module
in app_code/shop/consumers/ (tests/app/test_event_contract.py ties the two)."""


@dataclass(frozen=True, kw_only=True)
class EventsConfig:
    consumers: tuple[ConsumerSpec, ...] = setting("consumers", DEFAULT_CONSUMERS)
    archive_retention_days: int = setting("eventArchiveRetentionDays", 30)
    email_domain: str = setting("emailDomain")


@dataclass(frozen=True, kw_only=True)
class ObservabilityConfig:
    alarm_email: str = setting("alarmEmail")
    checkout_availability_target: float = setting("checkoutAvailabilityTarget", 99.95)
    checkout_latency_p99_ms: int = setting("checkoutLatencyP99Ms", 1500)
    apm_otlp_endpoint: str | None = setting("apmOtlpEndpoint", None)
    apm_api_key_secret_arn: str | None = setting("apmApiKeySecretArn", None)


@dataclass(frozen=True, kw_only=True)
class MultiRegionConfig:
    enabled: bool = setting("multiRegion", False)
    secondary_region: str | None = setting("secondaryRegion", None)
    trigger: MultiRegionTrigger | None = setting("multiRegionTrigger", None)
    trigger_reference: str = setting("multiRegionTriggerReference", "")
    secondary_origin_certificate_arn: str | None = setting("secondaryOriginCertificateArn", None)
    """The secondary Region's ACM certificate for the origin host name (its ALB's listener)."""
    writer_region: str | None = setting("databaseWriterRegion", None)
    """Where the global database writes now, when a failover moved it (None: the primary Region)."""


@dataclass(frozen=True, kw_only=True)
class UsageConfig:
    """What the stack states about its own usage for the cost estimate (docs/cost.md). The
    components put it on the resources it describes (`components.usage`): the policy pack reads
    those tags, never this config."""

    traffic_percent: int = setting("usageTrafficPercent", 100)
    """The share of each service's baselineRps the stack really receives."""
    database_gb: int = setting("usageDatabaseGb", 200)
    static_assets_gb: int = setting("usageStaticAssetsGb", 50)


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    stack: str
    environment: Environment = setting("environment")
    region: str
    log_retention_days: int = setting("logRetentionDays", 90)
    spike_factor: int = setting("spikeFactor", 20)
    network: NetworkConfig
    edge: EdgeConfig
    web: WebConfig
    data: DataConfig
    events: EventsConfig
    observability: ObservabilityConfig
    multi_region: MultiRegionConfig
    usage: UsageConfig
    payment_secret_arn: str = setting("paymentSecretArn")
    """The payment provider's API key in Secrets Manager: never in config or the program."""
    payment_lookup_secret_arn: str = setting("paymentLookupSecretArn")
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


CONFIG_OBJECTS = (StackConfig, NetworkConfig, EdgeConfig, WebConfig, AdminAuthConfig, DataConfig,
                  EventsConfig, ObservabilityConfig, MultiRegionConfig, UsageConfig)
"""Every object a Pulumi.yaml key is read into: their `setting` fields are the keys."""


def typed_defaults() -> dict[str, Any]:
    """Each key's default as the typed objects hold it (keys without one are required)."""
    found: dict[str, Any] = {}
    for cls in CONFIG_OBJECTS:
        for item in fields(cls):
            key = item.metadata.get("key")
            if key is not None and item.default is not MISSING:
                found[key] = item.default
    return found


def config_text(value: Any) -> Any:
    """A typed default as Pulumi.yaml writes it: None is "", an enum its value, a float a string
    (only `checkoutAvailabilityTarget`, declared a string), an empty tuple an empty list."""
    if value is None:
        return ""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return list(value)
    return value


def config_defaults() -> dict[str, Any]:
    """Every optional key's default in Pulumi.yaml's form: the typed defaults, and "" for a key
    that may be left unset. Spec lists (services, consumers) keep their typed specs here; the
    reader uses them as they are."""
    found = {key: config_text(value) for key, value in typed_defaults().items()
             if not (isinstance(value, tuple) and value)}
    for cls in CONFIG_OBJECTS:
        for item in fields(cls):
            if item.metadata.get("unset"):
                found[item.metadata["key"]] = ""
    return found


CONFIG_DEFAULTS = config_defaults()


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
            if key not in CONFIG_DEFAULTS:
                raise self.fail(key, f"is missing: {declared.get('description', 'set it')}")
            return CONFIG_DEFAULTS[key]
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

    def given(self, key: str) -> bool:
        """Does the stack (or the CLI, from Pulumi.yaml) set `key`? Counts as reading it."""
        self.read.add(key)
        return f"{PROJECT}:{key}" in self.raw


# ----------------------------------------------------------------------------------------------
# Specs: "<name> key=value key=value" lines, read into the spec objects above


_NAME = r"[a-z][a-z0-9-]{1,30}[a-z0-9]"
_SpecT = TypeVar("_SpecT")


def _setting_kinds(cls: Any) -> dict[str, tuple[str, Any, bool]]:
    """A spec object's settings: config name -> (field name, the type its text is read as, whether
    a line must set it)."""
    hints = get_type_hints(cls)
    kinds: dict[str, tuple[str, Any, bool]] = {}
    for item in fields(cls):
        key = item.metadata.get("key")
        if key is None:
            continue
        hint = hints[item.name]
        kind = hint if hint in (int, float, bool, datetime) else \
            tuple if get_origin(hint) is tuple else str
        kinds[key] = (item.name, kind, item.default is MISSING)
    return kinds


def _setting_value(kind: Any, text: str) -> Any:
    """The typed value of one `name=value` word; ValueError when the text is not of that type."""
    if kind is bool:
        if text not in ("true", "false"):
            raise ValueError
        return text == "true"
    if kind in (int, float):
        value = kind(text)
        if not math.isfinite(value):
            raise ValueError
        return value
    if kind is datetime:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.utcoffset() is None:
            raise ValueError
        return moment
    if kind is tuple:
        return tuple(text.split(","))
    return text


def _parse_spec(reader: _Reader, key: str, index: int, line: str, cls: type[_SpecT], *,
                name_field: str = "name") -> _SpecT:
    """One spec line -> the spec object `cls`, whose own checks decide what is allowed."""
    where = f"{key}[{index}]"
    words = line.split()
    if not words or not re.fullmatch(_NAME, words[0]):
        raise reader.fail(where, f"= {line!r} must start with a name of 3-32 lowercase letters, "
                                 "digits or dashes")
    kinds = _setting_kinds(cls)
    values: dict[str, Any] = {}
    for word in words[1:]:
        name, sep, text = word.partition("=")
        if not sep or name not in kinds:
            raise reader.fail(where, f"has unknown setting {word!r}: allowed are "
                                     f"{', '.join(f'{f}=' for f in kinds)}")
        attribute, kind, _required = kinds[name]
        if attribute in values:
            raise reader.fail(where, f"sets {name} twice")
        try:
            values[attribute] = _setting_value(kind, text)
        except ValueError:
            kind_name = {datetime: "an RFC 3339 UTC time", bool: "true or false",
                         tuple: "a comma-separated list"}.get(kind, f"a {kind.__name__}")
            raise reader.fail(where, f"{name}={text!r} must be {kind_name}") from None
    required = [k for k, (attribute, _, needed) in kinds.items() if needed and attribute not in values]
    if required:
        raise reader.fail(where, f"is missing {', '.join(f'{k}=' for k in required)}")
    try:
        return cls(**{name_field: words[0]}, **values)
    except SettingError as error:
        raise reader.fail(where, str(error)) from None


def _specs(reader: _Reader, key: str, cls: type[_SpecT], **options: Any) -> tuple[_SpecT, ...] | None:
    """The specs a stack sets for `key`, or None when it sets none (the typed default applies)."""
    if not reader.given(key):
        return None
    return tuple(_parse_spec(reader, key, index, line, cls, **options)
                 for index, line in enumerate(reader.strings(key)))


def _services(reader: _Reader) -> tuple[ServiceSpec, ...]:
    specs = _specs(reader, "services", ServiceSpec)
    if specs is None:
        return DEFAULT_SERVICES
    if not specs:
        raise reader.fail("services", "is empty: name at least one service")
    _unique(reader, "services", [s.name for s in specs])
    _unique(reader, "services", [s.path for s in specs], what="path")
    if not any(s.path == "/*" for s in specs):
        raise reader.fail("services", "needs one service with path=/* (the default route)")
    return specs


def _scale_outs(reader: _Reader, now: datetime,
                warnings: list[str]) -> tuple[ScheduledScaleOut, ...]:
    """The windows still to come; one that has ended is dropped with a warning, never an error
    (a date must not break CI)."""
    result = _specs(reader, "scheduledScaleOuts", ScheduledScaleOut) or ()
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
    images = _specs(reader, "prebuiltImages", PrebuiltImage, name_field="service") or ()
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
    specs = _specs(reader, "consumers", ConsumerSpec)
    if specs is None:
        return DEFAULT_CONSUMERS
    _unique(reader, "consumers", [c.name for c in specs])
    return specs


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

    network = _network(reader)
    edge = _edge(reader, region)
    zone = edge.hosted_zone_id

    services = _services(reader)
    image_source = reader.choice("imageSource", ImageSource)
    web = WebConfig(
        services=services, image_source=image_source,
        prebuilt_images=_prebuilt_images(reader, image_source, services),
        scheduled_scale_outs=_scale_outs(reader, now or datetime.now(UTC), warnings))

    data = _data(reader, environment)

    events = EventsConfig(
        consumers=_consumers(reader),
        archive_retention_days=reader.integer("eventArchiveRetentionDays", minimum=1,
                                              maximum=3650),
        email_domain=reader.string("emailDomain", pattern=_HOST, allowed="a DNS domain"))

    observability = _observability(reader)

    multi_region = _multi_region(reader, region, zone)
    payment_secret_arn, payment_lookup_secret_arn = _payment_secrets(reader)

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


def _network(reader: _Reader) -> NetworkConfig:
    cidr_text = reader.string("vpcCidr")
    try:
        cidr = ipaddress.IPv4Network(cidr_text)
    except ValueError:
        raise reader.fail("vpcCidr", f"= {cidr_text!r} is not allowed: an IPv4 CIDR such as "
                                     "10.0.0.0/16") from None
    if not 16 <= cidr.prefixlen <= 20:
        raise reader.fail("vpcCidr", f"= {cidr_text!r} is not allowed: the prefix must be /16 "
                                     "to /20 to fit three subnets per AZ")
    return NetworkConfig(
        az_count=reader.integer("azCount", minimum=2, maximum=6), cidr=str(cidr),
        nat_gateways=reader.choice("natGateways", NatGatewayMode))


def _edge(reader: _Reader, region: str) -> EdgeConfig:
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
    return EdgeConfig(
        domain_name=domain, certificate_arn=certificate,
        origin_domain_name=reader.string("originDomainName", pattern=_HOST,
                                         allowed="a DNS host name"),
        origin_certificate_arn=origin_certificate,
        waf_rate_limit=reader.integer("wafRateLimit", minimum=100, maximum=2_000_000_000),
        sign_in_rate_limit=reader.integer("signInRateLimit", minimum=10, maximum=2_000_000_000),
        hosted_zone_id=zone)


def _data(reader: _Reader, environment: Environment) -> DataConfig:
    backup_days = reader.integer("backupRetentionDays", minimum=7, maximum=35)
    if environment is Environment.PROD and backup_days < 14:
        raise reader.fail("backupRetentionDays", f"= {backup_days} is not allowed in prod: "
                                                 "must be from 14 to 35")
    reader_count = reader.integer("auroraReaderCount", minimum=1, maximum=15)
    data_nodes = reader.integer("searchDataNodes", minimum=2, maximum=80)
    if data_nodes % 2:
        raise reader.fail("searchDataNodes", f"= {data_nodes} is not allowed: an even number "
                                             "so each zone holds the same share")
    return DataConfig(
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


def _observability(reader: _Reader) -> ObservabilityConfig:
    target_text = reader.string("checkoutAvailabilityTarget",
                                pattern=r"9\d(\.\d{1,3})?",
                                allowed="a percentage from 90 to 99.999, e.g. 99.95")
    apm_endpoint = reader.optional_string("apmOtlpEndpoint", pattern=r"https://\S+",
                                          allowed="an https:// OTLP endpoint")
    apm_key = reader.optional_string(
        "apmApiKeySecretArn", pattern=_SECRET_ARN,
        allowed="a Secrets Manager secret ARN")
    if apm_endpoint and not apm_key:
        raise reader.fail("apmApiKeySecretArn", "is missing: apmOtlpEndpoint needs the ARN of "
                                                "its API key secret")
    return ObservabilityConfig(
        alarm_email=reader.string("alarmEmail", pattern=r"[^@\s]+@[^@\s]+\.[a-z]{2,}",
                                  allowed="an email address"),
        checkout_availability_target=float(target_text),
        checkout_latency_p99_ms=reader.integer("checkoutLatencyP99Ms", minimum=50,
                                               maximum=60_000),
        apm_otlp_endpoint=apm_endpoint, apm_api_key_secret_arn=apm_key)


def _payment_secrets(reader: _Reader) -> tuple[str, str]:
    """The charging key and the restricted read-only key: two different secrets."""
    payment_secret_arn = reader.string(
        "paymentSecretArn", pattern=_SECRET_ARN,
        allowed="a Secrets Manager secret ARN")
    payment_lookup_secret_arn = reader.string(
        "paymentLookupSecretArn", pattern=_SECRET_ARN,
        allowed="a Secrets Manager secret ARN")
    if payment_lookup_secret_arn == payment_secret_arn:
        raise reader.fail("paymentLookupSecretArn", "is the charging key paymentSecretArn: give "
                                                    "checkout recovery a restricted read-only key")
    return payment_secret_arn, payment_lookup_secret_arn


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
    keys = {item.name: item.metadata["key"] for item in fields(AdminAuthConfig)}
    for attribute, value in values.items():
        if value is None:
            raise reader.fail(keys[attribute], "is missing: the admin service signs staff in with "
                                               "your OpenID Connect provider at the ALB (docs/admin.md)")
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
        database_gb=reader.integer("usageDatabaseGb", minimum=1, maximum=131_072),
        static_assets_gb=reader.integer("usageStaticAssetsGb", minimum=0))


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

