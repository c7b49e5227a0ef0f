"""The price table: `prices.json`, dated on-demand list prices per Region (and `global`), the types
that cost nothing, and instance sizes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().with_name("prices.json")
GLOBAL = "global"
"""The column (and the place) of global services: CloudFront, Route 53."""


class PriceError(LookupError):
    """A price the table does not have (a key, a Region column or a size)."""


@dataclass(frozen=True)
class PriceTable:
    """`prices.json`: dated on-demand prices per Region (and `global`), free types, sizes."""

    data: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        return cls(json.loads(path.read_text()))

    @property
    def source(self) -> str:
        return str(self.data["source"])

    @property
    def as_of(self) -> str:
        return str(self.data["asOf"])

    @property
    def as_of_text(self) -> str:
        return str(self.data.get("asOfText") or self.as_of)

    @property
    def hours(self) -> float:
        return float(self.data.get("hoursPerMonth", 730))

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(self.data["regions"])

    @property
    def fallback_region(self) -> str:
        return str(self.data["fallbackRegion"])

    @property
    def free(self) -> Mapping[str, str]:
        """Each type that costs nothing, with the reason."""
        free: Mapping[str, str] = self.data["free"]
        return free

    @property
    def free_packages(self) -> Mapping[str, str]:
        """Each provider package whose resources cost nothing, with the reason."""
        packages: Mapping[str, str] = self.data.get("freePackages", {})
        return packages

    def unit(self, key: str) -> str:
        return str(self._entry(key)["unit"])

    def size(self, table: str, name: str) -> float | None:
        value = self.data.get("sizes", {}).get(table, {}).get(name)
        return float(value) if isinstance(value, int | float) else None

    def _entry(self, key: str) -> Mapping[str, Any]:
        entry = self.data["prices"].get(key)
        if not isinstance(entry, Mapping):
            raise PriceError(f"price {key!r} is not in prices.json")
        return entry

    def column(self, key: str, region: str) -> tuple[Any, str]:
        """The Region's value of `key` and the column used (global, the Region, or the fallback)."""
        entry = self._entry(key)
        for column in (region, GLOBAL, self.fallback_region):
            if column in entry:
                return entry[column], column
        raise PriceError(f"price {key!r} has no column for {region}")

    def unit_price(self, key: str, region: str, variant: str | None = None,
                   basis: float | None = None) -> tuple[float, str]:
        """The price of one unit (the tiers' average over `basis` units) and the column used."""
        value, column = self.column(key, region)
        if isinstance(value, Mapping):
            if variant is None or not isinstance(value.get(variant), int | float):
                raise PriceError(f"{variant or 'no size'} is not priced under {key} in {column}")
            value = value[variant]
        if isinstance(value, list):
            return _tiered_average(value, basis or 0.0), column
        if not isinstance(value, int | float):
            raise PriceError(f"price {key!r} in {column} is not a number")
        return float(value), column


def _tiered_average(tiers: Sequence[Sequence[Any]], quantity: float) -> float:
    """The average unit price of `quantity` units over [[up to, price], ..., [null, price]] tiers."""
    if quantity <= 0:
        return float(tiers[0][1])
    left, lower, total = quantity, 0.0, 0.0
    for upper, price in tiers:
        span = left if upper is None else min(left, float(upper) - lower)
        total += span * float(price)
        left -= span
        lower = float(upper) if upper is not None else lower
        if left <= 0:
            break
    return total / quantity
