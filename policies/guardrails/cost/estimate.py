"""Estimating: every resource of a stack priced, by its pricer, at the table's rates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..common import Res, StackGraph
from .context import PricingContext, Unpriceable, tier_of
from .pricers import PRICERS
from .prices import GLOBAL, PriceError, PriceTable
from .result import Charge, Estimate, Line, Unpriced
from .usage import Usage, UsageDefaults


def estimate(resources: StackGraph | Sequence[Any], *, region: str | None = None,
             project: str = "ecommerce", prices: PriceTable | None = None,
             usage: UsageDefaults | None = None) -> Estimate:
    """Price every resource of a stack.

    `resources`: a StackGraph, or the `Res`/PolicyResource items of a stack (components and
    providers included: components name the tiers); what they state about their usage (`usage:*`
    tags) is priced, the rest is `usage`. `region`: the stack's `aws:region`, where a resource
    whose provider names none lives.
    """
    table = prices or PriceTable.load()
    graph = resources if isinstance(resources, StackGraph) else StackGraph(resources)
    stated = Usage.of_stack(graph.resources, usage or UsageDefaults(), hours=table.hours)
    default_region = region or table.fallback_region
    ctx = PricingContext(graph, stated, table, default_region)
    lines: list[Line] = []
    unpriced: list[Unpriced] = []
    free: Counter[str] = Counter()
    notes: set[str] = set()
    for resource in graph.resources:
        package = resource.type.split(":", 1)[0]
        if package == "pulumi":
            continue  # the stack and the providers
        if package != "aws":
            if package in table.free_packages:
                free[resource.type] += 1
            elif _is_provider_type(resource.type):
                unpriced.append(Unpriced(resource.urn, resource.name, resource.type,
                                         f"the {package} provider's resources are not in the price table"))
            continue  # a component: what it contains is priced
        pricer = PRICERS.get(resource.type)
        if pricer is None:
            if resource.type in table.free:
                free[resource.type] += 1
            else:
                unpriced.append(Unpriced(resource.urn, resource.name, resource.type,
                                         "no price for this type: price it in "
                                         "policies/guardrails/cost/pricers/ (PRICERS) or list it as "
                                         "free in prices.json"))
            continue
        try:
            charges = pricer(resource, ctx)
            tier = tier_of(graph, resource, project)
            priced = [_line(resource, charge, ctx, tier=tier, notes=notes) for charge in charges]
        except (Unpriceable, PriceError) as error:
            unpriced.append(Unpriced(resource.urn, resource.name, resource.type, str(error)))
            continue
        if not priced:
            free[resource.type] += 1
        lines += priced
    if ctx.fully_traced:
        notes.add(f"every request of {', '.join(sorted(ctx.fully_traced))} is traced to X-Ray, "
                  f"{money(sum(ctx.fully_traced.values()))}/month: no OTEL_TRACES_SAMPLER is set and the "
                  "OpenTelemetry default samples all; OTEL_TRACES_SAMPLER=parentbased_traceidratio with "
                  "OTEL_TRACES_SAMPLER_ARG=0.05 would record 5%")
    if ctx.sampler_computed:
        notes.add(f"X-Ray for {', '.join(sorted(ctx.sampler_computed))} is priced as if every request "
                  f"were traced ({money(sum(ctx.sampler_computed.values()))}/month): the trace sampler "
                  "is in container definitions, computed during a preview; an update-mode estimate "
                  "reads it")
    return Estimate(lines=tuple(lines), unpriced=tuple(unpriced), free=dict(free), usage=stated,
                    prices=table, notes=tuple(sorted(notes | ctx.notes)))


def _is_provider_type(type_: str) -> bool:
    """`random:index/randomPassword:RandomPassword` is a provider's; `ecommerce:data:Cache` a component."""
    parts = type_.split(":")
    return len(parts) == 3 and "/" in parts[1]


def _line(resource: Res, charge: Charge, ctx: PricingContext, *, tier: str, notes: set[str]) -> Line:
    region = charge.region or ctx.region(resource)
    basis = charge.basis if charge.basis is not None else charge.quantity
    price, column = ctx.prices.unit_price(charge.key, region, charge.variant, basis)
    if GLOBAL not in (column, region) and column != region:
        notes.add(f"{region} is not in the price table: priced at {column} rates")
    return Line(urn=resource.urn, name=resource.name, type=resource.type,
                tier=tier, region=region, item=charge.item,
                quantity=charge.quantity, unit=ctx.prices.unit(charge.key),
                unit_price=price * charge.factor, price_column=column)


def money(amount: float) -> str:
    return f"${amount:,.0f}" if amount >= 100 else f"${amount:,.2f}"


def short_type(type_: str) -> str:
    """`aws:rds/clusterInstance:ClusterInstance` -> `rds:ClusterInstance`."""
    parts = type_.split(":")
    return f"{parts[1].split('/')[0]}:{parts[2]}" if len(parts) == 3 else type_
