"""The `make preview` command: what it lists, how it fails, and its exit status."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from offline import preview
from offline.engine import PROJECT_DIR, Snapshot
from offline.render import PreviewResult, render_json, render_text
from tests.preview.conftest import RunPreview


def test_json_lists_the_resources_of_the_test_harness_snapshot(
        prod_preview: Snapshot, prod_result: PreviewResult) -> None:
    # GIVEN the prod stack as the test harness records it in preview mode
    # WHEN the offline preview renders its JSON document
    document = json.loads(render_json(prod_result))

    # THEN it lists exactly the same resources, each planned as a create, with their tiers
    listed = {(r["urn"], r["type"]) for r in document["resources"]}
    assert listed == {(r.urn, r.type) for r in prod_preview}
    assert {r["plan"] for r in document["resources"]} == {"create"}
    assert document["summary"]["create"] == len(prod_preview) + 1  # and the stack
    assert sum(document["summary"]["byType"].values()) == len(prod_preview)
    assert sum(document["summary"]["byTier"].values()) == len(prod_preview)
    assert document["policies"]["pack"] == "ecommerce-guardrails"
    assert set(document["timings"]) == {"policiesSeconds"}


def test_the_command_prints_that_json_document(
        tmp_path: Path, project_copy: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a stack whose program registers two resources
    folder = project_copy("tiny", (PROJECT_DIR / "Pulumi.prod.yaml").read_text(), program=(
        "import pulumi\nimport pulumi_aws as aws\n"
        "queue = aws.sqs.Queue('jobs', sqs_managed_sse_enabled=True)\n"
        "aws.sqs.Queue('jobs-dlq', sqs_managed_sse_enabled=True)\n"
        "pulumi.export('queueUrl', queue.url)\n"))

    # WHEN the command prints JSON and also writes the markdown and JSON files CI keeps
    status = preview.main(["--stack", "tiny", "--cwd", str(folder), "--json", "--no-policies",
                           "--markdown-file", str(tmp_path / "out.md"),
                           "--json-file", str(tmp_path / "out.json")])
    document = json.loads(capsys.readouterr().out)

    # THEN stdout is the document, the files match it, and unknown outputs read "[unknown]"
    assert status == 0
    assert sorted(r["name"] for r in document["resources"]) == ["jobs", "jobs-dlq"]  # any order
    assert document["outputs"] == {"queueUrl": "[unknown]"}
    assert document["policiesSkipped"] is True
    assert json.loads((tmp_path / "out.json").read_text())["resources"] == document["resources"]
    assert (tmp_path / "out.md").read_text().startswith("### Offline preview of `tiny`")


def test_json_marks_unknown_outputs_and_masks_secret_inputs(prod_result: PreviewResult) -> None:
    snapshot = prod_result.snapshot
    assert snapshot is not None
    unknown = [name for name, value in snapshot.outputs.items() if "04da6b54" in json.dumps(value)]
    assert unknown, "expected at least one output computed by AWS (e.g. the VPC id)"

    document = json.loads(render_json(prod_result))

    for name in unknown:
        assert "[unknown]" in json.dumps(document["outputs"][name])
    text = json.dumps(document)
    assert "04da6b54-80e4-46f7-96ec-b56ff0331ba9" not in text
    assert "1b47061264138c4ac30d75fd1eb44270" not in text  # a secret's wire signature


def test_text_shows_the_caveats_the_tree_and_the_summary(prod_result: PreviewResult) -> None:
    snapshot = prod_result.snapshot
    assert snapshot is not None

    out = render_text(prod_result)

    head = out.splitlines()[:4]
    assert "offline" in head[0]
    assert any("no diff against deployed state" in line for line in head)
    assert any("no provider-side validation" in line for line in head)
    assert any("unknown" in line for line in head)
    tree = out.split("\n\n")[1]
    assert len([line for line in tree.splitlines() if line.startswith(" +   ")]) == len(snapshot) + 1
    assert f"+ {len(snapshot) + 1} to create" in out
    assert "Policies:\n    " in out and "By tier:" in out and "By type:" in out and "Outputs:" in out


def test_a_broken_stack_file_exits_non_zero_with_its_one_line_error(
        run_preview: RunPreview, project_copy: Callable[..., Path]) -> None:
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
