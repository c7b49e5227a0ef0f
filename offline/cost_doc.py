"""The figures of docs/cost.md and docs/multi-region.md, generated from the cost estimator itself.

    python -m offline.cost_doc           # rewrite them (also `make docs`)
    python -m offline.cost_doc --check   # exit 1 when a figure no longer is what the estimator gives

The prose is written by hand; every figure the estimator produces sits between two markers that name
it, inline in a sentence or as a table on lines of its own, and this module rewrites what is between
them:

    prod costs <!--cost:prod.total-->$4,262<!--/cost--> a month

`tests/policies/cost/test_cost_doc.py` fails when a figure is stale, when a marker names no figure,
and when a dollar amount or a multiplier is written outside a marker.

Each figure comes from the program run under the mock engine (as `make preview` runs it) and priced
by the policy pack's estimator (policies/guardrails/cost/, through offline/cost.py), in one of two
modes, and the docs say which:
- preview: what `pulumi preview`, `make preview` and the budget policy at preview see; the values a
  provider computes are unknown, among them the web tier's trace sampler (X-Ray is priced as if
  every request were traced);
- update: every value known, as the pack sees the stack again at the end of `pulumi up` (the
  mocks compute the values).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from components.web import TRACE_SAMPLE_RATIO
from offline.cost import estimate_snapshot, multi_region_overrides
from offline.engine import PROJECT, PROJECT_DIR, Snapshot, run_program
from policies.guardrails.budget import DEFAULT_BUDGET_USD
from policies.guardrails.cost import GLOBAL, Estimate, Line, PriceTable, UsageDefaults, money, short_type
from policies.guardrails.cost.usage import EMAILS_PER_ORDER, EVENTS_PER_ORDER

COMMAND = "python -m offline.cost_doc"
DOCS = (PROJECT_DIR / "docs" / "cost.md", PROJECT_DIR / "docs" / "multi-region.md")
MARKER = re.compile(r"<!--cost:(?P<name>[^>]*?)-->(?P<body>.*?)<!--/cost-->", re.S)
PROD, STAGING = "prod", "staging"

TOP_DRIVERS = 6              # rows of prod's top cost drivers
CHARGES_PER_DRIVER = 2       # the largest charges shown beside each
STAGING_DRIVERS = 5
POLICY_DRIVERS = 5           # what stack-monthly-budget names by default (its topCostDrivers)
SMALLEST_ADDITION = 1.0      # USD a month: smaller changes of the second Region are summed in one row
TRAFFIC_FACTORS = (0.25, 0.5, 2.0)       # the multiplier's sensitivity to traffic ...
RESPONSE_KB = (12, 48)                   # ... and to the average response
GROWTH_LIMIT = 10.0          # usageTrafficPercent allows up to 1000%: growth is searched up to 10x
TRACED_PREFIX = "X-Ray"      # the ECS services' trace charges (cost/pricers/compute.py)
SHARED_EDGE = ("aws:cloudfront/", "aws:wafv2/")
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
SEARCH = "aws:opensearch/domain:Domain"
CONSUMER = "ecommerce:events:QueueConsumer"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
DATABASE_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
REPLICATION_TYPES = ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",
                     "aws:route53/healthCheck:HealthCheck")
REPLICATION_WORDS = ("replicat", "other region")
"""What replication adds: S3 replication, the latency records' health checks, and the charges that
name it (Aurora's replicated write I/Os and transfer, DynamoDB's replicated writes and transfer)."""


class CostDocError(Exception):
    """A doc's markers are wrong (an unknown figure's name); `str()` says which and where."""


@dataclass(frozen=True)
class Runs:
    """The recorded runs the figures come from (the tests pass the snapshots they already have)."""

    prod: Snapshot
    prod_preview: Snapshot
    staging: Snapshot
    staging_preview: Snapshot
    multi_region: Snapshot           # prod with the second Region on (multi_region_overrides)
    multi_region_preview: Snapshot

    @classmethod
    def record(cls) -> Runs:
        on = multi_region_overrides(PROD)
        return cls(prod=run_program(PROD), prod_preview=run_program(PROD, preview=True),
                   staging=run_program(STAGING), staging_preview=run_program(STAGING, preview=True),
                   multi_region=run_program(PROD, overrides=on),
                   multi_region_preview=run_program(PROD, preview=True, overrides=on))


@dataclass(frozen=True)
class Priced:
    """Each run's estimate, priced once."""

    prod: Estimate
    prod_preview: Estimate
    staging: Estimate
    staging_preview: Estimate
    on: Estimate                     # prod with the second Region on
    on_preview: Estimate

    @classmethod
    def of(cls, runs: Runs) -> Priced:
        return cls(prod=estimate_snapshot(runs.prod), prod_preview=estimate_snapshot(runs.prod_preview),
                   staging=estimate_snapshot(runs.staging),
                   staging_preview=estimate_snapshot(runs.staging_preview),
                   on=estimate_snapshot(runs.multi_region),
                   on_preview=estimate_snapshot(runs.multi_region_preview))


# ----------------------------------------------------------------------------------------------
# Formatting


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> str:
    """A Markdown table; `align`: `l` or `r` per column, the first left and the rest (figures) right
    unless it says otherwise."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "".join("---:|" if a == "r" else "---|" for a in align)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _count(value: float) -> str:
    """426 M, 532 k, 203: three significant figures."""
    if value >= 1e6:
        return f"{value / 1e6:.3g} M"
    if value >= 1e3:
        return f"{value / 1e3:.3g} k"
    return f"{value:,.0f}"


def _quantity(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:g}"


def _percent(part: float, whole: float) -> str:
    return f"{part / whole:.0%}"


def _multiplier(off: Estimate, on: Estimate) -> str:
    return f"x{on.total / off.total:.2f}"


def _label(region: str) -> str:
    return "global (edge)" if region == GLOBAL else region


def _regions(primary: str, *estimates: Estimate) -> list[str]:
    """The primary Region first, then the others, then the global column."""
    found = {line.region for estimate in estimates for line in estimate.lines}
    return [primary, *sorted(found - {primary, GLOBAL}), *([GLOBAL] if GLOBAL in found else [])]


def _sum(estimate: Estimate, keep: Callable[[Line], bool]) -> float:
    return sum(line.monthly for line in estimate.lines if keep(line))


def _of_type(type_: str) -> Callable[[Line], bool]:
    return lambda line: line.type == type_


def is_traced(line: Line) -> bool:
    return line.item.startswith(TRACED_PREFIX) and line.type == "aws:ecs/service:Service"


def _shared_edge(line: Line) -> bool:
    return line.region == GLOBAL and line.type.startswith(SHARED_EDGE)


def is_replication(line: Line) -> bool:
    return line.type in REPLICATION_TYPES or any(word in line.item.lower() for word in REPLICATION_WORDS)


# ----------------------------------------------------------------------------------------------
# The figures


def _tier_table(update: Estimate, preview: Estimate, primary: str) -> str:
    """Per tier and Region in update mode, and each tier's total at preview."""
    regions = _regions(primary, update)
    cells = update.by_tier_and_region()
    at_preview = preview.by_tier()
    rows = [[tier, *(money(cells[tier][r]) if r in cells[tier] else "-" for r in regions),
             money(total), money(at_preview.get(tier, 0.0))] for tier, total in update.by_tier().items()]
    by_region = update.by_region()
    rows.append(["**total**", *(f"**{money(by_region.get(r, 0.0))}**" for r in regions),
                 f"**{money(update.total)}**", f"**{money(preview.total)}**"])
    return _table(["tier", *map(_label, regions), "total", "at preview"], rows)


def _on_table(on: Estimate, primary: str) -> str:
    regions = _regions(primary, on)
    cells = on.by_tier_and_region()
    rows = [[tier, *(money(cells[tier][r]) if r in cells[tier] else "-" for r in regions), money(total)]
            for tier, total in on.by_tier().items()]
    by_region = on.by_region()
    rows.append(["**total**", *(f"**{money(by_region.get(r, 0.0))}**" for r in regions),
                 f"**{money(on.total)}**"])
    return _table(["tier", *map(_label, regions), "total"], rows)


def _top_table(estimate: Estimate) -> str:
    rows = []
    for driver in estimate.top(TOP_DRIVERS):
        charges = sorted((line for line in estimate.lines if line.urn == driver.urn),
                         key=lambda charge: -charge.monthly)
        largest = "; ".join(f"{c.item}: {_quantity(c.quantity)}, {money(c.monthly)}"
                            for c in charges[:CHARGES_PER_DRIVER])
        rows.append([f"`{driver.name}`", short_type(driver.type), _label(driver.region),
                     money(driver.monthly), largest])
    return _table(["resource", "type", "Region", "per month", "its largest charges"], rows, "lllrl")


def _web_table(update: Estimate, preview: Estimate) -> str:
    def web(estimate: Estimate) -> dict[str, float]:
        sums: dict[str, float] = {}
        for line in estimate.lines:
            if line.tier == "web":
                sums[line.type] = sums.get(line.type, 0.0) + line.monthly
        return sums

    at_update, at_preview = web(update), web(preview)
    rows = [[short_type(t), money(v), money(at_preview.get(t, 0.0))]
            for t, v in sorted(at_update.items(), key=lambda item: (-item[1], item[0]))]
    rows.append(["**web tier**", f"**{money(sum(at_update.values()))}**",
                 f"**{money(sum(at_preview.values()))}**"])
    return _table(["resource type", "update", "preview"], rows)


def _usage_table(snapshot: Snapshot, estimate: Estimate) -> str:
    usage = estimate.usage
    busiest = sorted(usage.services, key=lambda s: (-s.rps, s.name))
    services = ", ".join(f"{s.name} {s.rps:g}" for s in busiest)
    percent = snapshot.config.get(f"{PROJECT}:usageTrafficPercent", "100")
    rows = [
        ["origin requests", f"{_count(usage.origin_requests)} ({usage.origin_rps:g} req/s)",
         f"the services' `usage:requests-per-second` ({services}: `baselineRps` x "
         f"`usageTrafficPercent` {percent}%)"],
        ["edge requests", _count(usage.edge_requests),
         f"origin / (1 - `edgeCacheHitPercent` {usage.edge_cache_hit_percent}%)"],
        ["GB to the internet", f"{usage.egress_gb:,.0f}",
         f"edge requests x `responseKb` ({usage.response_kb})"],
        ["orders", _count(usage.orders),
         f"origin requests / `requestsPerOrder` ({usage.requests_per_order})"],
        ["events, emails", f"{_count(usage.events)}, {_count(usage.emails)}",
         f"{EVENTS_PER_ORDER} and {EMAILS_PER_ORDER} per order"],
        ["application logs", f"{usage.app_log_gb:,.0f} GB",
         f"origin requests x `logKbPerRequest` ({usage.log_kb_per_request})"],
        ["stored", f"Aurora {usage.database_gb} GB, static assets {usage.static_assets_gb} GB",
         "`usage:stored-gb` (`usageDatabaseGb`, `usageStaticAssetsGb`)"],
    ]
    return _table([f"{snapshot.stack}, per month", "value", "from"], rows, "lrl")


def _consumers_table(snapshot: Snapshot, estimate: Estimate) -> str:
    """Each event consumer (queue, DLQ, rule, function, logs, alarms) and the event types it takes."""
    children: dict[str, list[str]] = {}
    for resource in snapshot:
        if resource.parent:
            children.setdefault(resource.parent, []).append(resource.urn)

    def descendants(urn: str) -> set[str]:
        found = set(children.get(urn, ()))
        for child in list(found):
            found |= descendants(child)
        return found

    monthly: dict[str, float] = {}
    for line in estimate.lines:
        monthly[line.urn] = monthly.get(line.urn, 0.0) + line.monthly
    consumers = []
    for consumer in snapshot.of_type(CONSUMER):
        urns = descendants(consumer.urn)
        kinds: list[str] = []
        for rule in (snapshot.by_urn(u) for u in sorted(urns)):
            pattern = json.loads(rule.inputs.get("eventPattern") or "{}") if rule.type == EVENT_RULE else {}
            detail_types = pattern.get("detail-type") if isinstance(pattern, dict) else None
            kinds += detail_types if isinstance(detail_types, list) else []
        total = round(sum(monthly.get(u, 0.0) for u in sorted(urns)), 2)  # to the cent: ties sort by name
        consumers.append((total, consumer.name, sorted(set(kinds))))
    rows = [[f"`{name}`", ", ".join(f"`{k}`" for k in kinds), money(total)]
            for total, name, kinds in sorted(consumers, key=lambda c: (-c[0], c[1]))]
    return _table(["consumer", "takes", "per month"], rows, "llr")


def _drivers(estimate: Estimate, count: int) -> str:
    return ", ".join(f"`{d.name}` ({short_type(d.type)}) {money(d.monthly)}" for d in estimate.top(count))


def _prod_figures(runs: Runs, priced: Priced) -> dict[str, str]:
    update, preview = priced.prod, priced.prod_preview
    primary = runs.prod.config.get("aws:region", "us-east-1")
    traced, traced_preview = _sum(update, is_traced), _sum(preview, is_traced)
    return {
        "prod.usage": _usage_table(runs.prod, update),
        "prod.total": money(update.total),
        "prod.total.preview": money(preview.total),
        "prod.tiers": _tier_table(update, preview, primary),
        "prod.top": _top_table(update),
        "prod.web.table": _web_table(update, preview),
        "prod.xray": money(traced),
        "prod.xray.preview": money(traced_preview),
        "prod.xray.unsampled-extra": money(traced_preview - traced),
        "prod.consumers": _consumers_table(runs.prod, update),
        "prod.top.preview": _drivers(preview, POLICY_DRIVERS),
        "web.trace-ratio": f"`OTEL_TRACES_SAMPLER_ARG={TRACE_SAMPLE_RATIO:g}`",
        "web.trace-percent": f"{TRACE_SAMPLE_RATIO:.0%}",
        "prod.rps": f"{update.usage.origin_rps:g} req/s",
        "prod.egress": f"{update.usage.egress_gb / 1000:.1f} TB",
        "staging.total": money(priced.staging.total),
        "staging.total.preview": money(priced.staging_preview.total),
        "staging.top": _drivers(priced.staging, STAGING_DRIVERS),
    }


def _added_table(off: Estimate, on: Estimate) -> str:
    before, after = off.by_type(), on.by_type()
    added = {t: after.get(t, 0.0) - before.get(t, 0.0) for t in sorted(set(before) | set(after))}
    shown = sorted((t for t, v in added.items() if abs(v) >= SMALLEST_ADDITION),
                   key=lambda t: (-added[t], t))
    rows = [[short_type(t), money(before.get(t, 0.0)), money(after.get(t, 0.0)), _signed(added[t])]
            for t in shown]
    rest = [t for t in added if t not in shown]
    if rest:
        rows.append([f"{len(rest)} other types (each under {money(SMALLEST_ADDITION)})",
                     money(sum(before.get(t, 0.0) for t in rest)),
                     money(sum(after.get(t, 0.0) for t in rest)), _signed(sum(added[t] for t in rest))])
    rows.append(["**total**", f"**{money(off.total)}**", f"**{money(on.total)}**",
                 f"**{_signed(on.total - off.total)}**"])
    return _table(["resource type", "off", "on", "added"], rows)


def _signed(amount: float) -> str:
    return f"+{money(amount)}" if amount >= 0 else f"-{money(-amount)}"


def _sensitivity_table(runs: Runs, off: Estimate, on: Estimate) -> str:
    usage = off.usage
    rows = [[f"prod's ({usage.origin_rps:g} req/s)", f"{usage.response_kb} KB", money(off.total),
             money(on.total), f"**{_multiplier(off, on)}**"]]
    for factor in TRAFFIC_FACTORS:
        scaled_off = estimate_snapshot(runs.prod, traffic=factor)
        scaled_on = estimate_snapshot(runs.multi_region, traffic=factor)
        rows.append([f"{factor:g}x ({usage.origin_rps * factor:g} req/s)", f"{usage.response_kb} KB",
                     money(scaled_off.total), money(scaled_on.total), _multiplier(scaled_off, scaled_on)])
    for kb in RESPONSE_KB:
        model = UsageDefaults(response_kb=kb)
        resized_off = estimate_snapshot(runs.prod, usage=model)
        resized_on = estimate_snapshot(runs.multi_region, usage=model)
        rows.append([f"prod's ({usage.origin_rps:g} req/s)", f"{kb} KB", money(resized_off.total),
                     money(resized_on.total), _multiplier(resized_off, resized_on)])
    return _table(["traffic", "response", "off", "on", "multiplier"], rows, "lrrrr")


def price_premiums(table: PriceTable, region: str, other: str) -> list[float]:
    """`other`'s list price over `region`'s, for every rate of prices.json both columns give."""
    ratios = []
    for entry in table.data["prices"].values():
        here, there = entry.get(region), entry.get(other)
        if isinstance(here, dict) and isinstance(there, dict):
            pairs = [(here[size], there.get(size)) for size in here]
        else:
            pairs = [(here, there)]
        ratios += [b / a for a, b in pairs
                   if isinstance(a, int | float) and isinstance(b, int | float) and a > 0]
    return sorted(ratios)


def _premium(table: PriceTable, region: str, other: str) -> str:
    ratios = price_premiums(table, region, other)
    higher = [r for r in ratios if r > 1]
    same, lower = sum(1 for r in ratios if r == 1), sum(1 for r in ratios if r < 1)
    parts = [f"the same for {same}"] + ([f"lower for {lower}"] if lower else [])
    if higher:
        median = higher[len(higher) // 2]
        parts.insert(0, f"{higher[0] - 1:.0%} to {higher[-1] - 1:.0%} above {region}'s (median "
                        f"{median - 1:.0%}) for {len(higher)}")
    return f"{other}'s rates are {', '.join(parts)} of the {len(ratios)} rates"


def _second_region_figures(runs: Runs, priced: Priced) -> dict[str, str]:
    off, on, off_preview, on_preview = priced.prod, priced.on, priced.prod_preview, priced.on_preview
    primary = runs.prod.config.get("aws:region", "us-east-1")
    secondary = runs.multi_region.config.get(f"{PROJECT}:secondaryRegion", "")
    shared = _sum(off, _shared_edge)
    compare = _table(["prod, per month", "off", "on", "multiplier"], [
        ["update (after `pulumi up`)", money(off.total), money(on.total), f"**{_multiplier(off, on)}**"],
        ["preview (`make preview ARGS=--cost-compare`)", money(off_preview.total), money(on_preview.total),
         _multiplier(off_preview, on_preview)]])
    return {
        "second.region": secondary,
        "second.price-premium": _premium(off.prices, primary, secondary),
        "prices.as-of": off.prices.as_of_text,
        "second.compare": compare,
        "second.tiers": _on_table(on, primary),
        "second.added": _added_table(off, on),
        "second.added.search": _signed(_sum(on, _of_type(SEARCH)) - _sum(off, _of_type(SEARCH))),
        "second.added.database-instances": _signed(_sum(on, _of_type(DATABASE_INSTANCE))
                                                   - _sum(off, _of_type(DATABASE_INSTANCE))),
        "second.shared-edge": money(shared),
        "second.shared-edge.share": _percent(shared, off.total),
        "second.cache": money(_sum(off, _of_type(CACHE))),
        "second.replication": money(_sum(on, is_replication)),
        "second.sensitivity": _sensitivity_table(runs, off, on),
    }


def traffic_growth_to(budget: float, snapshot: Snapshot) -> float | None:
    """The traffic factor (>= 1, to half a percent) from which the snapshot's estimate exceeds
    `budget`: 1 when it already does, None when it does not within GROWTH_LIMIT (the estimate grows
    with traffic, so a bisection finds it)."""
    if estimate_snapshot(snapshot).total > budget:
        return 1.0
    if estimate_snapshot(snapshot, traffic=GROWTH_LIMIT).total <= budget:
        return None
    low, high = 1.0, GROWTH_LIMIT  # within budget at low, above it at high
    while high - low > 0.005:
        middle = (low + high) / 2
        if estimate_snapshot(snapshot, traffic=middle).total > budget:
            high = middle
        else:
            low = middle
    return high


def _growth(factor: float | None) -> str:
    if factor is None:
        return f"not within {GROWTH_LIMIT:g}x today's traffic"
    if factor == 1.0:
        return "already over"
    return f"+{(factor - 1) * 100:.0f}%"


def _budget_figures(runs: Runs, priced: Priced, budget: float) -> dict[str, str]:
    def cell(estimate: Estimate) -> str:
        text = f"{money(estimate.total)} ({_percent(estimate.total, budget)})"
        return f"**{text}**" if estimate.total > budget else text

    table = _table(["stack (estimate, share of the budget)", "preview", "update"], [
        [name, cell(preview), cell(update)] for name, preview, update in (
            (PROD, priced.prod_preview, priced.prod), (STAGING, priced.staging_preview, priced.staging),
            ("prod, second Region on", priced.on_preview, priced.on))])
    return {
        "budget": money(budget),
        "budget.table": table,
        "budget.prod.headroom.preview": money(budget - priced.prod_preview.total),
        "budget.prod.growth.preview": _growth(traffic_growth_to(budget, runs.prod_preview)),
        "budget.prod.growth.update": _growth(traffic_growth_to(budget, runs.prod)),
        "budget.second.preview": money(priced.on_preview.total),
    }


def figures(runs: Runs, budget: float = DEFAULT_BUDGET_USD) -> dict[str, str]:
    """Every figure the docs may name, rendered (`budget`: the stack-monthly-budget policy's default,
    which this project's stacks use: the workflows pass the pack no config)."""
    priced = Priced.of(runs)
    return {**_prod_figures(runs, priced), **_second_region_figures(runs, priced),
            **_budget_figures(runs, priced, budget)}


# ----------------------------------------------------------------------------------------------
# The docs


def with_figures(document: str, values: Mapping[str, str], *, name: str = "the document") -> str:
    """`document` with each marker's content replaced by its figure (a table on lines of its own)."""

    def fill(match: re.Match[str]) -> str:
        figure = match["name"]
        if figure not in values:
            raise CostDocError(f"{name}: <!--cost:{figure}--> names no figure "
                               f"(known: {', '.join(sorted(values))})")
        value = values[figure]
        body = f"\n\n{value}\n\n" if "\n" in value else value
        return f"<!--cost:{figure}-->{body}<!--/cost-->"

    return MARKER.sub(fill, document)


def figure_names(document: str) -> list[str]:
    return [match["name"] for match in MARKER.finditer(document)]


def without_figures(document: str) -> str:
    """The hand-written prose of `document`: every marker and its figure removed."""
    return MARKER.sub("", document)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a figure is stale")
    parser.add_argument("docs", nargs="*", type=Path, default=list(DOCS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    values = figures(Runs.record())
    updates: dict[Path, str] = {}
    try:  # every doc is filled before any is written: a wrong marker in one leaves all as they were
        for path in args.docs:
            document = path.read_text()
            updated = with_figures(document, values, name=path.name)
            if updated != document:
                updates[path] = updated
    except CostDocError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stale = ", ".join(path.name for path in updates)
    if args.check:
        if updates:
            print(f"{stale}: the cost figures are stale (run `{COMMAND}`)", file=sys.stderr)
            return 1
        return 0
    for path, updated in updates.items():
        path.write_text(updated)
    print(f"wrote the cost figures of {stale}" if updates else "the cost figures are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
