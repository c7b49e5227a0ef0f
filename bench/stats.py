"""Small statistics for benchmark figures: median with min/max over runs, latency percentiles."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured quantity over several runs."""

    runs: tuple[float, ...]
    unit: str

    @classmethod
    def of(cls, runs: Sequence[float], unit: str) -> Figure:
        if not runs:
            raise ValueError("a figure needs at least one run")
        return cls(tuple(float(r) for r in runs), unit)

    @property
    def median(self) -> float:
        return float(statistics.median(self.runs))

    @property
    def min(self) -> float:
        return min(self.runs)

    @property
    def max(self) -> float:
        return max(self.runs)

    def scaled(self, factor: float, unit: str) -> Figure:
        return Figure(tuple(r * factor for r in self.runs), unit)

    def as_json(self) -> dict[str, Any]:
        return {"median": round(self.median, 6), "min": round(self.min, 6), "max": round(self.max, 6),
                "unit": self.unit, "runs": [round(r, 6) for r in self.runs]}

    def text(self, digits: int = 2) -> str:
        """`1.23 s (1.20-1.31)`."""
        return f"{self.median:.{digits}f} {self.unit} ({self.min:.{digits}f}-{self.max:.{digits}f})"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method: an observed value, never interpolated."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
