"""Least privilege: no `*` actions, no `*` resources for write actions. PCI DSS v4.0 Req 7.2.1/7.2.2
(access assigned on least privilege) and Req 7.2.5 (system accounts least privilege).

Documents built from other resources' ARNs are unknown during preview; they are checked when the
update runs the pack with the resolved document (before anything is created).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Severity

from .common import MANDATORY, Report, Res, as_list, message, parse_json, pci, resource_policy, string_list

DOCUMENTS = {  # type -> the properties holding policy documents
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/role:Role": ("inlinePolicies",),
}
ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
               "aws:iam/userPolicyAttachment:UserPolicyAttachment",
               "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
               "aws:iam/policyAttachment:PolicyAttachment")
ADMIN_POLICIES = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/PowerUserAccess",
                  "arn:aws:iam::aws:policy/IAMFullAccess")
READ_PREFIXES = ("get", "list", "describe", "head", "query", "scan", "batchget", "search", "select",
                 "view", "lookup", "read", "filter")
WILDCARD_RESOURCE_ACTIONS = [
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData",
    "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses", "ecr:GetAuthorizationToken", "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
]


def is_write(action: str) -> bool:
    """`s3:PutObject`, `s3:*`, `kms:Decrypt` write; `s3:GetObject`, `ec2:Describe*` read."""
    return not action.split(":", 1)[-1].lower().startswith(READ_PREFIXES)


def _documents(resource: Res) -> Iterator[tuple[str, Any]]:
    for key in DOCUMENTS[resource.type]:
        value = resource.props.get(key)
        if key == "inlinePolicies":
            for item in as_list(value):
                if isinstance(item, Mapping):
                    yield f"inline policy {item.get('name') or ''}".strip(), item.get("policy")
        else:
            yield key, value


def wildcard_findings(document: Any, allowed: set[str]) -> list[str]:
    parsed = parse_json(document)
    if not isinstance(parsed, Mapping):
        return []  # computed (checked at update) or not a document
    findings = []
    for index, statement in enumerate(as_list(parsed.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid") or f"statement {index}"
        actions = [a for a in as_list(statement.get("Action")) if isinstance(a, str)]
        if statement.get("NotAction") is not None:
            findings.append(f"{sid} allows every action but NotAction")
        if any(a in ("*", "*:*") for a in actions):
            findings.append(f"{sid} allows Action '*'")
            continue
        resources = [r for r in as_list(statement.get("Resource")) if isinstance(r, str)]
        if "*" in resources or statement.get("NotResource") is not None:
            writes = sorted({a for a in actions if is_write(a) and a.lower() not in allowed})
            if writes:
                findings.append(f"{sid} allows {', '.join(writes)} on Resource '*'")
    return findings


def _check(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """IAM grants are least privilege: no '*' action, no write on '*', no admin managed policy.

    Covers: aws:iam/policy:Policy, aws:iam/rolePolicy:RolePolicy, aws:iam/userPolicy:UserPolicy,
    aws:iam/groupPolicy:GroupPolicy, aws:iam/role:Role (inline policies, managed policy ARNs),
    aws:iam/rolePolicyAttachment:RolePolicyAttachment,
    aws:iam/userPolicyAttachment:UserPolicyAttachment,
    aws:iam/groupPolicyAttachment:GroupPolicyAttachment, aws:iam/policyAttachment:PolicyAttachment.

    Well-built programs: they name the actions and the ARNs, use '*' only for read actions and the
    few actions without resource-level permissions (X-Ray, PutMetricData, ENI management).
    """
    if resource.type in ATTACHMENTS or resource.type == "aws:iam/role:Role":
        arns = [resource.props.get("policyArn"), *as_list(resource.props.get("managedPolicyArns"))]
        admin = [a for a in arns if isinstance(a, str) and a in ADMIN_POLICIES]
        if admin:
            report(message(resource, f"attaches {', '.join(admin)}, which allows '*' actions",
                           "attach a policy that lists the actions and resources the principal needs"))
        if resource.type in ATTACHMENTS:
            return
    allowed = {a.lower() for a in config["allowedWildcardResourceActions"]}
    findings = [f"{where}: {f}" for where, document in _documents(resource)
                for f in wildcard_findings(document, allowed)]
    if findings:
        report(message(resource, "the policy is not least privilege: " + "; ".join(findings),
                       "name the actions the workload calls and the ARNs it calls them on (read-only "
                       "actions and the few actions without resource-level permissions may use '*')"))


iam_policy_disallow_wildcards = resource_policy(
    name="iam-policy-disallow-wildcards",
    description="IAM policies must not allow '*' actions, nor write actions on '*' resources.",
    level=MANDATORY, severity=Severity.HIGH, types=[*DOCUMENTS, *ATTACHMENTS], check=_check,
    remediation="List the actions and the resource ARNs; scope by condition where an action has no "
                "resource-level permissions.",
    config={"allowedWildcardResourceActions": string_list(
        "Write actions that have no resource-level permissions and so may use Resource '*'.",
        WILDCARD_RESOURCE_ACTIONS)},
    framework=pci("7.2.1"), tags=["pci-dss", "least-privilege"])

POLICIES = [iam_policy_disallow_wildcards]
