"""The CI identities of one AWS account: run once per account by an administrator.

    cd bootstrap && pulumi up --stack <account> --policy-pack ../policies \
        --policy-pack-config policy-config.json

Creates the GitHub OIDC provider, the read-only preview role and a deploy role per stack deployed
to this account, and optionally GitHub's trust in the Pulumi Cloud organization. Exports the
variables to set in each GitHub environment. docs/delivery.md walks through it.
"""

import pulumi
import pulumi_aws as aws

from ci_access.component import GitHubAccess, GitHubAccessArgs
from ci_access.config import BootstrapConfig

cfg = BootstrapConfig.load()
account_id = aws.get_caller_identity().account_id

access = GitHubAccess("ci", GitHubAccessArgs(
    account_id=account_id,
    repository=cfg.repository,
    stacks=cfg.stacks,
    existing_provider_arn=cfg.github_oidc_provider_arn,
    deploy_session_seconds=cfg.deploy_session_seconds,
    pulumi_organization=cfg.pulumi_organization,
))

pulumi.export("githubOidcProviderArn", access.provider_arn)
pulumi.export("previewRoleArn", access.preview_role_arn)
pulumi.export("deployRoleArns", access.deploy_role_arns)
pulumi.export("githubEnvironmentVariables", access.environment_variables)
