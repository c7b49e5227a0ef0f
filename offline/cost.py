"""The monthly cost estimate of a recorded snapshot, and what the second Region multiplies it by.

The estimator, its dated price table and its rendering live in the policy pack
(`policies/guardrails/cost/`), so the pack's `stack-monthly-budget` policy and `make preview` price
the same resources the same way. This module feeds it a snapshot (the resources as the engine hands
them to a stack policy: outputs, parents, providers, property dependencies, tags) and runs the
program a second time for the multi-Region comparison.

    from offline.cost import estimate_snapshot, compare_multi_region
    estimate = estimate_snapshot(snapshot)            # per tier, per Region, total, top drivers
    comparison = compare_multi_region("prod")         # the same stack with multiRegion off and on
    comparison.multiplier                             # on / off
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from offline.engine import PROJECT, PROJECT_DIR, ProgramError, Resource, Snapshot, run_program, stack_config
from policies.guardrails.budget import monthly_budget, stack_monthly_budget, usage_model
from policies.guardrails.common import Res, number, plain
from policies.guardrails.cost import Comparison, Estimate, PriceTable, UsageDefaults, estimate, money
from policies.guardrails.cost.report import document, markdown_lines, text_lines
from policies.guardrails.cost.usage import REQUESTS_PER_SECOND_TAG

# What turns the second Region on for a comparison run, unless the stack already sets it.
MULTI_REGION_OVERRIDES: Mapping[str, str] = {
    f"{PROJECT}:multiRegion": "true",
    f"{PROJECT}:secondaryRegion": "eu-central-1",
    f"{PROJECT}:multiRegionTrigger": "region-outage-cost-case",
    f"{PROJECT}:multiRegionTriggerReference": "cost estimate: what the second Region would cost",
    f"{PROJECT}:hostedZoneId": "Z0123456789ABCDEFGHIJ",
    f"{PROJECT}:secondaryOriginCertificateArn":
        "arn:aws:acm:eu-central-1:123456789012:certificate/00000000-0000-4000-8000-000000000000",
}


def resources_of(snapshot: Snapshot) -> list[Res]:
    """The snapshot's resources as a stack policy sees them (unknowns marked, provider inputs)."""
    by_urn = {r.urn: r for r in snapshot}
    default_provider = {"region": snapshot.config.get("aws:region", "us-east-1")}
    converted = []
    for resource in snapshot:
        provider_urn = resource.provider_urn
        provider = by_urn.get(provider_urn) if provider_urn else None
        converted.append(Res(
            type=resource.type, name=resource.name, urn=resource.urn,
            props=plain(_props(resource)),
            provider=plain(provider.inputs) if provider is not None else dict(default_provider),
            parent=resource.parent, dependencies=resource.dependencies,
            property_dependencies=dict(resource.property_dependencies)))
    return converted


def _props(resource: Resource) -> dict[str, Any]:
    """What AnalyzeStack sends: the outputs (every input, plus what the provider computed)."""
    return {**resource.inputs, **resource.outputs} if resource.custom else dict(resource.inputs)


def with_traffic(resources: Sequence[Res], factor: float) -> list[Res]:
    """The same resources stating `factor` times their traffic: what the program registers with
    `usageTrafficPercent` multiplied by `factor`, since that key only scales the
    `usage:requests-per-second` tag it writes on each service (components/usage.py)."""

    def scaled(tags: Any) -> Any:
        value = number(tags.get(REQUESTS_PER_SECOND_TAG)) if isinstance(tags, Mapping) else None
        return tags if value is None else {**tags, REQUESTS_PER_SECOND_TAG: f"{value * factor:g}"}

    return [replace(r, props={**r.props, **{key: scaled(r.props[key]) for key in ("tags", "tagsAll")
                                            if key in r.props}}) for r in resources]


def estimate_snapshot(snapshot: Snapshot, prices: PriceTable | None = None, *,
                      usage: UsageDefaults | None = None, traffic: float = 1.0) -> Estimate:
    """The snapshot's estimate; `usage`: another usage model (the budget policy's config sets it),
    `traffic`: the snapshot's stated traffic multiplied by this factor (`with_traffic`)."""
    resources = resources_of(snapshot)
    if traffic != 1.0:
        resources = with_traffic(resources, traffic)
    return estimate(resources, region=snapshot.config.get("aws:region"), project=PROJECT,
                    prices=prices, usage=usage)


def multi_region_enabled(snapshot: Snapshot) -> bool:
    return snapshot.config.get(f"{PROJECT}:multiRegion") == "true"


def multi_region_overrides(stack: str, overrides: Mapping[str, Any] | None = None,
                           project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The config overrides that run `stack` with its second Region on: MULTI_REGION_OVERRIDES,
    where neither the stack's own settings (e.g. its secondaryRegion) nor `overrides` say otherwise."""
    stack_values, _secrets = stack_config(stack, project_dir)
    own = {k: v for k, v in stack_values.items() if k in MULTI_REGION_OVERRIDES and v and v != "false"}
    return {**MULTI_REGION_OVERRIDES, **own, **(overrides or {}), f"{PROJECT}:multiRegion": "true"}


def compare_multi_region(stack: str, *, preview: bool = True,
                         overrides: Mapping[str, Any] | None = None, known: Snapshot | None = None,
                         project_dir: Path = PROJECT_DIR, usage: UsageDefaults | None = None) -> Comparison:
    """Estimate `stack` with multiRegion off and on (`known`: an already recorded run of either).

    Keys the stack or `overrides` already set (e.g. its secondaryRegion) win over the defaults
    that turn the second Region on; `usage`: the usage model (UsageDefaults' by default). Raises
    ProgramError when a run fails.
    """
    runs = {"false": {**(overrides or {}), f"{PROJECT}:multiRegion": "false"},
            "true": multi_region_overrides(stack, overrides, project_dir)}
    snapshots = {}
    for switch, switch_overrides in runs.items():
        if known is not None and (known.config.get(f"{PROJECT}:multiRegion") == "true") == (switch == "true"):
            snapshots[switch] = known
        else:
            snapshots[switch] = run_program(stack, preview=preview, overrides=switch_overrides,
                                            program=project_dir / "__main__.py", project_dir=project_dir)
    on = snapshots["true"]
    return Comparison(off=estimate_snapshot(snapshots["false"], usage=usage),
                      on=estimate_snapshot(on, usage=usage),
                      secondary_region=on.config.get(f"{PROJECT}:secondaryRegion", ""))


BUDGET_POLICY = stack_monthly_budget.name


@dataclass(frozen=True)
class BudgetSetting:
    """What the budget policy enforces under a policy config: its budget (None when the config
    disables the policy or sets no budget) and the usage model its estimate prices."""

    monthly_usd: float | None
    usage: UsageDefaults


def budget_setting(policy_config: Mapping[str, Any] | None = None) -> BudgetSetting:
    """`stack-monthly-budget`'s setting under `policy_config` (the `--policy-pack-config` shape:
    policy name -> level, or object of properties and `enforcementLevel`; `all` sets every level),
    its properties over the policy's own defaults, as the pack applies them."""
    config = policy_config or {}

    def level_and_properties(entry: Any) -> tuple[Any, dict[str, Any]]:
        if isinstance(entry, Mapping):
            return entry.get("enforcementLevel"), {k: v for k, v in entry.items() if k != "enforcementLevel"}
        return entry, {}

    level, properties = level_and_properties(config.get(BUDGET_POLICY))
    level = level or level_and_properties(config.get("all"))[0]
    budget = None if level == "disabled" else monthly_budget(properties)
    return BudgetSetting(budget, usage_model(properties))


@dataclass(frozen=True)
class CostReport:
    """What `make preview` shows about cost: the estimate, the budget the budget policy enforces
    and, when run, the multi-Region comparison."""

    estimate: Estimate | None
    comparison: Comparison | None = None
    error: str | None = None  # why there is no estimate, or no comparison
    budget: float | None = None  # stack-monthly-budget's, under the preview's policy config

    def text_lines(self) -> list[str]:
        if self.estimate is None:
            return [f"Estimated monthly cost: not available ({self.error})", ""]
        first, *rest = text_lines(self.estimate, self.comparison, self.error)
        return [first, f"  {self._budget_text()}", *rest]

    def to_dict(self) -> dict[str, Any] | None:
        if self.estimate is None:
            return {"error": self.error}
        result = document(self.estimate, self.comparison, self.error)
        result["budget"] = None if self.budget is None else {
            "policy": BUDGET_POLICY, "monthlyUsd": self.budget,
            "share": round(self.estimate.total / self.budget, 3) if self.budget else None}
        return result

    def markdown_lines(self) -> list[str]:
        if self.estimate is None:
            return [f"Estimated monthly cost: not available ({self.error}).", ""]
        header, blank, *rest = markdown_lines(self.estimate, self.comparison, self.error)
        return [header, blank, f"{self._budget_text().capitalize()}.", "", *rest]

    def _budget_text(self) -> str:
        if self.budget is None:
            return f"budget: none ({BUDGET_POLICY} is disabled or sets none)"
        assert self.estimate is not None
        total, budget = self.estimate.total, self.budget
        verdict = (f"{money(budget - total)} of headroom" if total <= budget
                   else f"{money(total - budget)} over it, which {BUDGET_POLICY} reports")
        return f"budget: {money(budget)}/month ({BUDGET_POLICY}), {verdict}"


NOT_COMPARED = "run `make preview ARGS=--cost-compare` to estimate this stack with the second Region on"


def cost_report(snapshot: Snapshot, *, compare: bool = False, project_dir: Path = PROJECT_DIR,
                overrides: Mapping[str, Any] | None = None,
                policy_config: Mapping[str, Any] | None = None) -> CostReport:
    """The estimate of `snapshot` and, with `compare`, the same stack with the second Region flipped,
    priced with the usage model of the budget policy under `policy_config`, and that policy's budget:
    the figures the policy enforces."""
    budget = budget_setting(policy_config)
    try:
        estimate_ = estimate_snapshot(snapshot, usage=budget.usage)
    except Exception as error:  # the preview still shows the plan and the policies
        return CostReport(None, error=f"the estimator failed: {type(error).__name__}: {error}")
    if not compare:
        return CostReport(estimate_, error=None if multi_region_enabled(snapshot) else NOT_COMPARED,
                          budget=budget.monthly_usd)
    try:
        comparison = compare_multi_region(snapshot.stack, preview=snapshot.preview, known=snapshot,
                                          overrides=overrides, project_dir=project_dir, usage=budget.usage)
    except ProgramError as error:
        return CostReport(estimate_, error=f"the comparison run failed: {error}", budget=budget.monthly_usd)
    return CostReport(estimate_, comparison, budget=budget.monthly_usd)
