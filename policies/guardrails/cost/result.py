"""The estimate: priced lines per resource, what is free, what could not be priced, and its sums
per tier, Region, type and resource."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .prices import PRICES_FILE, PriceTable
from .usage import Usage


@dataclass(frozen=True)
class Charge:
    """One billable dimension of a resource, before pricing."""

    item: str
    quantity: float
    key: str
    variant: str | None = None     # the size or architecture the price depends on
    region: str | None = None      # billed in another Region (a replica, a transfer's source)
    basis: float | None = None     # tiered prices: the monthly total the tiers apply to
    factor: float = 1.0            # a discount (Valkey) applied to the unit price


@dataclass(frozen=True)
class Line:
    """A priced charge."""

    urn: str
    name: str
    type: str
    tier: str
    region: str
    item: str
    quantity: float
    unit: str
    unit_price: float
    price_column: str  # the price table column used (the Region, global, or the fallback)

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Unpriced:
    urn: str
    name: str
    type: str
    reason: str


@dataclass(frozen=True)
class ResourceCost:
    name: str
    type: str
    tier: str
    region: str
    monthly: float
    urn: str


@dataclass(frozen=True)
class Estimate:
    lines: tuple[Line, ...]
    unpriced: tuple[Unpriced, ...]
    free: Mapping[str, int]  # type -> resources that cost nothing
    usage: Usage
    prices: PriceTable
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def _grouped(self, key: Callable[[Line], str]) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        for line in self.lines:
            sums[key(line)] += line.monthly
        return dict(sorted(sums.items(), key=lambda item: (-item[1], item[0])))

    def by_tier(self) -> dict[str, float]:
        return self._grouped(lambda line: line.tier)

    def by_region(self) -> dict[str, float]:
        return self._grouped(lambda line: line.region)

    def by_type(self) -> dict[str, float]:
        return self._grouped(lambda line: line.type)

    def by_tier_and_region(self) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = {}
        for line in self.lines:
            row = table.setdefault(line.tier, {})
            row[line.region] = row.get(line.region, 0.0) + line.monthly
        return table

    def by_resource(self) -> list[ResourceCost]:
        sums: dict[str, float] = defaultdict(float)
        first: dict[str, Line] = {}
        for line in self.lines:
            sums[line.urn] += line.monthly
            first.setdefault(line.urn, line)
        costs = [ResourceCost(name=first[u].name, type=first[u].type, tier=first[u].tier,
                              region=first[u].region, monthly=total, urn=u) for u, total in sums.items()]
        return sorted(costs, key=lambda c: (-c.monthly, c.name))

    def top(self, count: int) -> list[ResourceCost]:
        return [c for c in self.by_resource() if c.monthly > 0][:count]

    def to_dict(self, *, lines: bool = True) -> dict[str, Any]:
        document: dict[str, Any] = {
            "currency": str(self.prices.data.get("currency", "USD")),
            "monthlyTotal": round(self.total, 2),
            "byTier": {k: round(v, 2) for k, v in self.by_tier().items()},
            "byRegion": {k: round(v, 2) for k, v in self.by_region().items()},
            "byTierAndRegion": {t: {r: round(v, 2) for r, v in row.items()}
                                for t, row in self.by_tier_and_region().items()},
            "topResources": [{"name": c.name, "type": c.type, "tier": c.tier, "region": c.region,
                              "monthly": round(c.monthly, 2)} for c in self.top(10)],
            "usage": self.usage.to_dict(),
            "prices": {"source": self.prices.source, "asOf": self.prices.as_of,
                       "basis": self.prices.data.get("basis", ""), "file": PRICES_FILE.name},
            "unpriced": [{"name": u.name, "type": u.type, "reason": u.reason} for u in self.unpriced],
            "free": dict(sorted(self.free.items())),
            "notes": list(self.notes),
        }
        if lines:
            document["lines"] = [{
                "name": line.name, "type": line.type, "tier": line.tier, "region": line.region,
                "item": line.item, "quantity": round(line.quantity, 4), "unit": line.unit,
                "unitPrice": line.unit_price, "monthly": round(line.monthly, 2)} for line in self.lines]
        return document

