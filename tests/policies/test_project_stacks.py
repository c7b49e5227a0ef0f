"""The shop's own stacks pass their own guardrails: `pulumi preview --policy-pack policies` and
`pulumi up` would not be blocked, and no policy falls back to the SDK's "can't run policy"."""

from __future__ import annotations

import pytest

from offline.engine import Snapshot
from tests.support.policy_pack import Analyze


@pytest.mark.parametrize("stack", ["prod", "prod_preview", "staging", "staging_preview"])
def test_the_project_stacks_have_no_mandatory_violation(stack: str, request: pytest.FixtureRequest,
                                                        analyze: Analyze) -> None:
    # GIVEN the real program of a stack, in update or preview mode
    snapshot: Snapshot = request.getfixturevalue(stack)

    # WHEN the pack analyzes every resource and then the whole stack
    report = analyze(snapshot)

    # THEN it saw every resource, blocks nothing and ran every policy on known or decided values
    assert report.resources > len(snapshot)
    assert [str(v) for v in report.mandatory] == []
    assert [str(v) for v in report.cannot_run] == []
