"""Pricers: resource -> charges, one module per family of services. A pricer raises Unpriceable
when a value its price depends on is not known."""

from __future__ import annotations

from collections.abc import Mapping

from ..context import Pricer
from . import compute, databases, edge, messaging, network, operations, storage

PRICERS: Mapping[str, Pricer] = {
    **network.PRICERS, **compute.PRICERS, **databases.PRICERS, **edge.PRICERS, **storage.PRICERS,
    **messaging.PRICERS, **operations.PRICERS,
}
"""Every priced resource type and how its charges are derived."""
