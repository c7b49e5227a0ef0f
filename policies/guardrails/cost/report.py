"""The estimate for people: text lines for a terminal, Markdown for a pull-request comment, a JSON
document; and the comparison of a stack with its second Region off and on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .estimate import money, short_type
from .prices import GLOBAL
from .result import Estimate


@dataclass(frozen=True)
class Comparison:
    """The same stack with the second Region off and on."""

    off: Estimate
    on: Estimate
    secondary_region: str

    @property
    def multiplier(self) -> float:
        return self.on.total / self.off.total if self.off.total else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {"secondaryRegion": self.secondary_region, "monthlyOff": round(self.off.total, 2),
                "monthlyOn": round(self.on.total, 2), "multiplier": round(self.multiplier, 3),
                "byTierOff": {k: round(v, 2) for k, v in self.off.by_tier().items()},
                "byTierOn": {k: round(v, 2) for k, v in self.on.by_tier().items()}}


# ----------------------------------------------------------------------------------------------
# Rendering (`make preview`: offline/render.py)


def text_lines(estimate_: Estimate, comparison: Comparison | None = None,
               comparison_error: str | None = None) -> list[str]:
    prices = estimate_.prices
    lines = [f"Estimated monthly cost: {money(estimate_.total)} (on-demand list prices as of "
             f"{prices.as_of_text}, {prices.data.get('currency', 'USD')}; prices.json)"]
    regions = estimate_.by_region()
    tiers = estimate_.by_tier_and_region()
    columns = list(regions)
    width = max([len(t) for t in tiers] + [4])
    header = "  ".join(f"{_region_label(c):>13}" for c in columns)
    lines.append(f"    {'tier':<{width}}  {header}  {'total':>10}")
    for tier, total in estimate_.by_tier().items():
        row = tiers.get(tier, {})
        cells = "  ".join(f"{money(row[c]) if c in row else '-':>13}" for c in columns)
        lines.append(f"    {tier:<{width}}  {cells}  {money(total):>10}")
    cells = "  ".join(f"{money(v):>13}" for v in regions.values())
    lines.append(f"    {'total':<{width}}  {cells}  {money(estimate_.total):>10}")
    lines.append("  top cost drivers:")
    lines += [f"    {money(c.monthly):>10}  {c.name} ({short_type(c.type)}, {c.region})"
              for c in estimate_.top(5)]
    if comparison is not None:
        lines.append(f"  second Region ({comparison.secondary_region}): {money(comparison.off.total)} off, "
                     f"{money(comparison.on.total)} on: x{comparison.multiplier:.2f}")
    elif comparison_error:
        lines.append(f"  second Region: not compared ({comparison_error})")
    lines.append("  assumes: " + "; ".join(f"{label} {value}" for label, value
                                           in estimate_.usage.assumptions()[:4]))
    if estimate_.unpriced:
        lines.append(f"  not priced ({len(estimate_.unpriced)}): " + ", ".join(
            f"{u.name} ({short_type(u.type)}: {u.reason})" for u in estimate_.unpriced[:5]))
    lines += [f"  note: {note}" for note in estimate_.notes]
    lines.append("")
    return lines


def document(estimate_: Estimate, comparison: Comparison | None = None,
             comparison_error: str | None = None) -> dict[str, Any]:
    result = estimate_.to_dict(lines=True)
    result["multiRegion"] = comparison.to_dict() if comparison is not None else None
    if comparison is None and comparison_error:
        result["multiRegionNote"] = comparison_error
    return result


def markdown_lines(estimate_: Estimate, comparison: Comparison | None = None,
                   comparison_error: str | None = None) -> list[str]:
    prices = estimate_.prices
    regions = list(estimate_.by_region())
    tiers = estimate_.by_tier_and_region()
    lines = [f"#### Estimated monthly cost: {money(estimate_.total)}", "",
             f"On-demand list prices as of {prices.as_of_text} ({prices.data.get('currency', 'USD')}), "
             "from `policies/guardrails/cost/prices.json`; usage as the resources state it "
             "(see docs/cost.md).", "",
             "| Tier | " + " | ".join(_region_label(r) for r in regions) + " | Total |",
             "|---|" + "---:|" * (len(regions) + 1)]
    for tier, total in estimate_.by_tier().items():
        row = tiers.get(tier, {})
        lines.append(f"| {tier} | " + " | ".join(money(row[r]) if r in row else "-" for r in regions)
                     + f" | {money(total)} |")
    lines.append("| **total** | " + " | ".join(money(v) for v in estimate_.by_region().values())
                 + f" | **{money(estimate_.total)}** |")
    lines.append("")
    drivers = ", ".join(f"`{c.name}` ({short_type(c.type)}) {money(c.monthly)}" for c in estimate_.top(5))
    lines.append(f"Top cost drivers: {drivers}.")
    if comparison is not None:
        lines.append(f"Second Region ({comparison.secondary_region}): {money(comparison.off.total)} off, "
                     f"{money(comparison.on.total)} on, **x{comparison.multiplier:.2f}**.")
    elif comparison_error:
        lines.append(f"Second Region: not compared ({comparison_error}).")
    if estimate_.unpriced:
        lines.append(f"Not priced ({len(estimate_.unpriced)}): "
                     + ", ".join(f"`{u.name}` ({short_type(u.type)})" for u in estimate_.unpriced[:10]) + ".")
    lines.append("")
    return lines


def _region_label(region: str) -> str:
    return "global (edge)" if region == GLOBAL else region
