"""The `make preview` command: what it lists, how it fails, and its exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from offline import preview
from offline.engine import PROJECT_DIR, Snapshot
from tests.preview.conftest import RunPreview


def test_json_lists_the_resources_of_the_test_harness_snapshot(
        prod_preview: Snapshot, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the prod stack as the test harness records it in preview mode
    # WHEN the offline preview prints its JSON document (without the pack)
    status = preview.main(["--stack", "prod", "--json", "--no-policies"])
    document = json.loads(capsys.readouterr().out)

    # THEN it lists exactly the same resources, each planned as a create, and exits 0
    assert status == 0
    listed = {(r["urn"], r["type"]) for r in document["resources"]}
    assert listed == {(r.urn, r.type) for r in prod_preview}
    assert {r["plan"] for r in document["resources"]} == {"create"}
    assert document["summary"]["create"] == len(prod_preview) + 1  # and the stack
    assert sum(document["summary"]["byType"].values()) == len(prod_preview)
    assert sum(document["summary"]["byTier"].values()) == len(prod_preview)
    assert document["policies"] is None and document["policiesSkipped"] is True


def test_json_marks_unknown_outputs_and_secret_inputs(
        prod_preview: Snapshot, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the prod stack in preview mode, where computed outputs are unknown
    unknown = [name for name, value in prod_preview.outputs.items() if "04da6b54" in json.dumps(value)]
    assert unknown, "expected at least one output computed by AWS (e.g. the VPC id)"

    # WHEN the JSON document is printed
    preview.main(["--stack", "prod", "--json", "--no-policies"])
    document = json.loads(capsys.readouterr().out)

    # THEN those outputs read "[unknown]" and no engine sentinel or secret value leaks
    for name in unknown:
        assert "[unknown]" in json.dumps(document["outputs"][name])
    text = json.dumps(document)
    assert "04da6b54-80e4-46f7-96ec-b56ff0331ba9" not in text
    assert "1b47061264138c4ac30d75fd1eb44270" not in text


def test_text_shows_the_caveats_the_tree_and_the_summary(
        prod_preview: Snapshot, capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the default text is printed
    status = preview.main(["--stack", "prod", "--no-policies"])
    out = capsys.readouterr().out

    # THEN it says plainly it is offline, lists every resource by name, and counts them
    assert status == 0
    head = out.splitlines()[:4]
    assert "offline" in head[0]
    assert any("no diff against deployed state" in line for line in head)
    assert any("no provider-side validation" in line for line in head)
    assert any("unknown" in line for line in head)
    tree = out.split("\n\n")[1]
    assert len([line for line in tree.splitlines() if line.startswith(" +   ")]) == len(prod_preview) + 1
    assert f"+ {len(prod_preview) + 1} to create" in out
    assert "By tier:" in out and "By type:" in out and "Outputs:" in out


def test_a_broken_stack_file_exits_non_zero_with_its_one_line_error(
        run_preview: RunPreview, project_copy) -> None:
    # GIVEN a stack file that asks for a single AZ
    config = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    config["config"]["ecommerce:azCount"] = 1
    folder = project_copy("broken", yaml.safe_dump(config))

    # WHEN the offline preview runs it, as a user would
    result = run_preview("--stack", "broken", "--cwd", folder)

    # THEN it fails with one line naming the stack file and the key: no traceback, no gRPC or
    # asyncio noise
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: Pulumi.broken.yaml: ecommerce:azCount")
    for noise in ("Traceback", "Exception ignored", "grpc", "asyncio"):
        assert noise not in result.stderr + result.stdout


def test_an_unknown_stack_names_the_stacks_there_are(run_preview: RunPreview) -> None:
    result = run_preview("--stack", "nope", "--no-policies")

    assert result.returncode == 2
    assert result.stderr.startswith("error: Pulumi.nope.yaml does not exist")
    assert "prod" in result.stderr and "staging" in result.stderr


def test_an_unreadable_policy_config_is_one_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "policy-config.json"
    bad.write_text("{not json")

    status = preview.main(["--policy-config", str(bad)])

    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --policy-config {bad} is not valid JSON")
    assert len(err.strip().splitlines()) == 1
