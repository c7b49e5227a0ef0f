"""bootstrap/ previews offline, under the same policy pack, with zero mandatory violations."""

from __future__ import annotations

import json
from typing import Any

from offline.engine import Snapshot
from offline.preview import preview_of, run_preview
from tests.support.bootstrap import BOOTSTRAP_DIR, BOOTSTRAP_STACK, RunBootstrap, documents, trust_subjects


def test_the_bootstrap_previews_clean_under_the_pack_with_its_policy_config(
        bootstrap: Snapshot, bootstrap_policy_config: dict[str, Any]) -> None:
    # GIVEN the bootstrap stack and the policy config it is deployed with
    # WHEN the pack analyzes it through the Analyzer interface
    result = preview_of(bootstrap, policy_config=bootstrap_policy_config)

    # THEN nothing mandatory fails, and the pack did run its IAM rule on the roles' documents
    assert result.error is None
    assert result.policies is not None
    assert not result.policies.blocking, [v.message for v in result.policies.violations]
    assert result.exit_code == 0
    assert "iam-policy-disallow-wildcards" in {p.name for p in result.policies.policies}


def test_the_pack_checks_the_deploy_roles_a_wildcard_write_fails_it(bootstrap: Snapshot) -> None:
    # GIVEN the bootstrap stack and the pack's default config (no `*`-only writes allowed)
    # WHEN the pack analyzes it
    result = preview_of(bootstrap)

    # THEN the deploy policies that create ECS clusters and KMS keys (IAM grants those on `*`
    # only) fail the mandatory IAM rule, so the exceptions live in one reviewed file
    assert result.policies is not None
    assert all(v.urn is not None for v in result.policies.blocking)
    failed = {(v.policy, v.urn.rsplit("::", 1)[-1]) for v in result.policies.blocking if v.urn is not None}
    assert failed and {policy for policy, _ in failed} == {"iam-policy-disallow-wildcards"}
    assert {name.rsplit("-", 1)[0] for _, name in failed} == {"ci-deploy-prod", "ci-deploy-staging"}
    assert all("kms:CreateKey" in v.message for v in result.policies.blocking)


def test_the_command_line_preview_runs_the_bootstrap_folder() -> None:
    # GIVEN the bootstrap folder WHEN `python -m offline.preview --cwd bootstrap` runs it
    result = run_preview(BOOTSTRAP_STACK, project_dir=BOOTSTRAP_DIR,
                         policy_config=json.loads((BOOTSTRAP_DIR / "policy-config.json").read_text()))

    # THEN it previews the bootstrap project (its own name, config namespace and resources)
    assert result.exit_code == 0, result.error
    assert result.snapshot is not None and result.snapshot.project == "ecommerce-bootstrap"
    assert {r.type for r in result.snapshot.custom()} >= {
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:iam/role:Role",
        "aws:iam/policy:Policy", "pulumiservice:index:OidcIssuer"}


def test_every_policy_document_is_literal_so_the_pack_decides_at_preview(bootstrap: Snapshot) -> None:
    # GIVEN the bootstrap in preview mode (computed values unknown)
    # THEN every role's trust and every permission document is a known JSON document
    trusts = documents(bootstrap, "aws:iam/role:Role", key="assumeRolePolicy")
    policies = documents(bootstrap, "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy")
    assert set(trusts) == {"ci-preview", "ci-deploy-staging", "ci-deploy-prod"}
    assert len(policies) >= 3
    assert all(doc["Version"] == "2012-10-17" for doc in [*trusts.values(), *policies.values()])


def test_an_existing_github_provider_is_reused_instead_of_created(run_bootstrap_with: RunBootstrap) -> None:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    snapshot = run_bootstrap_with({"ecommerce-bootstrap:githubOidcProviderArn": arn})

    assert not snapshot.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    for role in snapshot.of_type("aws:iam/role:Role"):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert statement["Principal"] == {"Federated": arn}
    assert all(trust_subjects(r) for r in snapshot.of_type("aws:iam/role:Role"))


def test_without_a_pulumi_organization_pulumi_cloud_is_left_alone(run_bootstrap_with: RunBootstrap) -> None:
    snapshot = run_bootstrap_with({"ecommerce-bootstrap:pulumiOrganization": ""})

    assert not snapshot.of_type("pulumiservice:index:OidcIssuer")
