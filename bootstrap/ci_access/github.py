"""Who may assume the CI roles: GitHub Actions jobs of one repository, by GitHub environment.

GitHub's OIDC token names the job in its `sub` claim. When a job references an environment the
claim is `repo:<owner>/<repo>:environment:<name>`, whatever the event (a pull request too); only
jobs without an environment get `repo:<owner>/<repo>:pull_request` or `...:ref:<ref>`. Every job
here that assumes a role names an environment, so the trust is by environment:

- `<stack>` (deploy): the deploy role of that stack; the `prod` environment carries the required
  reviewers, so prod's credentials exist only after a person approved;
- `<stack>-preview` (no reviewers): the read-only preview role; pull requests and the deploy
  workflow's pre-approval preview run there;
- `policy-pack` (Pulumi Cloud only, no AWS role): the release workflow publishes the policy pack
  from there with an organization token.

Fork pull requests never reach either: GitHub gives a fork's `pull_request` run no OIDC token.
https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

ISSUER_HOST = "token.actions.githubusercontent.com"
ISSUER_URL = f"https://{ISSUER_HOST}"
AWS_AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials asks GitHub for
REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
PREVIEW_SUFFIX = "-preview"
RELEASE_ENVIRONMENT = "policy-pack"
"""The environment of .github/workflows/release-policy-pack.yml's publish job."""


def deploy_environment(stack: str) -> str:
    """The GitHub environment whose jobs deploy `stack`."""
    return stack


def preview_environment(stack: str) -> str:
    """The GitHub environment (no reviewers) whose jobs preview `stack` read-only."""
    return f"{stack}{PREVIEW_SUFFIX}"


def subject(repository: str, environment: str) -> str:
    """The `sub` claim of a job of `repository` that runs in `environment`."""
    return f"repo:{repository}:environment:{environment}"


def provider_arn(account_id: str) -> str:
    """The ARN IAM gives the account's OIDC provider for GitHub (one per URL and account)."""
    return f"arn:aws:iam::{account_id}:oidc-provider/{ISSUER_HOST}"


def trust_policy(provider: str, subjects: Iterable[str]) -> str:
    """AssumeRoleWithWebIdentity for exactly these subjects, with GitHub's token for STS.

    StringEquals, not StringLike: no wildcard can widen the subjects.
    """
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActionsJobs",
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER_HOST}:aud": AWS_AUDIENCE,
                f"{ISSUER_HOST}:sub": sorted(set(subjects)),
            }},
        }],
    }, indent=2)
