"""GitHubAccess: the identities the workflows assume, in one AWS account (and Pulumi Cloud).

- the account's IAM OIDC provider for GitHub Actions (audience sts.amazonaws.com; no thumbprint:
  IAM validates GitHub's certificate against its own trusted CAs, and pulumi-aws 7 makes
  `thumbprint_lists` optional);
- a read-only preview role, trusted by the `<stack>-preview` environments of the stacks here;
- one deploy role per stack, trusted only by the GitHub environment of the same name, with the
  permissions derived from what that stack manages (permissions.py);
- optionally, GitHub registered as an OIDC issuer of the Pulumi Cloud organization, allowing the
  same job subjects, and nothing else, to exchange their token for a short-lived organization
  token (`pulumi/auth-actions`), which replaces a long-lived PULUMI_ACCESS_TOKEN secret; and the
  `policy-pack` environment of the release workflow, for an admin organization token (publishing a
  policy pack is an organization administrator's action).
  https://www.pulumi.com/docs/administration/access-identity/oidc-issuers/github/

Every policy document is built from literals (the provider's ARN is composed, not read from the
created resource), so the policy pack checks them in `pulumi preview`, not only at `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_pulumiservice as pulumiservice

from . import github, permissions
from .permissions import StackInventory


@dataclass(frozen=True, kw_only=True)
class GitHubAccessArgs:
    account_id: str
    repository: str
    stacks: Sequence[StackInventory]
    existing_provider_arn: str | None = None  # the account already trusts GitHub: reuse that
    deploy_session_seconds: int = 3600
    pulumi_organization: str | None = None


class GitHubAccess(pulumi.ComponentResource):
    provider_arn: pulumi.Output[str]
    """The IAM OIDC provider the roles trust."""
    preview_role_arn: pulumi.Output[str]
    """The read-only role of the `<stack>-preview` environments."""
    deploy_role_arns: pulumi.Output[Mapping[str, str]]
    """Stack name -> the deploy role of that stack's environment."""
    environment_variables: pulumi.Output[Mapping[str, Mapping[str, str]]]
    """GitHub environment -> the variables to set in it (AWS_ROLE_ARN)."""

    def __init__(self, name: str, args: GitHubAccessArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if not github.REPOSITORY.fullmatch(args.repository):
            raise ValueError(f"{name}: repository {args.repository!r} is not owner/name")
        if not args.stacks:
            raise ValueError(f"{name}: stacks must name at least one stack")
        super().__init__("ecommerce:ci:GitHubAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        provider_arn = args.existing_provider_arn or github.provider_arn(args.account_id)
        depends: list[pulumi.Resource] = []
        if args.existing_provider_arn is None:
            depends.append(aws.iam.OpenIdConnectProvider(
                f"{name}-github", url=github.ISSUER_URL, client_id_lists=[github.AWS_AUDIENCE],
                opts=child))
        role_opts = pulumi.ResourceOptions(parent=self, depends_on=depends)

        preview_subjects = [github.subject(args.repository, github.preview_environment(s.stack))
                            for s in args.stacks]
        preview_role = aws.iam.Role(
            f"{name}-preview",
            description=f"pulumi preview of {', '.join(s.stack for s in args.stacks)} from "
                        f"{args.repository}: reads what the program's data sources read, nothing else",
            assume_role_policy=github.trust_policy(provider_arn, preview_subjects),
            opts=role_opts)
        aws.iam.RolePolicy(f"{name}-preview-read", role=preview_role.id,
                           policy=permissions.preview_policy(args.stacks), opts=child)

        deploy_roles: dict[str, aws.iam.Role] = {}
        for stack in args.stacks:
            environment = github.deploy_environment(stack.stack)
            role = aws.iam.Role(
                f"{name}-deploy-{stack.stack}",
                description=f"pulumi up of {stack.stack} from {args.repository}, environment "
                            f"{environment}: the services that stack manages, on its resources",
                assume_role_policy=github.trust_policy(
                    provider_arn, [github.subject(args.repository, environment)]),
                max_session_duration=args.deploy_session_seconds,
                opts=role_opts)
            documents = permissions.deploy_policies(stack, args.account_id)
            for part, document in enumerate(documents, start=1):
                policy = aws.iam.Policy(
                    f"{name}-deploy-{stack.stack}-{part}",
                    description=f"pulumi up of {stack.stack}, part {part} of {len(documents)}: "
                                "derived from stack-inventory.json",
                    policy=document, opts=child)
                aws.iam.RolePolicyAttachment(f"{name}-deploy-{stack.stack}-{part}", role=role.name,
                                             policy_arn=policy.arn, opts=child)
            deploy_roles[stack.stack] = role

        if args.pulumi_organization:
            subjects = preview_subjects + [github.subject(args.repository,
                                                          github.deploy_environment(s.stack))
                                           for s in args.stacks]
            pulumiservice.OidcIssuer(
                f"{name}-pulumi-cloud", name=f"github-{args.repository.replace('/', '-')}",
                organization=args.pulumi_organization, url=github.ISSUER_URL,
                max_expiration_seconds=args.deploy_session_seconds,  # a deploy's whole session
                policies=[pulumiservice.AuthPolicyDefinitionArgs(
                    decision=pulumiservice.AuthPolicyDecision.ALLOW,
                    token_type=pulumiservice.AuthPolicyTokenType.ORGANIZATION,
                    authorized_permissions=[pulumiservice.AuthPolicyPermissionLevel.STANDARD],
                    rules={"aud": f"urn:pulumi:org:{args.pulumi_organization}", "sub": subject})
                    for subject in sorted(subjects)] + [pulumiservice.AuthPolicyDefinitionArgs(
                    decision=pulumiservice.AuthPolicyDecision.ALLOW,
                    token_type=pulumiservice.AuthPolicyTokenType.ORGANIZATION,
                    authorized_permissions=[pulumiservice.AuthPolicyPermissionLevel.ADMIN],
                    rules={"aud": f"urn:pulumi:org:{args.pulumi_organization}",
                           "sub": github.subject(args.repository, github.RELEASE_ENVIRONMENT)})],
                opts=child)

        self.provider_arn = pulumi.Output.from_input(provider_arn)
        self.preview_role_arn = preview_role.arn
        self.deploy_role_arns = pulumi.Output.all(
            **{stack: role.arn for stack, role in deploy_roles.items()})
        self.environment_variables = pulumi.Output.all(
            preview_role.arn, self.deploy_role_arns).apply(
            lambda values: {
                **{github.preview_environment(s.stack): {"AWS_ROLE_ARN": values[0]} for s in args.stacks},
                **{github.deploy_environment(s): {"AWS_ROLE_ARN": arn} for s, arn in values[1].items()},
            })
        self.register_outputs({"provider_arn": self.provider_arn,
                               "preview_role_arn": self.preview_role_arn,
                               "deploy_role_arns": self.deploy_role_arns,
                               "environment_variables": self.environment_variables})
