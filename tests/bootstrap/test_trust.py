"""The roles trust exactly the GitHub environments the workflows run their cloud jobs in."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from bootstrap.ci_access import github
from offline.engine import Snapshot
from tests.support.bootstrap import WORKFLOWS_DIR, load_workflow, trust_subjects

CLOUD_ACTION = "./.github/actions/pulumi-cloud"
REPOSITORY_KEY = "ecommerce-bootstrap:repository"


def _environments(job: dict[str, Any]) -> set[str]:
    """The environment names a job runs in, its matrix expanded."""
    environment = job.get("environment")
    name = environment.get("name") if isinstance(environment, dict) else environment
    if not name:
        return set()
    matrix = {k: v for k, v in (job.get("strategy", {}).get("matrix") or {}).items() if isinstance(v, list)}
    names = set()
    for combination in itertools.product(*matrix.values()):
        expanded = str(name)
        for key, value in zip(matrix, combination, strict=True):
            expanded = expanded.replace("${{ matrix." + key + " }}", str(value))
        names.add(expanded)
    return names


def _cloud_jobs() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(workflow file, job id, job, workflow) of every job that assumes an AWS role."""
    found = []
    for path in sorted(WORKFLOWS_DIR.glob("*.yml")):
        workflow = load_workflow(path.name)
        for name, job in workflow["jobs"].items():
            if any(step.get("uses") == CLOUD_ACTION for step in job.get("steps", [])):
                found.append((path.name, name, job, workflow))
    return found


def _role_duration(job: dict[str, Any]) -> int:
    step = next(s for s in job["steps"] if s.get("uses") == CLOUD_ACTION)
    return int(step["with"]["role-duration-seconds"])


@pytest.fixture(scope="module")
def used() -> dict[str, set[str]]:
    """Environment kind ("deploy" / "preview") -> the names the workflows use."""
    kinds: dict[str, set[str]] = {"deploy": set(), "preview": set()}
    for _file, _name, job, _workflow in _cloud_jobs():
        for environment in _environments(job):
            kind = "preview" if environment.endswith(github.PREVIEW_SUFFIX) else "deploy"
            kinds[kind].add(environment)
    return kinds


def test_the_trust_subjects_match_the_workflows_environments(bootstrap: Snapshot,
                                                              used: dict[str, set[str]]) -> None:
    # GIVEN the environments the workflows' cloud jobs run in
    repository = bootstrap.config[REPOSITORY_KEY]
    assert used["deploy"] == {"staging", "prod"}
    assert used["preview"] == {"staging-preview", "prod-preview"}

    # WHEN the bootstrap's roles are read
    preview = trust_subjects(bootstrap.named("ci-preview"))
    deploy = {r.name.removeprefix("ci-deploy-"): trust_subjects(r)
              for r in bootstrap.of_type("aws:iam/role:Role") if r.name.startswith("ci-deploy-")}

    # THEN the preview role trusts exactly the preview environments, each deploy role exactly its
    # stack's environment, and no workflow job needs a subject that no role trusts
    assert preview == {f"repo:{repository}:environment:{e}" for e in used["preview"]}
    assert deploy == {
        e: {f"repo:{repository}:environment:{e}"} for e in used["deploy"]}


def test_the_trust_is_for_githubs_token_for_sts_and_exact_subjects(bootstrap: Snapshot) -> None:
    for role in bootstrap.of_type("aws:iam/role:Role"):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].endswith(
            ":oidc-provider/token.actions.githubusercontent.com")
        assert set(statement["Condition"]) == {"StringEquals"}  # no StringLike: no wildcard subjects
        assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:aud"] == \
            "sts.amazonaws.com"
        assert not any("*" in s for s in trust_subjects(role))
    (provider,) = bootstrap.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_pull_requests_only_ever_reach_the_preview_role() -> None:
    for file, name, job, workflow in _cloud_jobs():
        triggers = set(workflow["on"])
        assert "pull_request_target" not in triggers, f"{file}: pull_request_target runs fork code"
        if "pull_request" in triggers:
            assert all(e.endswith(github.PREVIEW_SUFFIX) for e in _environments(job)), f"{file}:{name}"
        else:
            assert triggers <= {"push", "workflow_dispatch"}, f"{file}: deploys only from main"
            assert workflow["on"]["push"]["branches"] == ["main"]


def test_sessions_last_as_long_as_the_job_and_no_longer_than_the_role_allows(bootstrap: Snapshot) -> None:
    longest = {r.name: int(r.inputs.get("maxSessionDuration", 3600))  # IAM's default: one hour
               for r in bootstrap.of_type("aws:iam/role:Role")}
    for file, name, job, _workflow in _cloud_jobs():
        for environment in _environments(job):
            role = "ci-preview" if environment.endswith(github.PREVIEW_SUFFIX) else f"ci-deploy-{environment}"
            assert _role_duration(job) <= longest[role], f"{file}:{name} asks more than {role} allows"
            assert job["timeout-minutes"] * 60 <= _role_duration(job), \
                f"{file}:{name} can outlive its credentials"


def test_pulumi_cloud_trusts_the_same_jobs_for_an_organization_token(bootstrap: Snapshot,
                                                                      used: dict[str, set[str]]) -> None:
    repository = bootstrap.config[REPOSITORY_KEY]
    organization = bootstrap.config["ecommerce-bootstrap:pulumiOrganization"]
    (issuer,) = bootstrap.of_type("pulumiservice:index:OidcIssuer")

    assert issuer.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert issuer.inputs["organization"] == organization
    release = f"repo:{repository}:environment:{github.RELEASE_ENVIRONMENT}"
    policies = {p["rules"]["sub"]: p for p in issuer.inputs["policies"]}
    assert set(policies) == {f"repo:{repository}:environment:{e}"
                             for e in used["deploy"] | used["preview"]} | {release}
    assert {p["rules"]["aud"] for p in policies.values()} == {f"urn:pulumi:org:{organization}"}
    assert {(p["decision"], p["tokenType"]) for p in policies.values()} == {("allow", "organization")}
    # the stacks' jobs get a standard token; only the pack's release job an admin one
    assert {s: p["authorizedPermissions"] for s, p in policies.items()} == {
        s: ["admin"] if s == release else ["standard"] for s in policies}


def test_the_release_workflow_publishes_from_the_environment_pulumi_cloud_trusts() -> None:
    publish = load_workflow("release-policy-pack.yml")["jobs"]["publish"]

    assert publish["environment"] == github.RELEASE_ENVIRONMENT
    assert any(str(s.get("uses", "")).startswith("pulumi/auth-actions@") for s in publish["steps"])
