"""Cost, advisory by default (raise it to mandatory to block): a stack whose monthly estimate exceeds
its budget is flagged with its top cost drivers. The estimate (the `cost` package) prices the
stack's resources with the dated on-demand table `prices.json`, the usage the resources state
(`usage:*` tags) and, for the rest, the usage model this policy's config sets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pulumi_policy import Severity

from . import cost
from .common import ADVISORY, Report, StackGraph, message, number, stack_config, stack_policy
from .cost import UsageDefaults

TAGS = ["case-study", "cost"]
DEFAULT_BUDGET_USD = 6000  # above the prod estimate single-Region (docs/cost.md); the second Region is not


def monthly_budget(config: Mapping[str, Any]) -> float | None:
    """The budget this policy's config sets (its properties; the default where it sets none)."""
    return number(config.get("monthlyBudgetUsd", DEFAULT_BUDGET_USD))


def _check_budget(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    budget = monthly_budget(config)
    if budget is None:
        return
    project = os.environ.get("PULUMI_PROJECT") or "ecommerce"
    estimate = cost.estimate(graph, region=stack_config().get("aws:region"), project=project,
                             usage=usage_model(config))
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
                         f"origin requests/month as the stack states them{unpriced}), above the monthly "
                         f"budget of {cost.money(budget)}; top cost drivers: {drivers}",
                   "resize or remove the drivers (instance classes, node and task counts, a second "
                   "Region, sampling and log volumes), or, if the spend is intended, raise monthlyBudgetUsd "
                   "in the stack-monthly-budget policy config; `make preview` shows the estimate per tier "
                   "and Region (docs/cost.md)"), None)


_DEFAULTS = UsageDefaults()
_USAGE_MODEL: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    # policy config key, UsageDefaults field, JSON schema type and bounds, description
    ("assumedRequestsPerSecond", "requests_per_second", {"type": "number", "minimum": 0},
     "Average origin requests/s of a stack none of whose ECS services states its traffic (tag "
     "usage:requests-per-second)."),
    ("edgeCacheHitPercent", "edge_cache_hit_percent", {"type": "integer", "minimum": 0, "maximum": 95},
     "Share of CloudFront requests answered from the edge cache, in percent."),
    ("responseKb", "response_kb", {"type": "integer", "minimum": 1},
     "Average response to a viewer, in KB (CloudFront transfer, ALB capacity units)."),
    ("requestsPerOrder", "requests_per_order", {"type": "integer", "minimum": 1},
     "Origin requests per order placed (orders drive events, messages, mails, writes)."),
    ("logKbPerRequest", "log_kb_per_request", {"type": "integer", "minimum": 0, "maximum": 1024},
     "Application log written per origin request, in KB."),
    ("assumedDatabaseGb", "database_gb", {"type": "integer", "minimum": 0},
     "GB in a database cluster that does not state it (tag usage:stored-gb)."),
    ("assumedStaticAssetsGb", "static_assets_gb", {"type": "integer", "minimum": 0},
     "GB of static assets in a bucket that does not state it (tag usage:stored-gb)."),
)
"""The estimator's usage model as this policy's config: the defaults are UsageDefaults' (one place)."""
_USAGE_CONFIG = {key: {**schema, "default": getattr(_DEFAULTS, field), "description": text}
                 for key, field, schema, text in _USAGE_MODEL}


def usage_model(config: Mapping[str, Any]) -> UsageDefaults:
    """The estimator's usage model this policy's config sets (UsageDefaults where it sets none)."""
    values: dict[str, Any] = {}
    for key, field, schema, _text in _USAGE_MODEL:
        value = number(config.get(key))
        if value is not None:
            values[field] = int(value) if schema["type"] == "integer" else value
    return replace(_DEFAULTS, **values)


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
            **_USAGE_CONFIG},
    tags=TAGS)


POLICIES = [stack_monthly_budget]
