"""A pytest plugin (tests/conftest.py loads it for every folder): the program's snapshots under the
mock engine, shared by the session, and the config overrides of the day-one paths."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from offline.cost import multi_region_overrides
from offline.engine import Snapshot, run_program

RunStack = Callable[..., Snapshot]


@pytest.fixture(scope="session")
def prod() -> Snapshot:
    """The prod stack in update mode: every value the mocks compute is known."""
    return run_program("prod")


@pytest.fixture(scope="session")
def staging() -> Snapshot:
    return run_program("staging")


@pytest.fixture(scope="session")
def prod_preview() -> Snapshot:
    """The prod stack in preview mode: computed values are unknown, as in `pulumi preview`."""
    return run_program("prod", preview=True)


@pytest.fixture(scope="session")
def prod_multi_region() -> Snapshot:
    """Prod with the second Region on (as the cost comparison turns it on), in update mode."""
    return run_program("prod", overrides=multi_region_overrides("prod"))


@pytest.fixture(scope="session")
def prod_multi_region_preview() -> Snapshot:
    return run_program("prod", preview=True, overrides=multi_region_overrides("prod"))


# Day-one paths (docs/day-one.md): staging with its Route 53 zone and no certificate ARNs (the
# stack writes the records and issues the certificates), and prod deploying images built elsewhere.
WITH_ZONE = {"ecommerce:hostedZoneId": "Z05402722SS6PLUHJ8XWM", "ecommerce:certificateArn": "",
             "ecommerce:originCertificateArn": ""}
PREBUILT_DIGEST = "sha256:" + "ab" * 32
PREBUILT = {"ecommerce:imageSource": "prebuilt", "ecommerce:prebuiltImages": [
    "storefront tag=2026.12.01-3", f"order-api digest={PREBUILT_DIGEST}", "admin tag=2026.12.01-3"]}


@pytest.fixture(scope="session")
def staging_with_zone() -> Snapshot:
    return run_program("staging", overrides=WITH_ZONE)


@pytest.fixture(scope="session")
def prod_prebuilt() -> Snapshot:
    return run_program("prod", overrides=PREBUILT)


@pytest.fixture
def run_stack() -> RunStack:
    """Run the program for a stack with config overrides (full keys, e.g. `ecommerce:azCount`)."""

    def run(stack: str = "prod", overrides: Mapping[str, Any] | None = None,
            preview: bool = False) -> Snapshot:
        return run_program(stack, overrides=overrides, preview=preview)

    return run
