"""What `make preview` shows: the resource tree, the policy result, the outputs and the summary.

Three renderings of one `PreviewResult`: text shaped like `pulumi preview` (`render_text`), a
machine-readable document (`render_json`) and a pull-request comment body (`render_markdown`).
Nothing here runs the program or the pack; `offline.preview` does and hands over the result.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf import json_format

from offline.engine import PROJECT, UNKNOWN, Resource, Snapshot, SourceLocation

if TYPE_CHECKING:
    from components.day_one import ManualStep
    from offline.cost import CostReport

UNKNOWN_TEXT = "[unknown]"
SECRET_TEXT = "[secret]"
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
NO_TIER = "(none)"

CAVEATS = (
    "no diff against deployed state: every resource is planned as `create`",
    "no provider-side validation: AWS and the provider plugin never see these inputs",
    "computed values (ids, ARNs, endpoints) are unknown, as in `pulumi preview`",
)
BLOCKING_LEVELS = frozenset({"mandatory"})
SERVICE = "aws:ecs/service:Service"
DEPLOY_STEPS = ("aws:lambda/invocation:Invocation", "docker-build:index:Image")
"""Resources that do work during the update itself (run a function, build and push an image)."""


# ----------------------------------------------------------------------------------------------
# The result to render


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    level: str  # advisory | mandatory | remediate | disabled
    severity: str = ""  # low | medium | high | critical
    remediation: str = ""


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    message: str
    urn: str | None  # None: a stack-level policy
    pack: str
    pack_version: str
    description: str = ""

    @property
    def detail(self) -> str:
        """The message without the policy's description, which the SDK puts on its first line."""
        if self.description and self.message.startswith(self.description + "\n"):
            return self.message[len(self.description) + 1:]
        return self.message


@dataclass(frozen=True)
class PolicyOutcome:
    """What the policy pack answered for the snapshot."""

    pack: str
    version: str
    location: str  # the pack's folder, as the CLI shows `(local: policies)`
    policies: tuple[PolicyInfo, ...]
    violations: tuple[Violation, ...]

    @property
    def blocking(self) -> list[Violation]:
        return [v for v in self.violations if v.level in BLOCKING_LEVELS]

    @property
    def passed(self) -> list[PolicyInfo]:
        failed = {v.policy for v in self.violations}
        return [p for p in self.policies if p.level != "disabled" and p.name not in failed]

    @property
    def disabled(self) -> list[PolicyInfo]:
        return [p for p in self.policies if p.level == "disabled"]


@dataclass(frozen=True)
class PreviewResult:
    stack: str
    snapshot: Snapshot | None  # None when the program failed
    policies: PolicyOutcome | None  # None when skipped (--no-policies) or not reached
    error: str | None = None  # the one line that says why the program or the pack failed
    policies_skipped: bool = False
    timings: Mapping[str, float] = field(default_factory=dict)
    cost: CostReport | None = None  # the monthly estimate (offline.cost), shown after the summary
    manual_steps: tuple[ManualStep, ...] = ()  # what a person still does for the stack; shown last

    @property
    def exit_code(self) -> int:
        """0 clean, 1 a mandatory policy failed, 2 the program, its config or the pack failed."""
        if self.error is not None:
            return 2
        if self.policies is not None and self.policies.blocking:
            return 1
        return 0


# ----------------------------------------------------------------------------------------------
# Facts about resources that every rendering (and the diagram) shares


def stack_urn(stack: str, project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::pulumi:pulumi:Stack::{project}-{stack}"


def display_type(type_: str) -> str:
    """The type as the CLI shows it: `aws:ec2/vpc:Vpc` -> `aws:ec2:Vpc`."""
    parts = type_.split(":")
    if len(parts) == 3 and "/" in parts[1]:
        module, _, sub = parts[1].rpartition("/")
        if sub.lower() == parts[2].lower():
            return f"{parts[0]}:{module}:{parts[2]}"
    return type_


def tier_of(snapshot: Snapshot, resource: Resource) -> str | None:
    """The tier a resource belongs to.

    The nearest component of type `ecommerce:<tier>:<Name>` (the resource itself included) names
    it; otherwise the `tier` default tag of the aws provider that serves it (or that it is).
    Provider inputs reach the engine JSON-encoded, so `defaultTags` is a JSON string.
    """
    for candidate in (resource, *snapshot.ancestors(resource)):
        parts = candidate.type.split(":")
        if parts[0] == PROJECT and len(parts) == 3:
            return parts[1]
    provider = resource if resource.type.startswith("pulumi:providers:") else _provider(snapshot, resource)
    if provider is None:
        return None
    tags = provider.inputs.get("defaultTags")
    if isinstance(tags, str):
        try:
            tags = json.loads(tags)
        except ValueError:
            return None
    if isinstance(tags, dict) and isinstance(tags.get("tags"), dict):
        tier = tags["tags"].get("tier")
        return tier if isinstance(tier, str) else None
    return None


def _provider(snapshot: Snapshot, resource: Resource) -> Resource | None:
    try:
        return snapshot.provider_of(resource)
    except LookupError:
        return None


def shown_value(value: Any) -> Any:
    """A plain value with the engine's unknown sentinel replaced by a readable marker."""
    if value == UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, dict):
        return {k: shown_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown_value(v) for v in value]
    return value


def shown_inputs(resource: Resource) -> dict[str, Any]:
    """The inputs the engine received, secrets masked and unknowns marked."""
    request = resource.request
    if request is None or not hasattr(request, "object"):
        return {key: shown_value(value) for key, value in resource.inputs.items()}
    return {key: _mask(value) for key, value in json_format.MessageToDict(request.object).items()}


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return SECRET_TEXT
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return UNKNOWN_TEXT if value == UNKNOWN else value


@dataclass(frozen=True)
class Row:
    depth: int
    prefix: str  # tree drawing before the type
    type: str
    name: str
    urn: str


def tree_rows(snapshot: Snapshot) -> list[Row]:
    """The stack and its resources, children under their parents: providers, then by type and name."""
    root = stack_urn(snapshot.stack, snapshot.project)
    known = {r.urn for r in snapshot}
    children: dict[str, list[Resource]] = {}
    for resource in snapshot:
        parent = resource.parent if resource.parent in known else root
        children.setdefault(parent, []).append(resource)

    for kids in children.values():  # registration order varies between runs under the mocks
        kids.sort(key=lambda r: (not r.type.startswith("pulumi:providers:"), display_type(r.type),
                                 r.name))
    rows = [Row(0, "", "pulumi:pulumi:Stack", f"{snapshot.project}-{snapshot.stack}", root)]

    def walk(urn: str, indent: str, depth: int) -> None:
        kids = children.get(urn, [])
        for index, kid in enumerate(kids):
            last = index == len(kids) - 1
            rows.append(Row(depth, indent + ("└─ " if last else "├─ "), display_type(kid.type),
                            kid.name, kid.urn))
            walk(kid.urn, indent + ("   " if last else "│  "), depth + 1)

    walk(root, "", 1)
    return rows


def counts_by_type(snapshot: Snapshot) -> list[tuple[str, int]]:
    counts = Counter(r.type for r in snapshot)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def counts_by_tier(snapshot: Snapshot) -> list[tuple[str, int]]:
    counts = Counter(tier_of(snapshot, r) or NO_TIER for r in snapshot)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def resource_label(snapshot: Snapshot | None, urn: str | None) -> tuple[str, str]:
    """(type, name) for a violation's URN; the stack for a stack-level policy."""
    if urn is None:
        return "pulumi:pulumi:Stack", "(stack)"
    if snapshot is not None:
        try:
            resource = snapshot.by_urn(urn)
            return resource.type, resource.name
        except LookupError:
            pass
    parts = urn.split("::")
    return (parts[2].rsplit("$", 1)[-1], parts[3]) if len(parts) >= 4 else ("", urn)


def source_of(snapshot: Snapshot | None, urn: str | None) -> SourceLocation | None:
    """The program line that registered the violation's resource (or its nearest ancestor that
    has one: a default provider has none); None for a stack-wide violation."""
    if snapshot is None or urn is None:
        return None
    try:
        resource = snapshot.by_urn(urn)
    except LookupError:
        return None
    for candidate in (resource, *snapshot.ancestors(resource)):
        if candidate.source is not None:
            return candidate.source
    return None


def violations_by_resource(result: PreviewResult) -> list[tuple[str | None, list[Violation]]]:
    """Violations grouped by resource, resources in tree order, the stack first."""
    assert result.policies is not None
    order = {row.urn: i for i, row in enumerate(tree_rows(result.snapshot))} if result.snapshot else {}
    groups: dict[str | None, list[Violation]] = {}
    for violation in result.policies.violations:
        groups.setdefault(violation.urn, []).append(violation)
    for group in groups.values():
        group.sort(key=lambda v: (v.level not in BLOCKING_LEVELS, v.policy))
    root = stack_urn(result.stack, result.snapshot.project if result.snapshot else PROJECT)
    return sorted(groups.items(), key=lambda item: order.get(item[0] or root, len(order)))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _level_counts(violations: Iterable[Violation]) -> str:
    counts = Counter(v.level for v in violations)
    return ", ".join(f"{counts[level]} {level}" for level in sorted(counts, key=_level_rank))


def _level_rank(level: str) -> tuple[int, str]:
    return (0 if level in BLOCKING_LEVELS else 1, level)


# ----------------------------------------------------------------------------------------------
# Text, shaped like `pulumi preview`


def render_text(result: PreviewResult) -> str:
    lines = [f"Previewing update ({result.stack}), offline: the program and the policy pack ran "
             "under mocks, without the Pulumi CLI or the cloud."]
    lines += [f"    - {caveat}" for caveat in CAVEATS]
    lines.append("")
    snapshot = result.snapshot
    if snapshot is not None:
        lines += _text_tree(result)
        lines.append("")
        lines += _text_deploy_order(snapshot)
        lines += _text_diagnostics(snapshot)
    lines += _text_policies(result)
    if snapshot is not None:
        lines += _text_outputs(snapshot)
        lines += _text_summary(snapshot)
    if result.cost is not None:
        lines += result.cost.text_lines()
    if result.manual_steps:
        from components.day_one import render as render_steps

        lines += ["", *render_steps(result.stack, result.manual_steps)]
    return "\n".join(lines)  # the error, if any, goes to stderr (offline.preview)


def deploy_order(snapshot: Snapshot) -> dict[str, list[Resource]]:
    """Per ECS service: the deploy-time steps (DEPLOY_STEPS) the dependency graph runs first."""
    steps = snapshot.of_type(*DEPLOY_STEPS)
    order: dict[str, list[Resource]] = {}
    for service in sorted(snapshot.of_type(SERVICE), key=lambda service: service.name):
        before = snapshot.upstream(service)
        order[service.name] = sorted((step for step in steps if step.urn in before),
                                     key=lambda step: (DEPLOY_STEPS.index(step.type), step.name))
    return order if steps else {}


def _text_deploy_order(snapshot: Snapshot) -> list[str]:
    order = deploy_order(snapshot)
    if not order:
        return []
    width = max(len(name) for name in order)
    return ["Deploy order (from the dependency graph): each service rolls after",
            *(f"    {name:<{width}}  " + (", ".join(f"{s.name} ({display_type(s.type)})"
                                                    for s in steps) or "nothing")
              for name, steps in order.items()), ""]


def _text_diagnostics(snapshot: Snapshot) -> list[str]:
    """The program's warnings, as the CLI shows them under the stack."""
    if not snapshot.warnings:
        return []
    return ["Diagnostics:", f"  pulumi:pulumi:Stack ({PROJECT}-{snapshot.stack}):",
            *(f"    warning: {warning}" for warning in snapshot.warnings), ""]


def _text_tree(result: PreviewResult) -> list[str]:
    assert result.snapshot is not None
    rows = tree_rows(result.snapshot)
    per_resource: dict[str | None, list[Violation]] = {}
    if result.policies is not None:
        for violation in result.policies.violations:
            per_resource.setdefault(violation.urn, []).append(violation)
    type_width = max(len(r.prefix + r.type) for r in rows)
    name_width = max(len(r.name) for r in rows)
    lines = [f"     {'Type':<{type_width}}  {'Name':<{name_width}}  Plan    Info"]
    for row in rows:
        found = per_resource.get(row.urn if row.depth else None, [])
        info = _level_counts(found) + (" violation" if len(found) == 1 else " violations") \
            if found else ""
        lines.append(f" +   {row.prefix + row.type:<{type_width}}  {row.name:<{name_width}}  "
                     f"create  {info}".rstrip())
    return lines


def _text_policies(result: PreviewResult) -> list[str]:
    outcome = result.policies
    if outcome is None:
        if result.policies_skipped:
            return ["Policies:", "    skipped (--no-policies)", ""]
        return []
    mark = "❌" if outcome.blocking else ("⚠️" if outcome.violations else "✅")
    head = f"    {mark} {outcome.pack}@v{outcome.version} (local: {outcome.location})"
    if outcome.violations:
        noun = "violation" if len(outcome.violations) == 1 else "violations"
        head += f": {_level_counts(outcome.violations)} {noun}"
    lines = ["Policies:", head]
    for urn, violations in violations_by_resource(result):
        type_, name = resource_label(result.snapshot, urn)
        lines.append(f"        {display_type(type_)}  {name}")
        for violation in violations:
            lines.append(f"          - [{violation.level}]  {violation.policy}")
            lines += [f"            {line}" for line in violation.message.strip().splitlines()]
    passed = outcome.passed
    lines.append(f"    passed ({len(passed)} of {len(outcome.policies)}):" + ("" if passed else " none"))
    lines += [f"        ✓ {policy.name}" for policy in passed]
    if outcome.disabled:
        lines.append("    disabled: " + ", ".join(p.name for p in outcome.disabled))
    lines.append("")
    return lines


def _text_outputs(snapshot: Snapshot) -> list[str]:
    if not snapshot.outputs:
        return []
    width = max(len(name) for name in snapshot.outputs)
    lines = ["Outputs:"]
    for name in sorted(snapshot.outputs):
        lines += _text_value(f"{name:<{width}}: ", snapshot.outputs[name], "    ")
    lines.append("")
    return lines


def _text_value(label: str, value: Any, indent: str) -> list[str]:
    if isinstance(value, list) and value:
        lines = [f"{indent}{label}["]
        for index, item in enumerate(value):
            lines += _text_value(f"[{index}]: ", item, indent + "    ")
        return [*lines, f"{indent}]"]
    if isinstance(value, dict) and value:
        width = max(len(str(k)) for k in value)
        lines = [f"{indent}{label}{{"]
        for key in sorted(value):
            lines += _text_value(f"{key:<{width}}: ", value[key], indent + "    ")
        return [*lines, f"{indent}}}"]
    shown = UNKNOWN_TEXT if value == UNKNOWN else json.dumps(value)
    return [f"{indent}{label}{shown}"]


def _text_summary(snapshot: Snapshot) -> list[str]:
    lines = ["Resources:", f"    + {len(snapshot) + 1} to create (the stack and {len(snapshot)} "
                           "resources)", ""]
    tiers = counts_by_tier(snapshot)
    tier_width = max(len(t) for t, _ in tiers)
    lines.append("By tier:")
    lines += [f"    {tier:<{tier_width}}  {count:>4}" for tier, count in tiers]
    lines.append("")
    types = counts_by_type(snapshot)
    type_width = max(len(display_type(t)) for t, _ in types)
    lines.append("By type:")
    lines += [f"    {display_type(type_):<{type_width}}  {count:>4}" for type_, count in types]
    lines.append("")
    return lines


# ----------------------------------------------------------------------------------------------
# JSON


def to_document(result: PreviewResult) -> dict[str, Any]:
    snapshot = result.snapshot
    document: dict[str, Any] = {
        "project": snapshot.project if snapshot is not None else PROJECT,
        "stack": result.stack,
        "mode": "offline-preview",
        "caveats": list(CAVEATS),
        "exitCode": result.exit_code,
        "error": result.error,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }
    if snapshot is not None:
        document["resources"] = [{
            "urn": r.urn, "type": r.type, "name": r.name, "custom": r.custom,
            "parent": r.parent, "provider": r.provider_urn, "tier": tier_of(snapshot, r),
            "plan": "create", "inputs": shown_inputs(r),
            "dependencies": list(r.dependencies),
        } for r in snapshot]
        document["outputs"] = shown_value(snapshot.outputs)
        document["warnings"] = list(snapshot.warnings)
        document["deployOrder"] = {name: [s.urn for s in steps]
                                   for name, steps in deploy_order(snapshot).items()}
        document["summary"] = {
            "create": len(snapshot) + 1,  # the resources and the stack, as the CLI counts
            "byType": dict(counts_by_type(snapshot)),
            "byTier": dict(counts_by_tier(snapshot)),
        }
    outcome = result.policies
    document["policies"] = None if outcome is None else {
        "pack": outcome.pack, "version": outcome.version, "location": outcome.location,
        "violations": [{"policy": v.policy, "level": v.level, "message": v.message, "urn": v.urn,
                        "pack": v.pack, "packVersion": v.pack_version,
                        "source": _source_document(source_of(snapshot, v.urn))}
                       for v in outcome.violations],
        "passed": [p.name for p in outcome.passed],
        "policies": [{"name": p.name, "level": p.level, "description": p.description}
                     for p in outcome.policies],
    }
    document["policiesSkipped"] = result.policies_skipped
    document["cost"] = result.cost.to_dict() if result.cost is not None else None
    document["manualSteps"] = [{"phase": s.phase.value, "heading": s.heading, "action": s.action}
                               for s in result.manual_steps]
    return document


def _source_document(source: SourceLocation | None) -> dict[str, Any] | None:
    return None if source is None else {"path": source.path, "line": source.line}


def render_json(result: PreviewResult) -> str:
    return json.dumps(to_document(result), indent=2, sort_keys=False)


# ----------------------------------------------------------------------------------------------
# Markdown: a pull-request comment body

MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters


def render_markdown(result: PreviewResult, *, source_url: str | None = None) -> str:
    """The comment body; `source_url` (e.g. `https://github.com/o/r/blob/<sha>/`) links each
    violation to the line of the program that registered its resource."""
    outcome = result.policies
    if result.error is not None:
        status = "❌ the preview failed"
    elif outcome is not None and outcome.blocking:
        status = f"❌ {_plural(len(outcome.blocking), 'mandatory policy violation')}"
    elif outcome is not None and outcome.violations:
        status = f"⚠️ {_plural(len(outcome.violations), 'advisory policy violation')}"
    elif outcome is None:
        status = "⚠️ policies not run"
    else:
        status = "✅ policies passed"
    parts = [f"### Offline preview of `{result.stack}`: {status}", "",
             "> **Offline** (`make preview`): the program and the policy pack ran under mocks, "
             "without the Pulumi CLI or the cloud:",
             *(f"> - {caveat}" for caveat in CAVEATS), ""]
    if result.error is not None:
        parts += ["```text", f"error: {result.error}", "```", ""]
    parts += _markdown_violations(result, source_url)
    if result.snapshot is not None and result.snapshot.warnings:
        parts += ["#### Warnings", "", *(f"- {_cell(w)}" for w in result.snapshot.warnings), ""]
    parts += _markdown_summary(result)
    if result.cost is not None:
        parts += result.cost.markdown_lines()
    if result.manual_steps:
        parts += ["#### Manual steps still open ([docs/day-one.md](docs/day-one.md))", "",
                  *(f"{n}. {s.phase.value}: **{s.heading}**: `{s.action}`"
                    for n, s in enumerate(result.manual_steps, start=1)), ""]
    body = "\n".join(parts)
    details = _markdown_details(result, tree=True)
    if len(body) + len(details) > MARKDOWN_LIMIT:  # a very large stack: drop the tree, not the rest
        details = ("\n_The resource tree is too long for a comment: see the job's `--json-file` "
                   "artifact or run `make preview`._\n" + _markdown_details(result, tree=False))
    return body + details


def _cell(text: str) -> str:
    return text.strip().replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def _markdown_source(source: SourceLocation | None, source_url: str | None) -> str:
    if source is None:
        return ""
    if source_url is None:
        return f"`{source}`"
    return f"[`{source}`]({source_url.rstrip('/')}/{source.path}#L{source.line})"


def _markdown_violations(result: PreviewResult, source_url: str | None = None) -> list[str]:
    outcome = result.policies
    if outcome is None or not outcome.violations:
        return []
    lines = [f"#### Policy violations ({outcome.pack}@v{outcome.version})", "",
             "| Level | Policy | Resource | Source | Message |", "|---|---|---|---|---|"]
    for urn, violations in violations_by_resource(result):
        type_, name = resource_label(result.snapshot, urn)
        where = _markdown_source(source_of(result.snapshot, urn), source_url)
        for violation in violations:
            level = f"**{violation.level}**" if violation.level in BLOCKING_LEVELS else violation.level
            lines.append(f"| {level} | `{violation.policy}` | `{name}` ({display_type(type_)}) | "
                         f"{where} | {_cell(violation.detail)} |")
    lines.append("")
    return lines


def _markdown_summary(result: PreviewResult) -> list[str]:
    snapshot = result.snapshot
    outcome = result.policies
    lines = ["| | |", "|---|---|"]
    if snapshot is not None:
        lines.append(f"| Resources to create | {len(snapshot) + 1} |")
        tiers = ", ".join(f"{tier} {count}" for tier, count in counts_by_tier(snapshot))
        lines.append(f"| By tier | {tiers} |")
    if outcome is not None:
        verdict = _level_counts(outcome.violations) or "no violations"
        lines.append(f"| Policy pack | `{outcome.pack}@v{outcome.version}`: "
                     f"{len(outcome.passed)} of {len(outcome.policies)} policies passed; {verdict} |")
    elif result.policies_skipped:
        lines.append("| Policy pack | skipped (`--no-policies`) |")
    if snapshot is not None and snapshot.outputs:
        unknown = [k for k, v in snapshot.outputs.items() if UNKNOWN in json.dumps(v)]
        lines.append(f"| Outputs | {len(snapshot.outputs)}"
                     + (f", {len(unknown)} unknown until deployed" if unknown else "") + " |")
    lines.append("")
    return lines if len(lines) > 3 else []


def _markdown_details(result: PreviewResult, *, tree: bool) -> str:
    snapshot = result.snapshot
    if snapshot is None:
        return ""
    parts = [""]
    if tree:
        parts += [f"<details><summary>Resources ({len(snapshot) + 1})</summary>", "", "```text",
                  *_text_tree(result), "```", "", "</details>", ""]
    parts += ["<details><summary>By type</summary>", "", "| Type | Count |", "|---|---:|"]
    parts += [f"| `{display_type(t)}` | {n} |" for t, n in counts_by_type(snapshot)]
    parts += ["", "</details>", ""]
    outcome = result.policies
    if outcome is not None and outcome.passed:
        parts += [f"<details><summary>Policies passed ({len(outcome.passed)})</summary>", ""]
        parts += [f"- `{p.name}` ({p.level}): {_cell(p.description)}" for p in outcome.passed]
        parts += ["", "</details>", ""]
    return "\n".join(parts)

