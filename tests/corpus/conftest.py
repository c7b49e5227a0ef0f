"""The corpus runs through the same pack session as tests/policies."""

from tests.policies.conftest import analyze, pack_pool, preview, program  # noqa: F401 - fixtures
