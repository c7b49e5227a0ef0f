"""Fixtures shared by every test folder: the program's snapshots under the mock engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

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


@pytest.fixture
def run_stack() -> RunStack:
    """Run the program for a stack with config overrides (full keys, e.g. `ecommerce:azCount`)."""

    def run(stack: str = "prod", overrides: Mapping[str, Any] | None = None,
            preview: bool = False) -> Snapshot:
        return run_program(stack, overrides=overrides, preview=preview)

    return run
