"""The offline preview runs the real policy pack the way the engine does, and fails like the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline import preview
from offline.engine import PROJECT_DIR
from tests.preview.conftest import RunPreview

PROD_STACK = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
# The shop as it is, plus the case study's rejected container platform.
PLANTED_EKS = f'''
import runpy

import pulumi_aws as aws

runpy.run_path({str(PROJECT_DIR / "__main__.py")!r}, run_name="__main__")
aws.eks.Cluster("k8s", role_arn="arn:aws:iam::123456789012:role/eks",
                vpc_config={{"subnet_ids": ["subnet-0a", "subnet-0b"]}})
'''


def test_a_planted_anti_pattern_fails_the_preview_and_names_the_policy(
        run_preview: RunPreview, project_copy, tmp_path: Path) -> None:
    # GIVEN the prod stack with an EKS cluster planted in the program
    folder = project_copy("planted", PROD_STACK, program=PLANTED_EKS)
    document_file = tmp_path / "preview.json"

    # WHEN the offline preview runs it with the policy pack
    result = run_preview("--stack", "planted", "--cwd", folder, "--json-file", document_file)

    # THEN it exits 1 and, like the CLI, names the pack, the level, the policy and the resource
    assert result.returncode == 1, result.stderr
    policies = result.stdout.split("\nPolicies:\n", 1)[1].split("\n\n", 1)[0]
    assert policies.splitlines()[0].startswith("    ❌ ecommerce-guardrails@v")
    assert "aws:eks:Cluster  k8s" in policies
    assert "[mandatory]  eks-disallow" in policies
    document = json.loads(document_file.read_text())
    [violation] = [v for v in document["policies"]["violations"] if v["policy"] == "eks-disallow"]
    assert violation["level"] == "mandatory"
    assert violation["urn"].endswith("aws:eks/cluster:Cluster::k8s")
    assert document["exitCode"] == 1


def test_policy_config_sets_the_enforcement_level(
        project_copy, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the planted cluster and a policy config (the `--policy-pack-config` shape) that makes
    # the policy advisory
    folder = project_copy("planted", PROD_STACK, program=PLANTED_EKS)
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"eks-disallow": {"enforcementLevel": "advisory"}}))

    # WHEN the preview runs with it
    status = preview.main(["--stack", "planted", "--cwd", str(folder), "--policy-config", str(config),
                           "--json"])
    document = json.loads(capsys.readouterr().out)

    # THEN the violation is still reported, as advisory, and the preview passes
    assert status == 0
    [violation] = [v for v in document["policies"]["violations"] if v["policy"] == "eks-disallow"]
    assert violation["level"] == "advisory"


def test_an_invalid_policy_config_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"no-such-policy": "mandatory"}))

    status = preview.main(["--stack", "prod", "--policy-config", str(config)])

    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error: policy pack policies: invalid policy pack config")
    assert "no-such-policy" in err and len(err.strip().splitlines()) == 1


def test_the_shipped_stacks_pass_their_mandatory_policies(capsys: pytest.CaptureFixture[str]) -> None:
    for stack in ("prod", "staging"):
        status = preview.main(["--stack", stack, "--json"])
        document = json.loads(capsys.readouterr().out)

        mandatory = [v for v in document["policies"]["violations"] if v["level"] == "mandatory"]
        assert (status, mandatory) == (0, []), stack
