"""Every taggable resource carries app, environment and tier through its provider's default tags."""

from __future__ import annotations

import pytest

from offline.engine import Snapshot
from tests.support.resources import default_tags, taggable


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_every_taggable_resource_has_the_default_tags(stack: str, request: pytest.FixtureRequest) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    resources = taggable(snapshot.custom())
    assert resources, "the snapshot has taggable resources"
    for resource in resources:
        provider = snapshot.provider_of(resource)
        assert provider is not None, f"{resource.urn} uses the default provider: no default tags"
        tags = {**default_tags(provider), **(resource.inputs.get("tags") or {})}
        assert tags["app"] == "ecommerce", resource.urn
        assert tags["environment"] == stack, resource.urn
        assert tags["tier"], resource.urn


def test_a_component_s_children_carry_its_tier(prod: Snapshot) -> None:
    network = prod.of_type("ecommerce:network:Network")[0]
    for child in taggable(prod.descendants(network)):
        provider = prod.provider_of(child)
        assert provider is not None
        assert default_tags(provider)["tier"] == "network"
