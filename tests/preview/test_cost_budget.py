"""`make preview`'s cost report shows the budget and the estimate that `stack-monthly-budget` enforces
under the same policy config (`--policy-config`), not figures of its own."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from offline.analyzer import PolicyPackProcess
from offline.cost import BUDGET_POLICY, budget_setting, estimate_snapshot
from offline.engine import Snapshot
from offline.preview import preview_of
from offline.render import render_json, render_markdown, render_text
from policies.guardrails.budget import DEFAULT_BUDGET_USD
from policies.guardrails.cost import money


def test_the_budget_and_the_estimate_shown_are_the_ones_the_policy_enforces(prod_preview: Snapshot) -> None:
    # GIVEN a policy config with a budget below prod's estimate and a usage model of its own
    config = {BUDGET_POLICY: {"monthlyBudgetUsd": 1000, "responseKb": 48}}

    # WHEN the pack runs the budget policy under it, and the preview renders its cost report
    with PolicyPackProcess.for_snapshot(prod_preview, policy_config=config) as pack:
        enforced = pack.applied_config[BUDGET_POLICY][1]["monthlyBudgetUsd"]
        report = pack.analyze(prod_preview)
    result = preview_of(prod_preview, policies=False, policy_config=config)
    assert result.cost is not None and result.cost.estimate is not None
    total = result.cost.estimate.total

    # THEN the preview shows the budget the pack applied, in text, JSON and Markdown
    assert enforced == 1000
    text, markdown = render_text(result), render_markdown(result)
    shown = f"budget: {money(enforced)}/month ({BUDGET_POLICY}), {money(total - enforced)} over it"
    assert shown in text and shown.capitalize() in markdown
    assert json.loads(render_json(result))["cost"]["budget"] == {
        "policy": BUDGET_POLICY, "monthlyUsd": enforced, "share": round(total / enforced, 3)}
    # AND the estimate it shows is the one the policy compared with that budget (its usage model,
    # not the defaults: those price prod differently)
    [violation] = [v for v in report.violations if v.policy == BUDGET_POLICY]
    match = re.search(r"estimated cost is (\$[\d,]+)/month", violation.message)
    assert match is not None and match.group(1) == money(total)
    assert money(total) in text
    assert money(estimate_snapshot(prod_preview).total) != money(total)


def test_without_a_policy_config_the_policy_s_default_budget_is_shown(prod_preview: Snapshot) -> None:
    # GIVEN no policy config WHEN the preview renders its cost report
    result = preview_of(prod_preview, policies=False)
    assert result.cost is not None and result.cost.estimate is not None

    # THEN it shows the policy's default budget and the headroom under it
    headroom = DEFAULT_BUDGET_USD - result.cost.estimate.total
    assert headroom > 0
    assert (f"budget: {money(DEFAULT_BUDGET_USD)}/month ({BUDGET_POLICY}), {money(headroom)} of headroom"
            in render_text(result))


@pytest.mark.parametrize(("config", "budget"), [
    ({}, DEFAULT_BUDGET_USD),
    ({BUDGET_POLICY: "mandatory"}, DEFAULT_BUDGET_USD),
    ({BUDGET_POLICY: {"enforcementLevel": "mandatory", "monthlyBudgetUsd": 250.5}}, 250.5),
    ({BUDGET_POLICY: "disabled"}, None),
    ({BUDGET_POLICY: {"enforcementLevel": "disabled", "monthlyBudgetUsd": 250}}, None),
    ({"all": "disabled"}, None),
    ({"all": "disabled", BUDGET_POLICY: {"enforcementLevel": "advisory"}}, DEFAULT_BUDGET_USD),
    ({"all": {"enforcementLevel": "mandatory"}, BUDGET_POLICY: {"monthlyBudgetUsd": 10}}, 10),
])
def test_the_budget_follows_the_policy_config_as_the_pack_layers_it(config: dict[str, Any],
                                                                     budget: float | None) -> None:
    # A disabled policy enforces no budget; `all` sets every policy's level unless the policy's own
    # entry sets one (offline/analyzer.py reconciles them so, as the CLI does)
    assert budget_setting(config).monthly_usd == budget
