"""The day-one paths pass the guardrails too: a stack whose zone gets the records and certificates,
and a stack deploying images built elsewhere."""

from __future__ import annotations

import pytest

from offline.engine import Snapshot
from tests.support.policy_pack import Analyze


@pytest.mark.parametrize("stack", ["staging_with_zone", "prod_prebuilt"])
def test_the_day_one_paths_have_no_mandatory_violation(stack: str, request: pytest.FixtureRequest,
                                                       analyze: Analyze) -> None:
    snapshot: Snapshot = request.getfixturevalue(stack)
    report = analyze(snapshot)
    assert [str(v) for v in report.mandatory] == []
    assert [str(v) for v in report.cannot_run] == []
