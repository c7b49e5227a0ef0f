"""The CI roles' permissions, derived from what the stack registers and reads.

`stack-inventory.json` (written by `python -m offline.inventory` from the program itself) lists,
per stack, the resource types, the data sources a preview calls, the Regions, the default tags,
the names of roles and buckets, and the AWS managed policies the stack attaches. From it:

- the **preview role** may call exactly the read APIs behind those data sources (a `pulumi preview`
  without `--refresh` reads the state from Pulumi Cloud and nothing else from AWS);
- a **deploy role** may manage the AWS services behind those resource types, scoped to the
  account and the stack's Regions (and, for IAM roles and S3 buckets, to the stack's own names and
  tags), plus the few write actions IAM grants only on `*`.

A type whose service is not in SERVICE_OF_MODULE is an error, so a new kind of resource in the
program fails the bootstrap tests instead of failing the deploy. What stays `*` and why:
docs/delivery.md. IAM facts: the Service Authorization Reference,
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# pulumi-aws module -> the IAM service prefix of its resources (`aws:<module>/<kind>:<Kind>`).
SERVICE_OF_MODULE: Mapping[str, str] = {
    "acm": "acm",
    "alb": "elasticloadbalancing",
    "appautoscaling": "application-autoscaling",
    "cloudfront": "cloudfront",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "ecr": "ecr",
    "ecs": "ecs",
    "elasticache": "elasticache",
    "iam": "iam",
    "kms": "kms",
    "lambda": "lambda",
    "lb": "elasticloadbalancing",
    "opensearch": "es",
    "rds": "rds",
    "route53": "route53",
    "s3": "s3",
    "scheduler": "scheduler",
    "secretsmanager": "secretsmanager",
    "sesv2": "ses",
    "sns": "sns",
    "sqs": "sqs",
    "vpc": "ec2",
    "wafv2": "wafv2",
}
# pulumi-aws keeps EventBridge, CloudWatch Logs and CloudWatch in one module, `cloudwatch`.
CLOUDWATCH_KIND_PREFIXES: Mapping[str, str] = {"event": "events", "log": "logs"}
# Resources of other packages that act on AWS: images pushed to the stack's ECR repositories.
OTHER_TYPES: Mapping[str, tuple[str, ...]] = {"docker-build:index:Image": ("ecr",)}

# Services whose resources have no Region in their ARN.
GLOBAL_SERVICES = frozenset({"iam", "cloudfront", "route53", "s3"})

# Write actions that IAM authorizes only on Resource "*" (no resource-level permissions in the
# Service Authorization Reference), per service; granted only when the stack uses the service,
# and only in the stack's Regions (aws:RequestedRegion).
WILDCARD_ONLY_WRITES: Mapping[str, tuple[str, ...]] = {
    "ecs": ("ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"),
    "kms": ("kms:CreateKey",),
    "lambda": ("lambda:CreateEventSourceMapping",),
    "logs": ("logs:PutResourcePolicy", "logs:DeleteResourcePolicy", "logs:CreateLogDelivery",
             "logs:UpdateLogDelivery", "logs:DeleteLogDelivery"),
    "ecr": ("ecr:GetAuthorizationToken",),
    "route53": ("route53:CreateHealthCheck",),
}
# Control-plane reads the provider makes with Resource "*" (Describe*/List* mostly lack
# resource-level permissions). S3's List* would list the objects of every bucket: S3 reads stay on
# the stack's buckets. IAM reads are scoped to the stack's roles below.
UNSCOPED_READ_VERBS = ("Describe*", "List*")
NO_UNSCOPED_READS = frozenset({"s3", "iam"})
# Public data the stack references: AWS's Powertools layer lives in an AWS-owned account.
EXTRA_READS = {"lambda": ("lambda:GetLayerVersion",)}

# Service-linked roles AWS creates on a service's first use in an account.
SERVICE_LINKED_ROLES: Mapping[str, tuple[str, ...]] = {
    "application-autoscaling": ("ecs.application-autoscaling.amazonaws.com",),
    "ecs": ("ecs.amazonaws.com",),
    "elasticache": ("elasticache.amazonaws.com",),
    "elasticloadbalancing": ("elasticloadbalancing.amazonaws.com",),
    "es": ("opensearchservice.amazonaws.com", "es.amazonaws.com"),
    "rds": ("rds.amazonaws.com",),
}

# What a preview reads from AWS: the APIs behind each data source the program calls.
# An empty tuple: the provider answers locally or from STS, which needs no permission.
INVOKE_READS: Mapping[str, tuple[str, ...]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": ("ec2:DescribeAvailabilityZones",),
    "aws:index/getCallerIdentity:getCallerIdentity": (),
    "aws:index/getPartition:getPartition": (),
    "aws:index/getRegion:getRegion": ("ec2:DescribeRegions",),
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": ("ec2:DescribeManagedPrefixLists",
                                                          "ec2:GetManagedPrefixListEntries"),
    "aws:elb/getServiceAccount:getServiceAccount": (),
    "aws:secretsmanager/getRandomPassword:getRandomPassword": ("secretsmanager:GetRandomPassword",),
    "aws:ssm/getParameter:getParameter": ("ssm:GetParameter",),
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": ("ecr:GetAuthorizationToken",),
    # only on the secrets the program names (StackInventory.secrets_read), never on "*"
    "aws:secretsmanager/getSecretVersion:getSecretVersion": ("secretsmanager:GetSecretValue",),
}
# The only parameters the program reads are AWS's public ones (the Powertools layer ARN):
# the preview role must not read the account's own parameters, which may hold secrets.
PUBLIC_PARAMETERS = "arn:aws:ssm:{region}::parameter/aws/service/*"

IAM_ROLE_WRITES = ("iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
                   "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                   "iam:TagRole", "iam:UntagRole", "iam:PassRole")
IAM_ROLE_READS = ("iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies",
                  "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRoleTags")

# IAM quotas: characters of one customer managed policy (whitespace excluded), and managed
# policies attached to one role (the default quota). The deploy policy is split to fit.
MANAGED_POLICY_LIMIT = 6_144
ATTACHED_POLICIES_PER_ROLE = 10


class UnmappedType(Exception):
    """A resource type whose AWS service this module does not know; `str()` says what to add."""


@dataclass(frozen=True, kw_only=True)
class StackInventory:
    """One stack's entry of stack-inventory.json."""

    stack: str
    regions: tuple[str, ...]
    default_tags: Mapping[str, str]
    types: tuple[str, ...]
    invokes: tuple[str, ...]
    names: Mapping[str, tuple[str, ...]]
    managed_policy_arns: tuple[str, ...]
    secrets_read: tuple[str, ...] = ()
    """The secrets whose values the program reads while it runs (e.g. the admin's OIDC client
    secret, which it hands to the ALB): the only secrets a preview may read."""

    @classmethod
    def parse(cls, stack: str, entry: Mapping[str, Any]) -> StackInventory:
        return cls(stack=stack, regions=tuple(entry["regions"]),
                   default_tags=dict(entry["defaultTags"]), types=tuple(entry["types"]),
                   invokes=tuple(entry["invokes"]),
                   names={t: tuple(p) for t, p in entry["names"].items()},
                   managed_policy_arns=tuple(entry["managedPolicyArns"]),
                   secrets_read=tuple(entry.get("secretsRead", ())))

    def named(self, *types: str) -> list[str]:
        return sorted({pattern for t in types for pattern in self.names.get(t, ())})


def services_of(type_token: str) -> tuple[str, ...]:
    """The IAM service prefixes a resource type is managed through."""
    if type_token in OTHER_TYPES:
        return OTHER_TYPES[type_token]
    package, _, rest = type_token.partition(":")
    module, _, kind = rest.partition(":")[0].partition("/")
    if package == "aws":
        if module == "cloudwatch":
            return (next((svc for prefix, svc in CLOUDWATCH_KIND_PREFIXES.items()
                          if kind.startswith(prefix)), "cloudwatch"),)
        if module in SERVICE_OF_MODULE:
            return (SERVICE_OF_MODULE[module],)
    raise UnmappedType(f"the stack registers {type_token}, and the deploy role does not know its AWS "
                       "service: map its module in SERVICE_OF_MODULE (or OTHER_TYPES) in "
                       "bootstrap/ci_access/permissions.py")


def services(inventory: StackInventory) -> list[str]:
    return sorted({svc for t in inventory.types for svc in services_of(t)})


def invoke_reads(invokes: Iterable[str]) -> list[str]:
    missing = sorted(set(invokes) - set(INVOKE_READS))
    if missing:
        raise UnmappedType(f"the program calls {', '.join(missing)}, and the preview role does not "
                           "know which AWS reads that takes: add it to INVOKE_READS in "
                           "bootstrap/ci_access/permissions.py")
    return sorted({action for token in invokes for action in INVOKE_READS[token]})


def wildcard_only_writes(inventory: StackInventory) -> list[str]:
    return sorted({a for svc in services(inventory) for a in WILDCARD_ONLY_WRITES.get(svc, ())})


# ----------------------------------------------------------------------------------------------
# Documents


def _sid(*words: str) -> str:
    return "".join(part.capitalize() for word in words for part in word.replace("-", " ").split())


def _document(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def _read_statements(invokes: Iterable[str], regions: Sequence[str],
                     secrets: Iterable[str] = ()) -> list[dict[str, Any]]:
    actions = invoke_reads(invokes)
    parameters = [a for a in actions if a.startswith("ssm:")]
    secret_values = [a for a in actions if a == "secretsmanager:GetSecretValue"]
    others = [a for a in actions if a not in parameters and a not in secret_values]
    statements: list[dict[str, Any]] = []
    if others:
        statements.append({"Sid": "PreviewDataSources", "Effect": "Allow", "Action": others,
                           "Resource": "*"})
    if parameters:
        statements.append({"Sid": "PublicParameters", "Effect": "Allow", "Action": parameters,
                           "Resource": [PUBLIC_PARAMETERS.format(region=r) for r in regions]})
    if secret_values and sorted(set(secrets)):
        statements.append({"Sid": "SecretsTheProgramReads", "Effect": "Allow",
                           "Action": secret_values, "Resource": sorted(set(secrets))})
    return statements


def preview_policy(inventories: Sequence[StackInventory]) -> str:
    """Read-only: the data sources a preview of any of these stacks calls, nothing else."""
    regions = sorted({r for inv in inventories for r in inv.regions})
    return _document(_read_statements({i for inv in inventories for i in inv.invokes}, regions,
                                      [s for inv in inventories for s in inv.secrets_read]))


def _scopes(service: str, inventory: StackInventory, account: str) -> list[str]:
    """The ARNs a service's resources of this stack can have."""
    if service == "s3":
        return [f"arn:aws:s3:::{p}" for p in inventory.named("aws:s3/bucket:Bucket",
                                                              "aws:s3/bucketV2:BucketV2")]
    if service == "cloudfront":
        return [f"arn:aws:cloudfront::{account}:*"]
    if service == "route53":  # hosted zones, health checks and changes have no account either
        return ["arn:aws:route53:::*"]
    scopes = [f"arn:aws:{service}:{region}:{account}:*" for region in inventory.regions]
    if service == "cloudwatch":  # dashboards are global
        scopes.append(f"arn:aws:cloudwatch::{account}:dashboard/*")
    return scopes


def _iam_statements(inventory: StackInventory, account: str) -> list[dict[str, Any]]:
    roles = [f"arn:aws:iam::{account}:role/{p}" for p in inventory.named("aws:iam/role:Role")]
    if not roles:
        return []
    request_tags = {f"aws:RequestTag/{k}": v for k, v in inventory.default_tags.items()}
    resource_tags = {f"aws:ResourceTag/{k}": v for k, v in inventory.default_tags.items()}
    statements: list[dict[str, Any]] = [
        {"Sid": "CreateStackRoles", "Effect": "Allow", "Action": ["iam:CreateRole", "iam:TagRole"],
         "Resource": roles, "Condition": {"StringEquals": request_tags}},
        {"Sid": "ManageStackRoles", "Effect": "Allow", "Action": list(IAM_ROLE_WRITES),
         "Resource": roles, "Condition": {"StringEquals": resource_tags}},
        {"Sid": "ReadStackRoles", "Effect": "Allow", "Action": list(IAM_ROLE_READS), "Resource": roles},
    ]
    if inventory.managed_policy_arns:
        statements.append({
            "Sid": "AttachTheStacksManagedPolicies", "Effect": "Allow",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], "Resource": roles,
            "Condition": {"StringEquals": resource_tags,
                          "ArnEquals": {"iam:PolicyARN": list(inventory.managed_policy_arns)}}})
    linked = sorted({name for svc in services(inventory) for name in SERVICE_LINKED_ROLES.get(svc, ())})
    if linked:
        statements.append({
            "Sid": "CreateServiceLinkedRoles", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:aws:iam::{account}:role/aws-service-role/*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": linked}}})
    return statements


def deploy_policies(inventory: StackInventory, account: str) -> list[str]:
    """What `pulumi up` of this stack needs, split into managed policies that fit IAM's quotas."""
    statements = json.loads(deploy_policy(inventory, account))["Statement"]
    documents: list[list[dict[str, Any]]] = [[]]
    for statement in statements:
        if policy_size(_document([statement])) > MANAGED_POLICY_LIMIT:
            raise ValueError(f"statement {statement['Sid']} alone exceeds {MANAGED_POLICY_LIMIT} "
                             "characters, the size of a managed policy")
        if policy_size(_document([*documents[-1], statement])) > MANAGED_POLICY_LIMIT:
            documents.append([])
        documents[-1].append(statement)
    if len(documents) > ATTACHED_POLICIES_PER_ROLE:
        raise ValueError(f"the deploy policy of {inventory.stack} needs {len(documents)} managed "
                         f"policies; a role holds {ATTACHED_POLICIES_PER_ROLE}")
    return [_document(d) for d in documents]


def deploy_policy(inventory: StackInventory, account: str) -> str:
    """What `pulumi up` of this stack needs: its services on its resources, and its reads
    (one document; deploy_policies splits it to fit IAM's size quota)."""
    managed = services(inventory)
    statements = _read_statements(inventory.invokes, inventory.regions, inventory.secrets_read)
    for service in managed:
        if service == "iam":
            statements.extend(_iam_statements(inventory, account))
            continue
        scopes = _scopes(service, inventory, account)
        if scopes:
            statements.append({"Sid": _sid("manage", service), "Effect": "Allow",
                               "Action": f"{service}:*", "Resource": scopes})
    reads = sorted({f"{svc}:{verb}" for svc in managed if svc not in NO_UNSCOPED_READS
                    for verb in UNSCOPED_READ_VERBS}
                   | {a for svc in managed for a in EXTRA_READS.get(svc, ())})
    if reads:
        statements.append({"Sid": "DescribeAndList", "Effect": "Allow", "Action": reads, "Resource": "*"})
    writes = wildcard_only_writes(inventory)
    if writes:
        statements.append({"Sid": "WritesWithoutResourceLevelPermissions", "Effect": "Allow",
                           "Action": writes, "Resource": "*",
                           "Condition": {"StringEquals": {"aws:RequestedRegion": list(inventory.regions)}}})
    return _document(statements)


def policy_size(document: str) -> int:
    """The size IAM counts against its quotas: the document without whitespace."""
    return len(json.dumps(json.loads(document), separators=(",", ":")))
