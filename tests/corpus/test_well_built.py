"""Well-built programs, written the way the AWS and Pulumi docs write them (plain pulumi_aws, not
this project's components), pass the pack: no mandatory violation, in preview and update mode.

The pack is enforced on other teams' stacks; a false mandatory violation on a program like these
blocks a correct deploy, and a team that is blocked by it switches the pack off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.policy_pack import Analyze, Program

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.py"))
# the stack config a program reads (`pulumi config set --secret` in a real project)
CONFIG = {"app_config": {"ecommerce:searchApiToken": "search-token-from-secret-config"}}


def test_the_corpus_has_at_least_fifteen_programs() -> None:
    assert len(PROGRAMS) >= 15


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_a_well_built_program_has_no_mandatory_violation(path: Path, program: Program,
                                                         analyze: Analyze, preview: bool) -> None:
    # GIVEN a well-built program
    snapshot = program(path.read_text(), preview=preview, config=CONFIG.get(path.stem))

    # WHEN the pack analyzes it as `pulumi preview` / `pulumi up` would
    report = analyze(snapshot)

    # THEN nothing blocks it, and no policy fell back to the SDK's "can't run policy"
    assert [str(v) for v in report.mandatory] == []
    assert [str(v) for v in report.cannot_run] == []
