"""A pytest plugin (tests/conftest.py loads it): the policy pack under test, started once per
session the way the CLI starts it.

`analyze(snapshot, policy_config=None)` sends a snapshot through the pack's Analyzer gRPC service
(Analyze per resource, then AnalyzeStack) and returns the report. One pack process serves every
snapshot of the same stack, mode and stack config; processes are stopped at the end of the session.

`program(source, preview=..., config=...)` runs a small Pulumi program (the body below the imports)
under the mock engine, in preview (unknowns) or update mode, and returns its snapshot.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from offline.analyzer import POLICY_PACK_DIR, PolicyPackProcess, Report, Violation
from offline.engine import Snapshot, run_program

Analyze = Callable[..., Report]
Program = Callable[..., Snapshot]

PROGRAM_HEADER = """\
import json

import pulumi
import pulumi_aws as aws

"""


class PackPool:
    """Pack processes keyed by what the CLI would put in their environment and config."""

    def __init__(self) -> None:
        self.packs: dict[str, PolicyPackProcess] = {}

    def analyze(self, snapshot: Snapshot, policy_config: Mapping[str, Any] | None = None) -> Report:
        key = json.dumps([snapshot.stack, snapshot.preview, snapshot.config], sort_keys=True)
        pack = self.packs.get(key)
        if pack is None:
            pack = self.packs[key] = PolicyPackProcess.for_snapshot(snapshot, POLICY_PACK_DIR)
            pack.start()
        pack.configure(policy_config or {})
        return pack.analyze(snapshot)

    def stop(self) -> None:
        for pack in self.packs.values():
            pack.stop()


@pytest.fixture(scope="session")
def pack_pool() -> Iterator[PackPool]:
    pool = PackPool()
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="session")
def analyze(pack_pool: PackPool) -> Analyze:
    return pack_pool.analyze


@pytest.fixture(scope="session")
def program(tmp_path_factory: pytest.TempPathFactory) -> Program:
    """Run a small program (its body; `aws`, `pulumi` and `json` are imported) as stack `test`."""
    cache: dict[str, Snapshot] = {}
    # one folder for every program: the engine puts a program's folder on sys.path, and hundreds of
    # folders there would slow every later import down
    folder = tmp_path_factory.mktemp("program")
    (folder / "Pulumi.yaml").write_text("name: ecommerce\nruntime: python\n")
    (folder / "Pulumi.test.yaml").write_text("config:\n  aws:region: us-east-1\n")

    def run(source: str, *, preview: bool, config: Mapping[str, Any] | None = None) -> Snapshot:
        key = json.dumps([source, preview, dict(config or {})], sort_keys=True)
        if key not in cache:
            (folder / "__main__.py").write_text(PROGRAM_HEADER + textwrap.dedent(source))
            cache[key] = run_program("test", preview=preview, overrides=config,
                                     program=folder / "__main__.py", project_dir=folder)
        return cache[key]

    return run


@pytest.fixture(params=[True, False], ids=["preview", "update"])
def preview(request: pytest.FixtureRequest) -> bool:
    """Both modes: preview (computed values unknown) and update (every value known)."""
    return bool(request.param)


@pytest.fixture(scope="session")
def staging_preview() -> Snapshot:
    return run_program("staging", preview=True)


def violations_of(report: Report, policy: str, resource: str | None = None) -> list[Violation]:
    """The violations of `policy` (naming the resource with logical name `resource`, when given)."""
    return [v for v in report.of_policy(policy) if resource is None or v.resource_name == resource]


def the_violation(report: Report, policy: str, resource: str | None) -> Violation:
    """The one violation of `policy` naming `resource` (None: the stack), with a helpful failure."""
    found = [v for v in report.of_policy(policy) if v.resource_name == resource]
    assert len(found) == 1, (f"expected one {policy} violation naming {resource}, got:\n"
                             + "\n".join(report.lines()))
    assert not report.cannot_run, report.cannot_run
    return found[0]
