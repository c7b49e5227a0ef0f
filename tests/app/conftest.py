"""The app tests run against real stores and stand-ins: their fixtures and helpers are pytest plugins
in tests/support/ (app_env.py sets the environment the shop reads at import; app_stores.py has
PostgreSQL, moto, the Stripe, Redis and OpenSearch stand-ins; app_clients.py the runtime, the
services and who drives them), loaded by tests/conftest.py. Only what holds for this folder alone
is here."""

from __future__ import annotations

import pytest

from tests.support.opensearch import StandIn


@pytest.fixture(autouse=True)
def _empty_search_domain(search_domain: StandIn) -> None:
    """Every app test starts with an empty search domain (the stand-in serves the whole session)."""
