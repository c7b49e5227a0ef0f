"""Cost, advisory by default (raise it to mandatory to block): a stack whose monthly estimate exceeds
its budget is flagged with its top cost drivers. The estimate (`cost.py`) prices the stack's
resources with the dated on-demand table `prices.json` and the usage its stack config states.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from . import cost
from .common import ADVISORY, Report, StackGraph, message, number, stack_config, stack_policy

TAGS = ["case-study", "cost"]
DEFAULT_BUDGET_USD = 6000  # above the prod estimate single-Region (docs/cost.md); the second Region is not


def _check_budget(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    budget = number(config["monthlyBudgetUsd"])
    if budget is None:
        return
    project = os.environ.get("PULUMI_PROJECT") or "ecommerce"
    fallback_rps = number(config["assumedRequestsPerSecond"]) or 0.0
    estimate = cost.estimate(graph, config=stack_config(), project=project, fallback_rps=fallback_rps)
    if estimate.total <= budget:
        return
    count = int(number(config["topCostDrivers"]) or 5)
    drivers = ", ".join(f"{d.name} ({cost.short_type(d.type)}, {d.region}) {cost.money(d.monthly)}"
                        for d in estimate.top(count))
    usage = estimate.usage
    unpriced = (f"; {len(estimate.unpriced)} resources could not be priced, so it is a lower bound"
                if estimate.unpriced else "")
    report(message(None, f"the stack's estimated cost is {cost.money(estimate.total)}/month (on-demand "
                         f"list prices as of {estimate.prices.as_of_text}; {usage.origin_requests:,.0f} "
                         f"origin requests/month from stack config{unpriced}), above the monthly budget "
                         f"of {cost.money(budget)}; top cost drivers: {drivers}",
                   "resize or remove the drivers (instance classes, node and task counts, a second "
                   "Region, sampling and log volumes), or, if the spend is intended, raise monthlyBudgetUsd "
                   "in the stack-monthly-budget policy config; `make preview` shows the estimate per tier "
                   "and Region (docs/cost.md)"), None)


stack_monthly_budget = stack_policy(
    name="stack-monthly-budget",
    description="A stack's estimated monthly cost (on-demand list prices, stated usage) stays within its "
                "budget.",
    level=ADVISORY, severity=Severity.MEDIUM, check=_check_budget,
    remediation="Resize the top cost drivers, or raise monthlyBudgetUsd when the spend is intended.",
    config={"monthlyBudgetUsd": {"type": "number", "minimum": 0, "default": DEFAULT_BUDGET_USD,
                                 "description": "The stack's monthly budget in USD (on-demand, before "
                                                "tax, credits and discounts)."},
            "topCostDrivers": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5,
                               "description": "How many of the most expensive resources the message "
                                              "names."},
            "assumedRequestsPerSecond": {"type": "number", "minimum": 0, "default": 10,
                                         "description": "Average origin requests/s assumed when the "
                                                        "stack config names no services with "
                                                        "baselineRps."}},
    tags=TAGS)


POLICIES = [stack_monthly_budget]
