"""AWS providers that stamp the default tags (`app`, `environment`, `tier`) on every resource.

Each tier gets its own provider per Region, so a component's children carry their tier's tag
without repeating it; `workload` is set on compute and queues by the component itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pulumi
import pulumi_aws as aws

APP = "ecommerce"


class Tier(StrEnum):
    SECURITY = "security"
    NETWORK = "network"
    EDGE = "edge"
    WEB = "web"
    DATA = "data"
    EVENTS = "events"
    OBSERVABILITY = "observability"


class TierProviders:
    """Creates (once) and hands out the aws provider of a tier in a Region."""

    def __init__(self, *, environment: str, region: str,
                 region_tags: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.environment = environment
        self.region = region
        self.region_tags = {r: dict(tags) for r, tags in (region_tags or {}).items()}
        """Extra default tags of every provider in a Region (e.g. the second Region's trigger)."""
        self._providers: dict[tuple[Tier, str], aws.Provider] = {}

    def default_tags(self, tier: Tier, region: str | None = None) -> dict[str, str]:
        return {**self.region_tags.get(region or self.region, {}),
                "app": APP, "environment": self.environment, "tier": tier.value}

    def get(self, tier: Tier, region: str | None = None) -> aws.Provider:
        region = region or self.region
        key = (tier, region)
        if key not in self._providers:
            name = tier.value if region == self.region else f"{tier.value}-{region}"
            self._providers[key] = aws.Provider(
                f"aws-{name}", region=region,
                default_tags=aws.ProviderDefaultTagsArgs(tags=self.default_tags(tier, region)))
        return self._providers[key]

    def opts(self, tier: Tier, region: str | None = None) -> pulumi.ResourceOptions:
        """Options for a component of `tier`: its children inherit the provider."""
        return pulumi.ResourceOptions(providers={"aws": self.get(tier, region)})


def workload_tags(workload: str) -> dict[str, str]:
    """The `workload` tag that compute and queues carry besides the provider's default tags."""
    return {"workload": workload}
