"""scripts/reviewed_plan.py: prod applies the reviewed changes, or nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from offline.engine import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "reviewed_plan.py"
URN = "urn:pulumi:prod::ecommerce::ecommerce:web:WebServices$aws:ecs/service:Service::web-storefront"
QUEUE = "urn:pulumi:prod::ecommerce::ecommerce:events:QueueConsumer$aws:sqs/queue:Queue::email-queue"


def _preview(*steps: dict[str, Any]) -> dict[str, Any]:
    """A document shaped like `pulumi preview --json` prints it (pkg/display/json.go)."""
    same = {"op": "same", "urn": "urn:pulumi:prod::ecommerce::pulumi:pulumi:Stack::ecommerce-prod"}
    return {"steps": [same, *steps], "changeSummary": {"same": 1}, "duration": 1}


def _update(urn: str = URN, *keys: str) -> dict[str, Any]:
    return {"op": "update", "urn": urn, "diffReasons": list(keys or ("desiredCount",)),
            "detailedDiff": {k: {"kind": "update", "inputDiff": True} for k in keys or ("desiredCount",)}}


def _run(tmp_path: Path, *args: str | dict[str, Any]) -> subprocess.CompletedProcess[str]:
    paths = []
    for index, arg in enumerate(args):
        if isinstance(arg, dict):
            path = tmp_path / f"preview-{index}.json"
            path.write_text(json.dumps(arg))
            paths.append(str(path))
        else:
            paths.append(arg)
    return subprocess.run([sys.executable, str(SCRIPT), *paths], capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_same_changes_are_applied(tmp_path: Path) -> None:
    reviewed = _preview(_update())
    result = _run(tmp_path, "compare", reviewed, json.loads(json.dumps(reviewed)))

    assert result.returncode == 0, result.stderr
    assert "reviewed" in result.stdout


def test_a_change_nobody_reviewed_stops_the_update(tmp_path: Path) -> None:
    # GIVEN the reviewed preview updated the storefront; WHEN prod now also replaces a queue
    reviewed = _preview(_update())
    current = _preview(_update(), {"op": "replace", "urn": QUEUE, "replaceReasons": ["name"]})

    result = _run(tmp_path, "compare", reviewed, current)

    # THEN nothing is applied and the line names the unreviewed change
    assert result.returncode == 1
    assert "not reviewed: replace email-queue (aws:sqs/queue:Queue) name" in result.stderr


def test_a_different_property_of_the_same_resource_is_a_different_change(tmp_path: Path) -> None:
    result = _run(tmp_path, "compare", _preview(_update(URN, "desiredCount")),
                  _preview(_update(URN, "taskDefinition")))

    assert result.returncode == 1
    assert "reviewed but no longer planned: update web-storefront" in result.stderr


def test_the_summary_lists_the_changes_for_the_reviewers(tmp_path: Path) -> None:
    result = _run(tmp_path, "summary", _preview(_update(), {"op": "create", "urn": QUEUE}),
                  "--title", "prod")

    assert result.returncode == 0
    assert result.stdout.startswith("### prod\n")
    assert "1 to create, 1 to update." in result.stdout
    assert "| update | `aws:ecs/service:Service` | web-storefront | desiredCount (update) |" in result.stdout
    assert "| create | `aws:sqs/queue:Queue` | email-queue | - |" in result.stdout


def test_no_changes_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path, "summary", _preview())

    assert result.returncode == 0 and result.stdout.strip().endswith("No changes.")


def test_a_file_that_is_not_a_preview_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = _run(tmp_path, "compare", {"config": {}}, _preview())

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not the output of `pulumi preview --json`" in result.stderr
