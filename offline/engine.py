"""Run the real Pulumi program under the SDK's mock engine and keep what it registered.

This is what `make preview` and the tests stand on: no CLI, no provider plugin, no cloud.
The config is what the CLI would pass (Pulumi.yaml defaults + Pulumi.<stack>.yaml), the mocks
answer with realistic ids, ARNs, names and URLs (update mode) or leave computed values unknown
(preview mode), and every RegisterResource request is recorded as the engine would see it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import functools
import hashlib
import json
import logging
import math
import re
import runpy
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.sync_await import _sync_await

from offline.computed import ACCOUNT_ID, computed_outputs
from offline.computed import digest as _digest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "ecommerce"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the wire value of an unknown
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG_KEY = "4dabf18193072939515e22adb298388d"


class ProgramError(Exception):
    """The program failed; `str()` is the one line to show (config errors stay one line)."""


# ----------------------------------------------------------------------------------------------
# Config, as the CLI would pass it


def stack_config(stack: str, project_dir: Path = PROJECT_DIR,
                 overrides: Mapping[str, Any] | None = None) -> tuple[dict[str, str], list[str]]:
    """Pulumi.yaml defaults overlaid with Pulumi.<stack>.yaml (and `overrides`), as strings.

    Returns the config map (full keys such as `ecommerce:azCount`) and the secret keys.
    Secure values cannot be decrypted offline; they become a placeholder that is kept secret.
    """
    project = _project_file(project_dir)
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        raise ProgramError(f"{stack_file.name} does not exist: stacks here are "
                           f"{', '.join(available_stacks(project_dir)) or 'none'}")
    try:
        stack_values = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    except yaml.YAMLError as error:
        raise ProgramError(f"{stack_file.name} is not valid YAML: {error}".splitlines()[0]) \
            from None
    values: dict[str, Any] = {}
    for key, declaration in (project.get("config") or {}).items():
        if isinstance(declaration, dict) and "default" in declaration:
            values[f"{project.get('name') or PROJECT}:{key}"] = declaration["default"]
    values.update(stack_values)
    values.update(overrides or {})

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = "[secret]"
            secret_keys.append(key)
        elif isinstance(value, bool):
            config[key] = "true" if value else "false"
        elif isinstance(value, list | dict):
            config[key] = json.dumps(value)
        else:
            config[key] = str(value)
    return config, secret_keys


def project_name(project_dir: Path = PROJECT_DIR) -> str:
    """The `name` in the folder's Pulumi.yaml: the config namespace and the URNs' project."""
    return str((_project_file(project_dir) or {}).get("name") or PROJECT)


def _project_file(project_dir: Path) -> Any:
    """The folder's Pulumi.yaml as `yaml.safe_load` reads it, parsed once for each content it has
    (a run reads it several times; each caller gets its own copy)."""
    return copy.deepcopy(_parse_project_file((project_dir / "Pulumi.yaml").read_text()))


@functools.lru_cache(maxsize=8)
def _parse_project_file(text: str) -> Any:
    return yaml.safe_load(text)


def available_stacks(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


# ----------------------------------------------------------------------------------------------
# Mocks: realistic values for what AWS would compute


def _computed_in_inputs(typ: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Computed fields nested in an input object: unknown in a preview (the provider plans them
    as unknown), where the mock would otherwise hand back the inputs without them."""
    if typ == "aws:sesv2/emailIdentity:EmailIdentity" and inputs.get("dkimSigningAttributes"):
        return {"dkimSigningAttributes": {**inputs["dkimSigningAttributes"], "tokens": UNKNOWN}}
    return {}


class OfflineMocks(pulumi.runtime.Mocks):
    """Answers the program's resources and invokes like a quiet AWS account would."""

    def __init__(self, *, region: str, preview: bool) -> None:
        self.region = region
        self.preview = preview
        self.provider_regions: dict[str, str] = {}  # provider URN -> its region

    # -- resources --------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", inputs
        if not args.custom:
            return None, inputs
        if self.preview:  # computed values stay unknown, as in `pulumi preview`
            return None, {**inputs, **_computed_in_inputs(args.typ, inputs)}
        region = str(inputs.get("region") or self._provider_region(args.provider) or self.region)
        return self._computed(args.typ, args.name, inputs, region)

    def _provider_region(self, provider_ref: str | None) -> str | None:
        # "<provider urn>::<provider id>", and a URN has "::" of its own
        return self.provider_regions.get(provider_ref.rsplit("::", 1)[0]) if provider_ref else None

    def _computed(self, typ: str, name: str, inputs: dict[str, Any],
                  region: str) -> tuple[str, dict[str, Any]]:
        return computed_outputs(typ, name, inputs, region, stack_region=self.region)

    # -- invokes ----------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        region = self._provider_region(args.provider) or self.region
        if args.token == "aws:ssm/getParameter:getParameter":
            return self.ssm_parameter(str(args.args.get("name", "")), region), []
        if args.token == "aws:ecr/getImage:getImage":
            return self.ecr_image(dict(args.args), region), []
        return self.invoke_result(args.token, region), []

    def ecr_image(self, query: dict[str, Any], region: str) -> dict[str, Any]:
        """An image already in a repository, found by tag (or digest)."""
        repository, tag = str(query.get("repositoryName")), query.get("imageTag")
        digest = str(query.get("imageDigest") or
                     f"sha256:{hashlib.sha256(f'{repository}:{tag}'.encode()).hexdigest()}")
        return {"id": digest, "imageDigest": digest, "imageTag": tag,
                "imageTags": [tag] if tag else [], "registryId": ACCOUNT_ID,
                "repositoryName": repository, "imagePushedAt": 1795651200,
                "imageSizeInBytes": 61_234_567, "region": region,
                "imageUri": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{repository}@{digest}"}

    def ssm_parameter(self, name: str, region: str) -> dict[str, Any]:
        """Public parameters the program reads: the Powertools layer of a pinned version."""
        match = re.fullmatch(r"/aws/service/powertools/python/(\w+)/python3\.(\d+)/([\w.]+)", name)
        if not match:
            raise NotImplementedError(f"the offline engine has no answer for SSM parameter {name}: "
                                      "add it to offline/engine.py OfflineMocks.ssm_parameter")
        arch, minor, version = match.groups()
        layer = (f"arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python3"
                 f"{minor}-{arch}:{int(_digest(version, length=2), 16) % 60 + 1}")
        return {"name": name, "arn": f"arn:aws:ssm:{region}::parameter{name}", "type": "String",
                "value": layer, "insecureValue": layer, "version": 1, "withDecryption": True,
                "id": name}

    def invoke_result(self, token: str, region: str) -> dict[str, Any]:
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            letters = "abcdef"
            return {"names": [f"{region}{x}" for x in letters],
                    "zoneIds": [f"use1-az{i}" for i in range(1, 7)], "id": region}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
                    "userId": "AIDAOFFLINE", "id": ACCOUNT_ID}
        if token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region,
                    "endpoint": f"ec2.{region}.amazonaws.com"}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            return {"id": "pl-3b927c52", "name": "com.amazonaws.global.cloudfront.origin-facing",
                    "arn": f"arn:aws:ec2:{region}:aws:prefix-list/pl-3b927c52",
                    "maxEntries": 55}
        simple: dict[str, dict[str, Any]] = {
            "aws:secretsmanager/getRandomPassword:getRandomPassword": {
                "randomPassword": _digest("random-password", region, length=64), "id": region},
            # a secret created outside the stack (the admin's OIDC client secret)
            "aws:secretsmanager/getSecretVersion:getSecretVersion": {
                "secretString": _digest("secret-string", region, length=40), "versionId": "v1",
                "versionStages": ["AWSCURRENT"], "id": region},
            # the account that writes ALB access logs in us-east-1
            "aws:elb/getServiceAccount:getServiceAccount": {
                "id": "127311923021", "arn": "arn:aws:iam::127311923021:root"},
            # a registry login for 12 hours, as `docker login` takes it (user AWS)
            "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
                "authorizationToken": base64.b64encode(
                    f"AWS:{_digest('ecr-token', region, length=64)}".encode()).decode(),
                "expiresAt": "2026-12-04T09:00:00Z", "id": region, "region": region,
                "password": _digest("ecr-token", region, length=64),
                "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com",
                "registryId": ACCOUNT_ID, "userName": "AWS"},
        }
        if token in simple:
            return simple[token]
        raise NotImplementedError(f"the offline engine has no answer for invoke {token}: add it "
                                  "to offline/engine.py OfflineMocks.call")


# ----------------------------------------------------------------------------------------------
# Recording


@dataclass(frozen=True)
class Resource:
    """One registered resource, as the engine (and so the policy pack) sees it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None  # "<provider urn>::<provider id>"
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    id: str | None
    request: Any = field(repr=False, compare=False)  # the RegisterResourceRequest
    output_struct: struct_pb2.Struct = field(repr=False, compare=False)
    source: SourceLocation | None = None  # the program line that registered it

    @property
    def provider_urn(self) -> str | None:
        return self.provider.rsplit("::", 1)[0] if self.provider else None


@dataclass(frozen=True)
class SourceLocation:
    """A line of the program's own files: `path` is relative to the project folder, POSIX style."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


_NOT_THE_PROGRAM = {".venv", "venv", "site-packages", "dist-packages", "node_modules"}
_THIS_FILE = Path(__file__).resolve()


def source_location(request: Any, project_dir: Path) -> SourceLocation | None:
    """Where the program registered the resource: the first frame, walking out from the call into
    the SDK, that is in the project's own files (the SDK's `sourcePosition` when the program called
    the resource's constructor itself; a later frame of its `stackTrace` when a library did)."""
    positions = [request.sourcePosition, *(frame.pc for frame in request.stackTrace.frames)]
    for position in positions:
        if position.line <= 0:
            continue
        path = _program_path(position.uri, project_dir)
        if path is not None:
            return SourceLocation(path, position.line)
    return None


@functools.lru_cache(maxsize=4096)
def _program_path(uri: str, project_dir: Path) -> str | None:
    """The project-relative POSIX path of a `file://` URI in the program's own files, else None
    (a few dozen files register every resource: each is looked at once)."""
    if not uri.startswith("file://"):
        return None
    path = Path(urllib.parse.unquote(urllib.parse.urlparse(uri).path))
    if path == _THIS_FILE or not path.is_relative_to(project_dir):
        return None
    relative = path.relative_to(project_dir)
    return None if _NOT_THE_PROGRAM.intersection(relative.parts) else relative.as_posix()


SECRET_VALUE_INVOKE = "aws:secretsmanager/getSecretVersion:getSecretVersion"
"""The data source that reads a secret's value: whoever previews the program needs that secret."""


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: OfflineMocks, project_dir: Path = PROJECT_DIR) -> None:
        super().__init__(mocks)
        self.recorded: list[Resource] = []
        self.invoked: list[str] = []  # data-source tokens, in call order (what a preview reads)
        self.secrets_read: list[str] = []  # the secrets whose values the program reads
        self.mocks_impl = mocks
        self.project_dir = project_dir.resolve()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them: the parent's whole type chain, without the stack."""
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def Invoke(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        self.invoked.append(request.tok)
        if request.tok == SECRET_VALUE_INVOKE:
            secret = plain(request.args).get("secretId")
            if isinstance(secret, str):
                self.secrets_read.append(secret)
        return super().Invoke(request)  # type: ignore[no-untyped-call]  # the SDK's, unannotated

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method's name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]  # the SDK's, unannotated
        if request.type == "pulumi:pulumi:Stack":
            return response
        if request.type.startswith("pulumi:providers:"):
            inputs = plain(request.object)
            if isinstance(inputs.get("region"), str):
                self.mocks_impl.provider_regions[response.urn] = inputs["region"]
        self.recorded.append(Resource(
            urn=response.urn, type=request.type, name=request.name, custom=request.custom,
            parent=request.parent or None, provider=request.provider or None,
            inputs=plain(request.object), outputs=plain(response.object),
            dependencies=tuple(request.dependencies),
            property_dependencies={k: tuple(v.urns)
                                   for k, v in request.propertyDependencies.items()},
            id=response.id or None, request=request, output_struct=response.object,
            source=source_location(request, self.project_dir)))
        return response


def plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain Python: secrets unwrapped, unknowns left as UNKNOWN.

    What `json_format.MessageToDict` makes of it (numbers as floats, an unset value as None), with
    each secret replaced by its value, in one pass (this runs twice for every registration)."""
    return {key: _value(value) for key, value in struct.fields.items()}


_SCALARS = frozenset({"string_value", "bool_value", "number_value"})


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        fields = value.struct_value.fields
        if _SIG_KEY in fields and _value(fields[_SIG_KEY]) == _SECRET_SIG:
            return _value(fields["value"]) if "value" in fields else None
        return {key: _value(item) for key, item in fields.items()}
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    if kind == "number_value" and not math.isfinite(value.number_value):
        return json_format.MessageToDict(value)  # refused with json_format's own error
    return getattr(value, kind) if kind in _SCALARS else None  # null_value, or no kind set


# ----------------------------------------------------------------------------------------------
# The snapshot


@dataclass(frozen=True)
class Snapshot:
    stack: str
    preview: bool
    resources: tuple[Resource, ...]
    outputs: dict[str, Any]  # UNKNOWN where the value is computed and unknown
    config: dict[str, str]
    project: str = PROJECT
    invokes: tuple[str, ...] = ()  # the data sources the program called, each once, sorted
    secrets_read: tuple[str, ...] = ()  # the secrets whose values it read (getSecretVersion), sorted
    warnings: tuple[str, ...] = ()
    """What the program logged with `pulumi.log.warn`, in order (the CLI's "Diagnostics")."""
    stack_outputs: struct_pb2.Struct = field(default_factory=struct_pb2.Struct, repr=False, compare=False)
    """The stack's outputs as the engine holds them (secrets and unknowns marked)."""

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def named(self, name: str) -> Resource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} resources are named {name!r}")
        return matches[0]

    def by_urn(self, urn: str) -> Resource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(f"no resource has URN {urn}")

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, parent: Resource) -> list[Resource]:
        found = self.children(parent)
        for child in list(found):
            found.extend(self.descendants(child))
        return found

    def ancestors(self, resource: Resource) -> list[Resource]:
        chain = []
        while resource.parent and any(r.urn == resource.parent for r in self.resources):
            resource = self.by_urn(resource.parent)
            chain.append(resource)
        return chain

    def upstream(self, resource: Resource) -> set[str]:
        """The URNs `resource` waits for in an update: its dependencies, theirs, and so on (a
        dependency on a component is one on everything inside it)."""
        seen: set[str] = set()
        pending = [resource]
        while pending:
            current = pending.pop()
            urns = {*current.dependencies,
                    *(u for us in current.property_dependencies.values() for u in us)}
            for urn in urns - seen:
                seen.add(urn)
                found = self.by_urn(urn)
                pending.append(found)
                if not found.custom:
                    pending.extend(self.descendants(found))
        return seen

    def provider_of(self, resource: Resource) -> Resource | None:
        """The explicit provider that serves `resource` (directly or inherited from a parent)."""
        urn = resource.provider_urn
        return self.by_urn(urn) if urn else None

    def where(self, type_: str, **inputs: Any) -> list[Resource]:
        return [r for r in self.of_type(type_)
                if all(r.inputs.get(k) == v for k, v in inputs.items())]

    def custom(self) -> list[Resource]:
        return [r for r in self.resources if r.custom and not r.type.startswith("pulumi:")]

    def types(self) -> set[str]:
        return {r.type for r in self.resources}


def _resolve_outputs(values: Mapping[str, Any]) -> dict[str, Any]:
    async def resolve(value: Any) -> Any:
        output = pulumi.Output.from_input(value)
        known = await output.is_known()
        return await output.future() if known else UNKNOWN

    return {name: _sync_await(resolve(value)) for name, value in values.items()}


@contextlib.contextmanager
def _own_event_loop() -> Iterator[None]:
    """A fresh event loop for one run, closed afterwards with the loops of its worker threads.

    The SDK's mock monitor runs in the loop's default executor and creates an event loop in each
    worker thread; left open, those loops are finalized at interpreter exit, after their sockets,
    and print "Exception ignored in BaseEventLoop.__del__ ... Invalid file descriptor: -1".
    """
    worker_loops: list[asyncio.AbstractEventLoop] = []

    def give_worker_a_loop() -> None:
        worker_loop = asyncio.new_event_loop()
        asyncio.set_event_loop(worker_loop)
        worker_loops.append(worker_loop)

    loop = asyncio.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="offline-engine",
                                                 initializer=give_worker_a_loop))
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        for closing in [*worker_loops, loop]:
            closing.close()
        asyncio.set_event_loop(None)


class _Diagnostics(logging.Handler):
    """Keeps the warnings the program logs (the mock engine hands them to a logger)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.warnings.append(record.getMessage())


def run_program(stack: str, *, preview: bool = False, overrides: Mapping[str, Any] | None = None,
                program: Path = PROJECT_DIR / "__main__.py",
                project_dir: Path = PROJECT_DIR) -> Snapshot:
    """Run `program` for `stack` under the mock engine and return what it registered.

    Raises ProgramError with a one-line message when the config or the program is wrong.
    """
    with _own_event_loop():
        return _run(stack, preview, overrides, program, project_dir)


def _run(stack: str, preview: bool, overrides: Mapping[str, Any] | None, program: Path,
         project_dir: Path) -> Snapshot:
    config, secret_keys = stack_config(stack, project_dir, overrides)
    region = config.get("aws:region", "us-east-1")
    pulumi.runtime.set_all_config(config, secret_keys)
    mocks = OfflineMocks(region=region, preview=preview)
    monitor = RecordingMonitor(mocks, project_dir)
    diagnostics = _Diagnostics()
    logger = logging.getLogger(f"{__name__}.program")
    logger.propagate = False  # kept for the rendering, not printed
    logger.handlers = [diagnostics]
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=project_name(project_dir), stack=stack, preview=preview,
                             logger=logger, monitor=monitor)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()

    program_dir = str(program.parent)
    added_to_path = program_dir not in sys.path  # as the CLI does; undone after, so runs don't pile up
    if added_to_path:
        sys.path.insert(0, program_dir)
    try:
        def run() -> None:
            runpy.run_path(str(program), run_name="__main__")

        _sync_await(pulumi.runtime.stack.run_pulumi_func(run))
    except pulumi.RunError as error:
        raise ProgramError(str(error)) from error
    except Exception as error:  # the program's own bug: keep the one line that says what
        raise ProgramError(f"the program failed: {type(error).__name__}: {error}") from error
    finally:
        if added_to_path and program_dir in sys.path:
            sys.path.remove(program_dir)

    root = pulumi_settings.get_root_resource()
    outputs = _resolve_outputs(getattr(root, "outputs", {}) or {})
    # the stack's outputs as the engine receives them at the end of a run (secrets, unknowns)
    stack_outputs = _sync_await(pulumi_rpc.serialize_properties(getattr(root, "outputs", {}) or {}, {}))
    return Snapshot(stack=stack, preview=preview, resources=tuple(monitor.recorded),
                    outputs=outputs, config=config, project=project_name(project_dir),
                    invokes=tuple(sorted(set(monitor.invoked))), warnings=tuple(diagnostics.warnings),
                    secrets_read=tuple(sorted(set(monitor.secrets_read))),
                    stack_outputs=stack_outputs)

