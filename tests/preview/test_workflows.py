"""The GitHub workflows are valid and do what the README and docs/delivery.md promise."""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline.engine import PROJECT_DIR

WORKFLOWS = sorted((PROJECT_DIR / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((PROJECT_DIR / ".github" / "actions").glob("*/action.yml"))
PULUMI_CLOUD = "./.github/actions/pulumi-cloud"
PYTHON = "./.github/actions/python"


def _load(path: Path | str) -> dict[str, Any]:
    path = Path(path) if isinstance(path, Path) else PROJECT_DIR / ".github" / "workflows" / path
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)  # YAML 1.1 reads `on:` as True
    return dict(document)


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def _uses(job: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [s for s in _steps(job) if str(s.get("uses", "")).startswith(prefix)]


def _pulumi(job: dict[str, Any], command: str) -> dict[str, Any]:
    found = [s["with"] for s in _uses(job, "pulumi/actions@") if s.get("with", {}).get("command") == command]
    assert len(found) == 1, f"expected one pulumi/actions step running {command}"
    assert _uses(job, PULUMI_CLOUD), "a real preview or update needs the OIDC credentials and the venvs"
    return dict(found[0])


def _validate(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema,
                           *map(str, files)], capture_output=True, text=True, timeout=120, check=False)


def test_every_workflow_is_valid_against_the_github_workflow_schema() -> None:
    # GIVEN the workflow files and the GitHub workflow schema vendored in check-jsonschema
    assert WORKFLOWS, "no .github/workflows/*.yml"

    # WHEN check-jsonschema validates them (offline: the schema ships with the package)
    result = _validate("vendor.github-workflows", WORKFLOWS)

    # THEN they are valid
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_local_action_is_valid_against_the_github_action_schema() -> None:
    assert {p.parent.name for p in ACTIONS} == {"python", "pulumi-cloud"}

    result = _validate("vendor.github-actions", ACTIONS)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: [push]\njobs:\n  a:\n    steps:\n      - run: make test\n")

    result = _validate("vendor.github-workflows", [broken])

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
    assert _uses(preview, "actions/github-script@")
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


def test_a_pull_request_previews_each_stack_in_its_preview_environment_with_the_pack() -> None:
    job = _load("pull-request.yml")["jobs"]["cloud-preview"]

    assert set(job["strategy"]["matrix"]["stack"]) == {"prod", "staging"}
    assert job["environment"] == "${{ matrix.stack }}-preview"
    step = _pulumi(job, "preview")
    assert step["policyPacks"] == "policies"
    assert step["stack-name"] == "${{ vars.PULUMI_ORGANIZATION }}/${{ matrix.stack }}"
    assert step["comment-on-pr"] is True
    # never on a fork's pull request, never before the bootstrap created the identities
    assert "github.event.pull_request.head.repo.full_name == github.repository" in job["if"]
    assert "vars.PULUMI_ORGANIZATION != ''" in job["if"]


def test_main_deploys_staging_then_previews_prod_before_the_approval() -> None:
    workflow = _load("deploy.yml")
    jobs = workflow["jobs"]

    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert jobs["staging"]["needs"] == "test" and jobs["staging"]["environment"] == "staging"
    assert _pulumi(jobs["staging"], "up")["stack-name"].endswith("/staging")
    assert _pulumi(jobs["staging"], "up")["policyPacks"] == "policies"

    # the prod preview runs before the approval, without reviewers, and is posted as a summary
    plan = jobs["prod-preview"]
    assert plan["needs"] == "staging" and plan["environment"] == "prod-preview"
    assert "pulumi preview --stack \"$STACK\" --policy-pack policies --json > build/prod-reviewed.json" \
        in _runs(plan)
    assert "scripts/reviewed_plan.py summary build/prod-reviewed.json" in _runs(plan)
    assert '>> "$GITHUB_STEP_SUMMARY"' in _runs(plan)
    assert _uses(plan, "actions/upload-artifact@")[0]["with"]["name"] == "prod-reviewed-preview"


def test_prod_applies_only_the_reviewed_changes_after_the_approval() -> None:
    job = _load("deploy.yml")["jobs"]["prod"]

    assert job["needs"] == "prod-preview"
    assert job["environment"] == "prod"  # required reviewers: the manual approval
    steps = _steps(job)
    download = next(i for i, s in enumerate(steps)
                    if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    check = next(i for i, s in enumerate(steps) if "reviewed_plan.py compare" in s.get("run", ""))
    up = next(i for i, s in enumerate(steps) if s.get("with", {}).get("command") == "up")
    assert download < check < up
    assert steps[download]["with"]["name"] == "prod-reviewed-preview"
    assert _pulumi(job, "up")["stack-name"].endswith("/prod")
    assert _pulumi(job, "up")["policyPacks"] == "policies"


def test_no_workflow_stores_a_long_lived_credential() -> None:
    for path in [*WORKFLOWS, *ACTIONS]:
        assert "secrets." not in path.read_text(), f"{path.name} reads a secret: use the OIDC exchange"
    action = _load(PROJECT_DIR / ".github" / "actions" / "pulumi-cloud" / "action.yml")
    steps = action["runs"]["steps"]
    auth = next(s for s in steps if str(s.get("uses", "")).startswith("pulumi/auth-actions@"))
    assert auth["with"]["requested-token-type"] == "urn:pulumi:token-type:access_token:organization"
    aws = next(s for s in steps
               if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@"))
    assert aws["with"]["role-to-assume"] == "${{ inputs.aws-role-arn }}"


def test_every_job_with_cloud_credentials_names_an_environment_and_may_request_a_token() -> None:
    for path in WORKFLOWS:
        for name, job in _load(path)["jobs"].items():
            if _uses(job, PULUMI_CLOUD):
                assert job.get("environment"), f"{path.name}:{name} assumes a role outside an environment"
                assert job["permissions"]["id-token"] == "write", f"{path.name}:{name}"
                assert "vars.AWS_ROLE_ARN" in str(_uses(job, PULUMI_CLOUD)[0]["with"]["aws-role-arn"])


def test_wheels_and_plugins_are_cached() -> None:
    python = _load(PROJECT_DIR / ".github" / "actions" / "python" / "action.yml")
    (setup,) = python["runs"]["steps"]
    assert setup["with"]["cache"] == "pip"
    patterns = setup["with"]["cache-dependency-path"].split()
    requirements = [str(p.relative_to(PROJECT_DIR)) for p in PROJECT_DIR.rglob("requirements*.txt")
                    if not {".venv", "build", "venv"} & set(p.relative_to(PROJECT_DIR).parts)]
    uncovered = [r for r in requirements if not any(fnmatch.fnmatch(r, p) for p in patterns)]
    assert not uncovered, f"the pip cache key misses {uncovered}"

    cloud = _load(PROJECT_DIR / ".github" / "actions" / "pulumi-cloud" / "action.yml")["runs"]["steps"]
    cache = next(s for s in cloud if str(s.get("uses", "")).startswith("actions/cache@"))
    assert cache["with"]["path"] == "~/.pulumi/plugins"
    assert "hashFiles('requirements.txt'" in cache["with"]["key"]  # the provider pins live there
    for path in WORKFLOWS:
        for job in _load(path)["jobs"].values():
            assert not _uses(job, "actions/setup-python@"), "set Python up through ./.github/actions/python"
            assert _uses(job, PYTHON) or _uses(job, PULUMI_CLOUD)


@pytest.mark.parametrize("action", ["docker/setup-qemu-action@", "docker/setup-buildx-action@"])
def test_previews_and_deploys_can_build_the_arm64_images(action: str) -> None:
    # pulumi-docker-build builds the images inside `pulumi preview` (on CI) and `pulumi up`
    steps = _load(PROJECT_DIR / ".github" / "actions" / "pulumi-cloud" / "action.yml")["runs"]["steps"]
    found = [s for s in steps if str(s.get("uses", "")).startswith(action)]
    assert found
    if "qemu" in action:
        assert "arm64" in found[0]["with"]["platforms"]


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
    assert step["run"] == 'pulumi policy publish "$PULUMI_ORGANIZATION"'
    # the token is the environment's short-lived organization token, exchanged from its OIDC token
    assert publish["environment"] == "policy-pack" and publish["permissions"]["id-token"] == "write"
    auth = _uses(publish, "pulumi/auth-actions@")[0]
    assert auth["with"]["requested-token-type"] == "urn:pulumi:token-type:access_token:organization"


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
