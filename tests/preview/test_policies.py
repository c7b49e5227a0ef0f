"""The offline preview runs the real policy pack the way the engine does, and fails like the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from offline import preview
from offline.engine import PROJECT_DIR, Snapshot
from offline.render import PreviewResult

PROD_STACK = (PROJECT_DIR / "Pulumi.prod.yaml").read_text()
EKS = '''
aws.eks.Cluster("k8s", role_arn="arn:aws:iam::123456789012:role/eks",
                vpc_config={"subnet_ids": ["subnet-0a", "subnet-0b"]})
'''
# The shop as it is, plus the case study's rejected container platform.
PLANTED_IN_THE_SHOP = f'''
import runpy

import pulumi_aws as aws

runpy.run_path({str(PROJECT_DIR / "__main__.py")!r}, run_name="__main__")
{EKS}'''


def test_a_planted_anti_pattern_fails_the_preview_and_names_the_policy(
        project_copy: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the prod stack with an EKS cluster planted in the program
    folder = project_copy("planted", PROD_STACK, program=PLANTED_IN_THE_SHOP)
    document_file = tmp_path / "preview.json"

    # WHEN the offline preview runs it with the policy pack
    status = preview.main(["--stack", "planted", "--cwd", str(folder), "--json-file",
                           str(document_file)])
    out = capsys.readouterr().out

    # THEN it exits 1 and, like the CLI, names the pack, the level, the policy and the resource
    assert status == 1
    policies = out.split("\nPolicies:\n", 1)[1].split("\n\n", 1)[0]
    assert policies.splitlines()[0].startswith("    ❌ ecommerce-guardrails@v")
    assert "aws:eks:Cluster  k8s\n          - [mandatory]  eks-disallow\n" in policies
    document = json.loads(document_file.read_text())
    [violation] = [v for v in document["policies"]["violations"] if v["policy"] == "eks-disallow"]
    assert violation["level"] == "mandatory"
    assert violation["urn"].endswith("aws:eks/cluster:Cluster::k8s")
    assert document["exitCode"] == 1


def test_policy_config_sets_the_enforcement_level(
        project_copy: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an EKS cluster and a policy config (the `--policy-pack-config` shape) that makes the
    # policy advisory
    folder = project_copy("planted", PROD_STACK, program=f"import pulumi_aws as aws\n{EKS}")
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


def test_an_invalid_policy_config_is_a_one_line_error(prod_preview: Snapshot) -> None:
    result = preview.preview_of(prod_preview, policy_config={"no-such-policy": "mandatory"})

    assert result.exit_code == 2
    assert result.error is not None
    assert result.error.startswith("policy pack policies: invalid policy pack config")
    assert "no-such-policy" in result.error and len(result.error.splitlines()) == 1


def test_prod_passes_its_mandatory_policies(prod_result: PreviewResult) -> None:
    # GIVEN the shipped prod stack and the shipped pack
    assert prod_result.policies is not None and prod_result.error is None

    # THEN no mandatory policy fails, so `make preview` exits 0
    assert [str(v.urn) + ": " + v.policy for v in prod_result.policies.blocking] == []
    assert prod_result.exit_code == 0
