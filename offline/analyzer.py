"""Run the policy pack exactly as the Pulumi CLI runs it, and send it a recorded program's resources.

The CLI starts a Python policy pack as `python -u -m pulumi.policy <engine-address> .` from the
pack's folder, with PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN and PULUMI_CONFIG set; the pack
prints the port of its Analyzer gRPC service. The CLI then calls Handshake, GetAnalyzerInfo,
ConfigureStack and Configure (the policies' config-schema defaults overlaid with the user's policy
config, validated), then Analyze for every resource (its inputs, unknowns and secrets included)
and AnalyzeStack once over every resource (their outputs, parents and dependencies). This module
does the same, offline: the engine address is a tiny in-process Engine service that collects the
pack's log messages, and the resources come from an `offline.engine.Snapshot`.

Public API (small on purpose; `make preview` and the tests use it):

    from offline.analyzer import PolicyPackProcess

    with PolicyPackProcess.for_snapshot(snapshot, policy_config={"eks-disallow": "advisory"}) as pack:
        report = pack.analyze(snapshot)

    # or, explicitly (stack config as strings, as the CLI passes it):
    with PolicyPackProcess(POLICY_PACK_DIR, stack="prod", preview=True, config={...}) as pack:
        report = pack.analyze(snapshot)      # any number of snapshots of that stack and mode
        pack.configure({"dynamodb-catalog-disallow": "mandatory"})   # re-send Configure
        report = pack.analyze_prepared(prepare(snapshot))  # requests built once, sent many times

    report.violations   # tuple[Violation]: policy, level, message, urn, pack, version, ...
    report.mandatory    # the violations that fail `pulumi preview` / `pulumi up`
    report.cannot_run   # the SDK's advisory "can't run policy ... during preview" diagnostics
    report.lines()      # one "[level] policy (resource): message" line per violation, blocking first
    pack.policies       # tuple[PolicyInfo]: name, level, description, config schema, ...
    pack.applied_config # what Configure sent: policy -> (level, properties incl. schema defaults)

`policy_config` has the format of `pulumi preview --policy-pack-config <file>`: a policy name (or
"all") mapped to an enforcement level or to an object of properties with an optional
`enforcementLevel`. A snapshot must come from the stack, mode and config the process was started
with (the pack reads them from its environment); `for_snapshot` takes them from the snapshot.
The subprocess and the engine service are always stopped on exit, also when an error is raised.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

from offline.engine import PROJECT, Resource, Snapshot

POLICY_PACK_DIR = Path(__file__).resolve().parent.parent / "policies"
CANNOT_RUN_PREFIX = "can't run policy"

_MAX_MESSAGE = 1024 * 1024 * 400
_CHANNEL_OPTIONS = [("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE)]
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
           analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
_LEVEL_VALUES = {name: value for value, name in _LEVELS.items()}
_SEVERITIES = {analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "", analyzer_pb2.POLICY_SEVERITY_LOW: "low",
               analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium", analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
               analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical"}

PolicyConfig = Mapping[str, str | Mapping[str, Any]]


class PolicyPackError(Exception):
    """The pack failed to start, rejected its config, or a policy raised (the CLI fails too)."""


# ----------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as GetAnalyzerInfo describes it."""

    name: str
    description: str
    level: str  # advisory | mandatory | remediate | disabled (the pack's default)
    severity: str
    kind: str  # "resource" or "stack"
    remediation: str
    config_schema: dict[str, Any]  # JSON-schema properties (without enforcementLevel)
    required: tuple[str, ...]
    framework: str = ""  # "PCI DSS 4.0: 3.5.1" when the policy names a compliance requirement
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Violation:
    """One diagnostic, as the CLI prints it under "Policies"."""

    policy: str
    level: str
    message: str
    urn: str | None  # the resource it names; None for a stack-wide violation
    pack: str
    version: str
    description: str = ""
    severity: str = ""

    @property
    def resource_name(self) -> str | None:
        return self.urn.rsplit("::", 1)[-1] if self.urn else None

    @property
    def mandatory(self) -> bool:
        return self.level == "mandatory"

    @property
    def cannot_run(self) -> bool:
        """The SDK could not run the policy because it read an unknown value during preview."""
        return self.message.startswith(CANNOT_RUN_PREFIX)

    def __str__(self) -> str:
        where = self.resource_name or "stack"
        detail = self.message.split("\n", 1)[-1]
        return f"[{self.level}] {self.policy} ({where}): {detail}"


@dataclass(frozen=True)
class LogMessage:
    severity: str
    message: str
    urn: str


@dataclass(frozen=True)
class Report:
    """What the pack said about one snapshot."""

    stack: str
    preview: bool
    resources: int
    violations: tuple[Violation, ...]
    logs: tuple[LogMessage, ...] = field(default=())

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.mandatory)

    @property
    def advisory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.level == "advisory")

    @property
    def cannot_run(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.cannot_run)

    def of_policy(self, name: str) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.policy == name)

    def of_resource(self, name: str) -> tuple[Violation, ...]:
        """Violations naming the resource with logical name (or URN) `name`."""
        return tuple(v for v in self.violations if name in (v.urn, v.resource_name))

    def lines(self) -> list[str]:
        ordered = sorted(self.violations, key=lambda v: (not v.mandatory, v.policy, v.urn or ""))
        return [str(v) for v in ordered]


# ----------------------------------------------------------------------------------------------
# The engine side: a minimal Engine service for the pack's log messages


class _Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[LogMessage] = []

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802 - gRPC names
        severity = engine_pb2.LogSeverity.Name(request.severity).lower()
        with self.lock:
            self.messages.append(LogMessage(severity, request.message, request.urn))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return engine_pb2.SetRootResourceResponse()

    def take(self) -> tuple[LogMessage, ...]:
        with self.lock:
            taken, self.messages = tuple(self.messages), []
        return taken


# ----------------------------------------------------------------------------------------------
# The pack process


class PolicyPackProcess:
    """The policy pack started as the CLI starts it; a context manager (see the module docstring)."""

    def __init__(self, pack_dir: Path | str = POLICY_PACK_DIR, *, stack: str, preview: bool,
                 config: Mapping[str, str] | None = None, policy_config: PolicyConfig | None = None,
                 project: str = PROJECT, stack_tags: Mapping[str, str] | None = None,
                 python: str = sys.executable, start_timeout: float = 60.0) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.stack = stack
        self.preview = preview
        self.config = dict(config or {})
        self.project = project
        self.stack_tags = dict(stack_tags or {})
        self.python = python
        self.start_timeout = start_timeout
        self._policy_config: PolicyConfig = dict(policy_config or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._server: grpc.Server | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._engine = _Engine()
        self._stderr: list[str] = []
        # Kills the plugin and the engine server if this object is collected without stop().
        self._finalizer: (weakref.finalize[[subprocess.Popen[bytes], grpc.Server | None], PolicyPackProcess]
                          | None) = None
        self.name = ""
        self.version = ""
        self.policies: tuple[PolicyInfo, ...] = ()
        self.applied_config: dict[str, tuple[str, dict[str, Any]]] = {}
        self._initial_config: dict[str, tuple[str, dict[str, Any]]] = {}

    @classmethod
    def for_snapshot(cls, snapshot: Snapshot, pack_dir: Path | str = POLICY_PACK_DIR, *,
                     policy_config: PolicyConfig | None = None,
                     stack_tags: Mapping[str, str] | None = None) -> PolicyPackProcess:
        """A pack process with the snapshot's stack, mode and stack config in its environment."""
        return cls(pack_dir, stack=snapshot.stack, preview=snapshot.preview, config=snapshot.config,
                   policy_config=policy_config, project=snapshot.project, stack_tags=stack_tags)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> PolicyPackProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._process is not None:
            raise PolicyPackError("the policy pack is already running")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise PolicyPackError(f"{self.pack_dir} has no PulumiPolicy.yaml")
        manifest = yaml.safe_load((self.pack_dir / "PulumiPolicy.yaml").read_text()) or {}

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=_CHANNEL_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._server)
        engine_port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.pop("PYTHONPATH", None)  # the pack must run from its own folder, like the CLI runs it
        env.update(PULUMI_PROJECT=self.project, PULUMI_STACK=self.stack,
                   PULUMI_DRY_RUN="true" if self.preview else "false",
                   PULUMI_ORGANIZATION="organization")
        if self.config:
            env["PULUMI_CONFIG"] = json.dumps(self.config)
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and pack
            [self.python, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", "."],
            cwd=self.pack_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self._finalizer = weakref.finalize(self, _kill, self._process, self._server)
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(self._process.stdout, lines.put, lambda: lines.put(None)),
                         daemon=True).start()
        threading.Thread(target=_pump, args=(self._process.stderr, self._stderr.append),
                         daemon=True).start()
        try:
            first = lines.get(timeout=self.start_timeout)
        except queue.Empty:
            raise PolicyPackError(f"the policy pack printed no port within {self.start_timeout:.0f} s"
                                  f"{self._stderr_tail()}") from None
        if first is None or not first.strip().isdigit():
            self._process.wait(timeout=10)
            raise PolicyPackError(f"the policy pack did not start (printed {first!r}, exit code "
                                  f"{self._process.returncode}){self._stderr_tail()}")

        self._channel = grpc.insecure_channel(f"127.0.0.1:{first.strip()}", options=_CHANNEL_OPTIONS)
        grpc.channel_ready_future(self._channel).result(timeout=self.start_timeout)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)

        self._call("Handshake", analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=f"127.0.0.1:{engine_port}", root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir)), optional=True)
        info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        self.name = info.name
        self.version = str(manifest.get("version") or info.version)  # the CLI prefers the manifest
        self.policies = tuple(sorted((_policy_info(p) for p in info.policies), key=lambda p: p.name))
        self._initial_config = {k: (_LEVELS.get(v.enforcementLevel, ""),
                                    json_format.MessageToDict(v.properties))
                                for k, v in info.initialConfig.items()}
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack, project=self.project, organization="organization",
            config=self.config, tags=self.stack_tags), optional=True)
        self.configure(self._policy_config)

    def stop(self) -> None:
        """Stop the pack and the engine service (idempotent)."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        elif self._server is not None:
            self._server.stop(grace=None)
        self._process = None
        self._server = None

    # -- configuration -----------------------------------------------------------------------
    def configure(self, policy_config: PolicyConfig | None = None) -> None:
        """Reconcile `policy_config` with the schema defaults as the CLI does, validate, send it."""
        reconciled = reconcile_config(self.policies, self._initial_config, policy_config or {})
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, properties) in reconciled.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = _LEVEL_VALUES[level]
            entry.properties.update(properties)
        self._call("Configure", request)
        self._policy_config = dict(policy_config or {})
        self.applied_config = reconciled

    # -- analysis ----------------------------------------------------------------------------
    def analyze(self, snapshot: Snapshot) -> Report:
        """Analyze every resource of `snapshot`, then the whole stack, as the engine does."""
        if (snapshot.stack, snapshot.preview) != (self.stack, self.preview) or \
                (self.config and snapshot.config != self.config):
            raise ValueError(f"this pack runs for stack {self.stack!r} (preview={self.preview}) with "
                             f"its config; start one with PolicyPackProcess.for_snapshot(snapshot)")
        return self.analyze_prepared(prepare(snapshot))

    def analyze_prepared(self, items: Sequence[PreparedResource]) -> Report:
        """`analyze` of requests built beforehand with `prepare(snapshot)` (benchmarks time only this)."""
        violations: list[Violation] = []
        for item in items:  # registration order: the engine analyzes each resource as it arrives
            response = self._call("Analyze", analyzer_pb2.AnalyzeRequest(
                type=item.type, properties=item.inputs, urn=item.urn, name=item.name,
                options=item.options, provider=item.provider))
            violations.extend(self._violations(response, default_urn=item.urn))
        response = self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=[
            analyzer_pb2.AnalyzerResource(  # the final state: outputs, parents and dependencies
                type=item.type, properties=item.outputs, urn=item.urn, name=item.name,
                options=item.options, provider=item.provider, parent=item.parent,
                dependencies=item.dependencies, propertyDependencies={
                    key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                    for key, urns in item.property_dependencies.items() if urns})
            for item in items]))
        violations.extend(self._violations(response, default_urn=None))
        return Report(stack=self.stack, preview=self.preview, resources=len(items),
                      violations=tuple(violations), logs=self._engine.take())

    # -- helpers -----------------------------------------------------------------------------
    def _violations(self, response: Any, *, default_urn: str | None) -> list[Violation]:
        return [Violation(policy=d.policyName, level=_LEVELS.get(d.enforcementLevel, "advisory"),
                          message=d.message, urn=d.urn or default_urn, pack=d.policyPackName or self.name,
                          version=self.version or d.policyPackVersion, description=d.description,
                          severity=_SEVERITIES.get(d.severity, ""))
                for d in response.diagnostics]

    def _call(self, method: str, request: Any, *, optional: bool = False) -> Any:
        if self._stub is None:
            raise PolicyPackError("the policy pack is not running (use it as a context manager)")
        try:
            return getattr(self._stub, method)(request, timeout=120)
        except grpc.RpcError as error:
            if optional and error.code() == grpc.StatusCode.UNIMPLEMENTED:  # the CLI tolerates it
                return None
            raise PolicyPackError(f"{method} failed: {error.code().name}: {error.details()}"
                                  f"{self._stderr_tail()}") from None

    def _stderr_tail(self) -> str:
        tail = "".join(self._stderr[-40:]).strip()
        return f"\n--- policy pack stderr ---\n{tail}" if tail else ""

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    @property
    def pid(self) -> int | None:
        """The pack process's id while it runs."""
        return self._process.pid if self._process is not None else None


# ----------------------------------------------------------------------------------------------
# Config, reconciled as the CLI reconciles it (defaults, initial config, user config, "all")


def reconcile_config(policies: Iterable[PolicyInfo],
                     initial: Mapping[str, tuple[str, dict[str, Any]]],
                     given: PolicyConfig) -> dict[str, tuple[str, dict[str, Any]]]:
    """Policy name -> (enforcement level, properties); raises PolicyPackError when invalid."""
    policies = list(policies)
    result: dict[str, tuple[str, dict[str, Any]]] = {
        p.name: (p.level, {k: v["default"] for k, v in p.config_schema.items() if "default" in v})
        for p in policies}
    for layer in (dict(initial), _parse_policy_config(given)):
        if "all" in layer and layer["all"][0]:
            result = {name: (layer["all"][0], props) for name, (_, props) in result.items()}
        for name, (level, properties) in layer.items():
            if name == "all":
                continue
            old_level, old_props = result.get(name, ("", {}))
            result[name] = (level or old_level, {**old_props, **properties})

    errors = [f"{name}: no such policy in the pack" for name in result if name not in
              {p.name for p in policies}]
    for policy in policies:
        schema = {"type": "object", "properties": {
            **policy.config_schema,
            "enforcementLevel": {"type": "string", "enum": list(_LEVEL_VALUES)}}}
        if policy.required:
            schema["required"] = list(policy.required)
        validator = jsonschema.Draft7Validator(schema)
        errors += [f"{policy.name}: {e.message}" for e in validator.iter_errors(result[policy.name][1])]
    if errors:
        raise PolicyPackError("invalid policy pack config: " + "; ".join(sorted(errors)))
    return result


def _parse_policy_config(config: PolicyConfig) -> dict[str, tuple[str, dict[str, Any]]]:
    parsed: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, value in config.items():
        if isinstance(value, str):
            level, properties = value, {}
        elif isinstance(value, Mapping):
            properties = dict(value)
            level = str(properties.pop("enforcementLevel", ""))
        else:
            raise PolicyPackError(f"invalid policy pack config for {name!r}: {value!r} is not a string "
                                  "or object")
        if level and level not in _LEVEL_VALUES:
            raise PolicyPackError(f"invalid policy pack config for {name!r}: {level!r} is not one of "
                                  f"{', '.join(_LEVEL_VALUES)}")
        parsed[name] = (level, properties)
    return parsed


# ----------------------------------------------------------------------------------------------
# Requests, built from the recorded RegisterResourceRequests as the engine builds them


def _policy_info(policy: Any) -> PolicyInfo:
    schema = json_format.MessageToDict(policy.configSchema.properties)
    return PolicyInfo(
        name=policy.name, description=policy.description,
        level=_LEVELS.get(policy.enforcementLevel, "advisory"),
        severity=_SEVERITIES.get(policy.severity, ""),
        kind="stack" if policy.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
        remediation=policy.remediation_steps, config_schema=schema,
        required=tuple(policy.configSchema.required),
        framework=(f"{policy.framework.name} {policy.framework.version}: {policy.framework.reference}"
                   if policy.HasField("framework") and policy.framework.name else ""),
        tags=tuple(policy.tags))


def _engine_value(value: Any) -> Any:
    """Downgrade what the engine downgrades for analyzers (resource references, output values)."""
    if isinstance(value, dict):
        signature = value.get(_SIG_KEY)
        if signature == _RESOURCE_REF_SIG:
            ref_id = value.get("id")
            return ref_id if isinstance(ref_id, str) and ref_id else value.get("urn", "")
        if signature == _OUTPUT_VALUE_SIG:
            inner = _engine_value(value["value"]) if "value" in value else _UNKNOWN
            return {_SIG_KEY: _SECRET_SIG, "value": inner} if value.get("secret") else inner
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_value(v) for v in value]
    return value


def _engine_struct(struct: struct_pb2.Struct) -> struct_pb2.Struct:
    return _struct(_engine_value(json_format.MessageToDict(struct)))


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(dict(values))
    return result


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")


def _seconds(duration: str) -> float:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * units[u] for n, u in _DURATION.findall(duration or ""))


def _options(request: Any, resource: Resource | None) -> analyzer_pb2.AnalyzerResourceOptions:
    if request is None or resource is None:
        return analyzer_pb2.AnalyzerResourceOptions()
    timeouts = request.customTimeouts
    aliases = [*request.aliasURNs, *(a.urn for a in request.aliases if a.urn)]
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=request.protect, ignoreChanges=list(request.ignoreChanges),
        deleteBeforeReplace=request.deleteBeforeReplace,
        deleteBeforeReplaceDefined=request.deleteBeforeReplaceDefined,
        additionalSecretOutputs=list(request.additionalSecretOutputs), aliases=aliases,
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            create=_seconds(timeouts.create), update=_seconds(timeouts.update),
            delete=_seconds(timeouts.delete)),
        parent=resource.parent or "")


def _package(type_: str) -> str:
    return type_.split(":", 1)[0]


@dataclass
class _EngineResource:
    urn: str
    type: str
    name: str
    inputs: struct_pb2.Struct
    outputs: struct_pb2.Struct
    options: analyzer_pb2.AnalyzerResourceOptions
    provider: analyzer_pb2.AnalyzerProviderResource | None = None
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


PreparedResource = _EngineResource
"""One resource's Analyze and AnalyzeStack payloads, as `prepare` builds them."""


def prepare(snapshot: Snapshot) -> list[PreparedResource]:
    """The snapshot as the engine sends it to analyzers, for `PolicyPackProcess.analyze_prepared`."""
    return _engine_resources(snapshot)


def _engine_resources(snapshot: Snapshot) -> list[_EngineResource]:
    """The snapshot as the engine holds it: the root stack, default providers, then each resource."""
    items: list[_EngineResource] = []
    stack_urn = next((r.parent for r in snapshot.resources
                      if r.parent and r.parent.split("::")[2] == "pulumi:pulumi:Stack"),
                     f"urn:pulumi:{snapshot.stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{snapshot.stack}")
    if stack_urn:
        items.append(_EngineResource(stack_urn, "pulumi:pulumi:Stack", stack_urn.rsplit("::", 1)[-1],
                                     struct_pb2.Struct(), _engine_struct(snapshot.stack_outputs),
                                     analyzer_pb2.AnalyzerResourceOptions()))
    providers: dict[str, analyzer_pb2.AnalyzerProviderResource] = {}
    for resource in snapshot.resources:
        if resource.type.startswith("pulumi:providers:"):
            providers[resource.urn] = analyzer_pb2.AnalyzerProviderResource(
                type=resource.type, properties=_engine_struct(resource.request.object),
                urn=resource.urn, name=resource.name)

    for resource in snapshot.resources:
        package = _package(resource.type)
        provider = None
        if resource.custom and package != "pulumi":
            provider = providers.get(resource.provider_urn or "")
            if provider is None and not resource.provider:
                provider = providers.get(package) or _default_provider(snapshot, resource, items)
                providers[package] = provider
        request = resource.request
        items.append(_EngineResource(
            urn=resource.urn, type=resource.type, name=resource.name,
            inputs=_engine_struct(request.object), outputs=_engine_struct(resource.output_struct),
            options=_options(request, resource), provider=provider, parent=resource.parent or "",
            dependencies=list(resource.dependencies),
            property_dependencies={k: list(v) for k, v in resource.property_dependencies.items()}))
    return items


def _default_provider(snapshot: Snapshot, resource: Resource,
                      items: list[_EngineResource]) -> analyzer_pb2.AnalyzerProviderResource:
    """The default provider the engine creates for a package used without an explicit one."""
    package = _package(resource.type)
    version = resource.request.version
    name = f"default_{version.replace('.', '_')}" if version else "default"
    inputs = _struct({k.split(":", 1)[1]: v for k, v in snapshot.config.items()
                      if k.startswith(package + ":")})
    urn = f"urn:pulumi:{snapshot.stack}::{snapshot.project}::pulumi:providers:{package}::{name}"
    items.append(_EngineResource(urn, f"pulumi:providers:{package}", name, inputs, inputs,
                                 analyzer_pb2.AnalyzerResourceOptions()))
    return analyzer_pb2.AnalyzerProviderResource(type=f"pulumi:providers:{package}",
                                                 properties=inputs, urn=urn, name=name)


def _pump(stream: Any, sink: Callable[[str], None], on_end: Callable[[], None] | None = None) -> None:
    for raw in iter(stream.readline, b""):
        sink(raw.decode(errors="replace"))
    if on_end is not None:
        on_end()


def _kill(process: subprocess.Popen[bytes], server: grpc.Server | None) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
    if server is not None:
        server.stop(grace=None)
