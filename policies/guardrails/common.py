"""What every policy of the pack stands on: plain resource views, the stack graph, messages.

Unknown values. During preview the SDK hands policies proxies that raise on any read of an unknown
value, and turns that into an advisory "can't run policy": a mandatory rule would silently become
a warning. So no policy reads a proxy: `Res` and `StackGraph` copy the properties into plain Python
first, with every unknown replaced by the `UNKNOWN` marker (which refuses to be used as a bool).
Each policy then decides explicitly: from a property's presence, from the dependency graph, or, when
the answer truly depends on the unknown, by reporting at its own level with a message that says so.

Only pulumi-policy and the standard library are used here: the pack is published on its own.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as _proxy

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

# ----------------------------------------------------------------------------------------------
# Unknown values


class _Unknown:
    """A value that is computed by another resource and unknown until the update."""

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        raise TypeError("an unknown value has no truth value; test it with is_unknown()")


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def plain(value: Any) -> Any:
    """`value` without SDK proxies, every unknown replaced by UNKNOWN (never raises)."""
    if isinstance(value, _proxy._DictProxy | _proxy._ListProxy):
        value = value["__target"]
    if isinstance(value, str):
        return UNKNOWN if _proxy._is_unknown(value) else value
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def is_true(value: Any) -> bool:
    """True only for a known true (booleans may arrive as strings from providers)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def number(value: Any) -> float | None:
    """A known number (the engine sends numbers as floats, sometimes as strings), else None."""
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def parse_json(value: Any) -> Any:
    """A JSON document given as a string or already structured; UNKNOWN stays UNKNOWN; None if invalid."""
    if value is UNKNOWN or isinstance(value, dict | list):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return plain(json.loads(value))
        except ValueError:
            return None
    return None


def strings(value: Any) -> Iterator[str]:
    """Every known string leaf of a nested value (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# ----------------------------------------------------------------------------------------------
# Names


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def tokens(text: str) -> list[str]:
    """`orderPaymentsQueue-dlq` -> ["order", "payments", "queue", "dlq"]."""
    found: list[str] = []
    for part in re.split(r"[^A-Za-z0-9]+", text):
        found.extend(piece.lower() for piece in _CAMEL.split(part) if piece)
    return found


def has_keyword(text: str, keywords: Iterable[str]) -> bool:
    """True when a token of `text` starts with a keyword (`payments` matches `payment`)."""
    words = [k.lower() for k in keywords if k]
    return any(token.startswith(word) for token in tokens(text) for word in words)


# ----------------------------------------------------------------------------------------------
# Resources


@dataclass(frozen=True)
class Res:
    """A resource as plain Python: properties with UNKNOWN markers, its provider's inputs, edges."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    provider: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: ResourceValidationArgs) -> Res:
        provider = plain(args.provider.props) if args.provider is not None else {}
        return cls(type=args.resource_type, name=args.name, urn=args.urn, props=plain(args.props),
                   provider=provider, parent=args.opts.parent if args.opts else None)

    @classmethod
    def from_stack(cls, resource: PolicyResource, provider: dict[str, Any] | None = None) -> Res:
        if provider is None:
            provider = plain(resource.provider.props) if resource.provider is not None else {}
        return cls(type=resource.resource_type, name=resource.name, urn=resource.urn,
                   props=plain(resource.props), provider=provider,
                   parent=resource.parent.urn if resource.parent is not None else None,
                   dependencies=tuple(d.urn for d in resource.dependencies),
                   property_dependencies={k: tuple(d.urn for d in v)
                                          for k, v in resource.property_dependencies.items()})

    @property
    def label(self) -> str:
        return f"{self.name} ({self.type})"

    def get(self, *path: str | int, default: Any = None) -> Any:
        """A nested property; UNKNOWN when any step is unknown; `default` when absent."""
        value: Any = self.props
        for step in path:
            if value is UNKNOWN:
                return UNKNOWN
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    return default
                value = value[step]
            else:
                if isinstance(value, list):  # a block the engine sent as a one-element list
                    value = value[0] if value else None
                if value is UNKNOWN:
                    return UNKNOWN
                if not isinstance(value, Mapping) or value.get(step) is None:
                    return default
                value = value[step]
        return value

    def first(self, key: str) -> Any:
        """A nested block that the engine may send as an object or as a one-element list."""
        value = self.props.get(key)
        if isinstance(value, list):
            return value[0] if value else None
        return value

    @property
    def tags(self) -> dict[str, Any]:
        """The resource's tags over its provider's default tags (values may be UNKNOWN)."""
        merged: dict[str, Any] = {}
        defaults = parse_json(self.provider.get("defaultTags"))
        if isinstance(defaults, list):
            defaults = defaults[0] if defaults else None
        if isinstance(defaults, Mapping) and isinstance(defaults.get("tags"), Mapping):
            merged.update(defaults["tags"])
        for key in ("tagsAll", "tags"):
            own = self.props.get(key)
            if isinstance(own, Mapping):
                merged.update(own)
        return merged

    def names(self, tag_keys: Iterable[str] = ()) -> list[str]:
        """The logical name, the physical name inputs and the values of the tags `tag_keys`."""
        found = [self.name]
        for key in ("name", "namePrefix", "tableName", "functionName", "family"):
            value = self.props.get(key)
            if isinstance(value, str) and value:
                found.append(value)
        tags = self.tags
        found += [v for k in tag_keys if isinstance(v := tags.get(k), str)]
        return found

    def tag_text(self) -> str:
        return " ".join(f"{k} {v}" for k, v in self.tags.items() if isinstance(v, str))

    @property
    def region(self) -> Any:
        """The resource's own `region` input (pulumi-aws 7), else its provider's, else None."""
        own = self.props.get("region")
        return own if own is not None else self.provider.get("region")

    @property
    def service(self) -> str:
        """`aws:rds/cluster:Cluster` -> `rds`."""
        return self.type.split(":")[1].split("/")[0] if self.type.count(":") >= 2 else ""

    def identifiers(self) -> set[str]:
        """Known values other resources use to refer to this one (arn, id, name, url, ...)."""
        found = set()
        for key in ("arn", "id", "name", "url", "bucket", "functionName", "tableName",
                    "clusterIdentifier", "identifier", "replicationGroupId", "domainName",
                    "queueUrl", "topicArn", "invokeArn", "qualifiedArn", "urn"):
            value = self.props.get(key)
            if isinstance(value, str) and value:
                found.add(value)
        return found


def stack_config() -> dict[str, str]:
    """The stack's config as the CLI hands it to the pack (PULUMI_CONFIG), keys like `proj:key`."""
    try:
        config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in config.items()} if isinstance(config, dict) else {}


def config_value(config: Mapping[str, str], key: str) -> str | None:
    """The value of `key` in any namespace (`ecommerce:multiRegionTrigger` for `multiRegionTrigger`)."""
    for full, value in config.items():
        if full.split(":", 1)[-1] == key and value:
            return value
    return None


def snake(name: str) -> str:
    """An engine property name as the Python SDK spells it: `storageEncrypted` -> `storage_encrypted`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def one_line(text: str) -> str:
    return " ".join(text.split())


def message(resource: Res | None, problem: str, fix: str) -> str:
    """The line the CLI prints under the policy: which resource, what is wrong, how to fix it."""
    where = f"{resource.label}: " if resource is not None else ""
    return one_line(f"{where}{problem}. Fix: {fix}")


def preview_unknown(resource: Res, what: str, fix: str) -> str:
    """The policy's own message when the answer depends on a value unknown during preview."""
    return message(resource, f"cannot be verified during preview because {what} is computed by "
                             "another resource and unknown until the update", fix)


# ----------------------------------------------------------------------------------------------
# The stack graph (stack policies)


class StackGraph:
    """Every resource of the stack and the edges between them (parents, property dependencies).

    Resources are converted to `Res` lazily: a policy that looks at queues does not pay for the
    other few hundred resources.
    """

    def __init__(self, resources: Sequence[Res | PolicyResource],
                 stack_tags: Mapping[str, str] | None = None) -> None:
        self._order = [(r.urn, r.type if isinstance(r, Res) else r.resource_type) for r in resources]
        self._raw = {r.urn: r for r in resources}
        self._converted: dict[str, Res] = {}
        self._providers: dict[str, dict[str, Any]] = {}
        self.stack_tags = dict(stack_tags or {})
        # Indexes, so that a policy's lookups stay linear in the stack's size (bench/: 10,000 resources)
        self._by_type: dict[str, list[tuple[int, str]]] = {}
        for position, (urn, type_) in enumerate(self._order):
            self._by_type.setdefault(type_, []).append((position, urn))
        self._position = {urn: position for position, (urn, _) in enumerate(self._order)}
        self._referrer_index: dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, list[Res]]] = {}
        self._identifier_index: dict[str, dict[str, list[Res]]] = {}

    @classmethod
    def from_args(cls, args: StackValidationArgs) -> StackGraph:
        return cls(args.resources, args.stack_tags)

    def get(self, urn: str) -> Res | None:
        if urn in self._converted:
            return self._converted[urn]
        raw = self._raw.get(urn)
        if raw is None:
            return None
        if isinstance(raw, Res):
            resource = raw
        else:
            provider: dict[str, Any] = {}
            if raw.provider is not None:
                if raw.provider.urn not in self._providers:
                    self._providers[raw.provider.urn] = plain(raw.provider.props)
                provider = self._providers[raw.provider.urn]
            resource = Res.from_stack(raw, provider)
        self._converted[urn] = resource
        return resource

    @property
    def resources(self) -> list[Res]:
        return [r for urn, _ in self._order if (r := self.get(urn)) is not None]

    def of_type(self, *types: str) -> list[Res]:
        entries = [entry for type_ in dict.fromkeys(types) for entry in self._by_type.get(type_, ())]
        if len(types) > 1:
            entries.sort()  # stack order
        return [r for _, urn in entries if (r := self.get(urn)) is not None]

    def targets(self, resource: Res, *keys: str) -> list[Res]:
        """Resources that `resource`'s properties `keys` (all when none given) depend on."""
        urns: list[str] = []
        for key, deps in resource.property_dependencies.items():
            if not keys or key in keys:
                urns.extend(deps)
        return [r for u in dict.fromkeys(urns) if (r := self.get(u)) is not None]

    def refers(self, resource: Res, key: str, target: Res) -> bool:
        """Does property `key` of `resource` name `target`? By dependency, else by a known literal."""
        if target.urn in resource.property_dependencies.get(key, ()):
            return True
        idents = target.identifiers()
        return any(_same_reference(value, idents) for value in _referenced(resource.props.get(key)))

    def referrers(self, target: Res, types: Iterable[str], *keys: str) -> list[Res]:
        """Resources of `types` whose properties `keys` name `target` (as `refers` decides)."""
        index = self._referrer_index.get((tuple(types), keys))
        if index is None:
            index = self._referrer_index[(tuple(types), keys)] = self._index_referrers(tuple(types), keys)
        found = {r.urn: r for name in (target.urn, *target.identifiers()) for r in index.get(name, ())}
        return sorted(found.values(), key=lambda r: self._position[r.urn])

    def _index_referrers(self, types: tuple[str, ...], keys: tuple[str, ...]) -> dict[str, list[Res]]:
        """URN or identifier -> the resources of `types` whose `keys` name it (see `_same_reference`)."""
        index: dict[str, list[Res]] = {}
        for resource in self.of_type(*types):
            names: set[str] = set()
            for key in keys:
                names.update(resource.property_dependencies.get(key, ()))
                for value in _referenced(resource.props.get(key)):
                    if value:
                        names.add(value)
                        tail = re.split(r"[:/]", value)[-1]
                        if tail and tail != value and len(tail) > 2:
                            names.add(tail)
            for name in names:
                index.setdefault(name, []).append(resource)
        return index

    def by_identifier(self, identifier: str, type_: str) -> list[Res]:
        """Resources of `type_` that `identifier` (an ARN, id or name) names."""
        index = self._identifier_index.get(type_)
        if index is None:
            index = self._identifier_index[type_] = {}
            for resource in self.of_type(type_):
                for ident in resource.identifiers():
                    index.setdefault(ident, []).append(resource)
        return list(index.get(identifier, ()))

    def children(self, parent: Res) -> list[Res]:
        return [r for r in self.resources if r.parent == parent.urn]


def _referenced(value: Any) -> Iterator[str]:
    """String leaves of a value, looking inside JSON documents (redrive policies, definitions)."""
    for text in strings(value):
        if text.lstrip().startswith(("{", "[")):
            parsed = parse_json(text)
            if isinstance(parsed, dict | list):
                yield from strings(parsed)
                continue
        yield text


def _same_reference(value: str, idents: set[str]) -> bool:
    if not value:
        return False
    if value in idents:
        return True
    tail = re.split(r"[:/]", value)[-1]
    return bool(tail) and tail in idents and tail != value and len(tail) > 2


# ----------------------------------------------------------------------------------------------
# Building policies


Report = Callable[..., None]
ResourceCheck = Callable[[Res, Mapping[str, Any], Report], None]
StackCheck = Callable[[StackGraph, Mapping[str, Any], Report], None]


@dataclass(frozen=True)
class Reference:
    """What the reference (docs/policies.md) says of a policy beyond the Analyzer protocol.

    `covers`: the resource types (pulumi-aws aliases included) through which the policy's mistake
    can be made, all of which it inspects; the check's docstring lists them, with, for a mandatory
    policy, a "Well-built programs" line saying why a correct program cannot trip it.
    `antipattern`: the case study's anti-pattern the policy stops ("" when it is a PCI or
    operability rule only).
    """

    covers: tuple[str, ...]
    antipattern: str
    check: Callable[..., None]


REFERENCE: dict[str, Reference] = {}
"""Policy name -> its reference entry, filled by `resource_policy` and `stack_policy`."""


def pci(requirement: str) -> PolicyComplianceFramework:
    return PolicyComplianceFramework(name="PCI DSS", version="4.0", reference=requirement)


def _defaults(config: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any]:
    return {k: v["default"] for k, v in (config or {}).items() if "default" in v}


def _schema(config: Mapping[str, Mapping[str, Any]] | None) -> PolicyConfigSchema | None:
    return PolicyConfigSchema(properties={k: dict(v) for k, v in config.items()}) if config else None


def resource_policy(*, name: str, description: str, level: EnforcementLevel, severity: Severity,
                    remediation: str, check: ResourceCheck, types: Iterable[str] | None = None,
                    prefixes: Iterable[str] = (), config: Mapping[str, Mapping[str, Any]] | None = None,
                    framework: PolicyComplianceFramework | None = None,
                    tags: Sequence[str] = (), covers: Iterable[str] | None = None,
                    antipattern: str = "") -> ResourceValidationPolicy:
    """A resource policy whose `check(resource, config, report)` sees plain values only.

    `covers` defaults to `types` and `prefixes` (see `Reference`).
    """
    wanted = frozenset(types or ())
    wanted_prefixes = tuple(prefixes)
    defaults = _defaults(config)
    REFERENCE[name] = Reference(
        tuple(covers) if covers is not None else (*dict.fromkeys(types or ()), *wanted_prefixes),
        antipattern, check)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if (wanted or wanted_prefixes) and args.resource_type not in wanted \
                and not args.resource_type.startswith(wanted_prefixes):
            return
        settings = {**defaults, **plain(args.get_config() or {})}
        check(Res.from_args(args), settings, lambda text, urn=None: report_violation(text, None))

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level,
        config_schema=_schema(config), severity=severity, remediation_steps=one_line(remediation),
        framework=framework, tags=list(tags))


def stack_policy(*, name: str, description: str, level: EnforcementLevel, severity: Severity,
                 remediation: str, check: StackCheck,
                 config: Mapping[str, Mapping[str, Any]] | None = None,
                 framework: PolicyComplianceFramework | None = None,
                 tags: Sequence[str] = (), covers: Iterable[str] = (),
                 antipattern: str = "") -> StackValidationPolicy:
    """A stack policy whose `check(graph, config, report)` reports `(message, urn)`."""
    defaults = _defaults(config)
    REFERENCE[name] = Reference(tuple(covers), antipattern, check)

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = {**defaults, **plain(args.get_config() or {})}
        check(StackGraph.from_args(args), settings, report_violation)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level,
        config_schema=_schema(config), severity=severity, remediation_steps=one_line(remediation),
        framework=framework, tags=list(tags))


def string_list(description: str, default: Sequence[str]) -> dict[str, Any]:
    """A config-schema property: a list of strings with a default."""
    return {"type": "array", "items": {"type": "string"}, "description": description,
            "default": list(default)}
