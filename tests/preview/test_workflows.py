"""The GitHub workflows are valid and do what the README promises."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from offline.engine import PROJECT_DIR

WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))


def _load(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on:` as True
    return workflow


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def _pulumi(job: dict[str, Any], command: str) -> dict[str, Any]:
    found = [s["with"] for s in _steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@")
             and s.get("with", {}).get("command") == command]
    assert len(found) == 1, f"expected one pulumi/actions step running {command}"
    # a real preview or update needs the program's and the pack's venvs and the Lambda layer
    assert "pulumi install\n" in _runs(job) and "pulumi install --cwd policies" in _runs(job)
    assert "scripts/build_lambda_layers.py" in _runs(job)
    return found[0]


def test_every_workflow_is_valid_against_the_github_workflow_schema() -> None:
    # GIVEN the workflow files and the GitHub workflow schema vendored in check-jsonschema
    assert WORKFLOWS, "no .github/workflows/*.yml"

    # WHEN check-jsonschema validates them (offline: the schema ships with the package)
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.github-workflows", *map(str, WORKFLOWS)],
                            capture_output=True, text=True, timeout=120, check=False)

    # THEN they are valid
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: [push]\njobs:\n  a:\n    steps:\n      - run: make test\n")

    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                             "vendor.github-workflows", str(broken)],
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 1
    assert "runs-on" in result.stdout


def test_pull_requests_run_the_tests_and_post_the_offline_preview() -> None:
    workflow = _load("pull-request.yml")
    jobs = workflow["jobs"]

    assert "pull_request" in workflow["on"]
    assert "make test" in _runs(jobs["test"])
    preview = jobs["offline-preview"]
    assert set(preview["strategy"]["matrix"]["stack"]) == {"prod", "staging"}
    assert "make preview STACK=${{ matrix.stack }}" in _runs(preview)
    assert "--markdown-file" in _runs(preview)
    assert "$GITHUB_STEP_SUMMARY" in _runs(preview)
    assert any(str(s.get("uses", "")).startswith("actions/github-script@") for s in _steps(preview))
    assert preview["permissions"]["pull-requests"] == "write"


def test_pull_requests_upload_the_violations_to_code_scanning() -> None:
    preview = _load("pull-request.yml")["jobs"]["offline-preview"]

    # the preview writes SARIF, and code scanning receives it (one category per stack)
    assert "--sarif build/preview-${{ matrix.stack }}.sarif" in _runs(preview)
    [upload] = [s for s in _steps(preview)
                if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
    assert upload["with"]["sarif_file"] == "build/preview-${{ matrix.stack }}.sarif"
    assert "${{ matrix.stack }}" in upload["with"]["category"]
    assert upload["if"].startswith("always()")
    assert preview["permissions"]["security-events"] == "write"


def test_the_real_preview_runs_only_with_credentials_and_the_local_pack() -> None:
    jobs = _load("pull-request.yml")["jobs"]

    cloud = jobs["cloud-preview"]
    assert cloud["needs"] == "credentials"
    assert cloud["if"] == "needs.credentials.outputs.available == 'true'"
    step = _pulumi(cloud, "preview")
    assert step["policyPacks"] == "policies"
    assert step["stack-name"] == "${{ matrix.stack }}"
    assert "secrets.PULUMI_ACCESS_TOKEN" in yaml.safe_dump(jobs["credentials"])


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_main_deploys_with_the_pack(stack: str) -> None:
    job = _load("deploy.yml")["jobs"][stack]

    step = _pulumi(job, "up")
    assert step["stack-name"] == stack
    assert step["policyPacks"] == "policies"
    assert job["environment"] == stack


def test_prod_is_deployed_after_staging_behind_its_environment() -> None:
    workflow = _load("deploy.yml")
    jobs = workflow["jobs"]

    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "test" in jobs["staging"]["needs"]
    assert jobs["prod"]["needs"] == "staging"
    assert jobs["prod"]["environment"] == "prod"  # required reviewers: the manual approval
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_the_policy_pack_is_published_on_a_tag_after_the_tests_pass() -> None:
    workflow = _load("release-policy-pack.yml")
    jobs = workflow["jobs"]

    # a tag policy-pack-v<version> starts it; the tests and lint run first
    assert workflow["on"]["push"]["tags"] == ["policy-pack-v*"]
    assert "make test" in _runs(jobs["test"]) and "make lint" in _runs(jobs["test"])
    publish = jobs["publish"]
    assert publish["needs"] == "test"
    # the tag must name the one version (PulumiPolicy.yaml), then the pack's venv, then publish
    runs = _runs(publish)
    assert "policies/PulumiPolicy.yaml" in runs and "policy-pack-v$version" in runs
    assert "pulumi install --cwd policies" in runs
    [step] = [s for s in _steps(publish) if "pulumi policy publish" in s.get("run", "")]
    assert step["working-directory"] == "policies"
    assert step["run"] == 'pulumi policy publish "$PULUMI_ORG"'
    assert "secrets.PULUMI_ACCESS_TOKEN" in step["env"]["PULUMI_ACCESS_TOKEN"]


def test_the_pack_version_lives_in_one_place() -> None:
    # GIVEN the version of PulumiPolicy.yaml
    manifest = yaml.safe_load((PROJECT_DIR / "policies" / "PulumiPolicy.yaml").read_text())
    version = str(manifest["version"])

    # THEN no other file of the pack, and no doc, writes it down again
    others = [p for p in (PROJECT_DIR / "policies").rglob("*")
              if p.is_file() and p.name != "PulumiPolicy.yaml" and "venv" not in p.parts
              and "__pycache__" not in p.parts and version in p.read_text(errors="replace")]
    others += [p for p in (PROJECT_DIR / "docs").glob("*.md") if f"v{version}" in p.read_text()]
    assert others == []
