"""The CI roles' permissions follow the stack: no wider than what it manages, never behind it."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

from bootstrap.ci_access import permissions
from bootstrap.ci_access.permissions import StackInventory
from offline import inventory
from offline.engine import Snapshot
from policies.guardrails.iam import is_write
from tests.support.bootstrap import documents


def _statements(docs: dict[str, dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [s for name, doc in sorted(docs.items()) if name.startswith(prefix) for s in doc["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def _resources(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else list(resource)


def _allows(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    """Whether an Allow statement matches the action and the ARN (conditions not evaluated)."""
    return any(any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _actions(s))
               and any(fnmatch.fnmatchcase(arn, r) for r in _resources(s)) for s in statements)


@pytest.fixture(scope="module")
def live(prod_preview: Snapshot, staging: Snapshot) -> dict[str, Snapshot]:
    return {"prod": prod_preview, "staging": staging}


PolicyDocuments = dict[str, dict[str, Any]]
"""Policy name -> its document (the `policies_of` fixture)."""


@pytest.fixture(scope="module")
def policies_of(bootstrap: Snapshot) -> PolicyDocuments:
    return documents(bootstrap, "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy")


def test_the_inventory_and_the_policy_config_match_the_program() -> None:
    # GIVEN the stacks as the program registers them today
    # THEN bootstrap/stack-inventory.json and bootstrap/policy-config.json are what
    # `python -m offline.inventory` writes from them
    assert inventory.stale() == [], "run `python -m offline.inventory` and commit the result"


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_deploy_role_can_manage_every_service_the_stack_uses(stack: str, live: dict[str, Snapshot],
                                                                 policies_of: PolicyDocuments) -> None:
    # GIVEN every AWS resource type the stack registers (the live program, not the inventory)
    used = {svc for r in live[stack].custom() if not r.type.startswith("pulumi:")
            for svc in permissions.services_of(r.type)}

    # WHEN the deploy role's policies (as the bootstrap registers them) are read
    statements = _statements(policies_of, f"ci-deploy-{stack}-")
    granted = {a.split(":")[0] for s in statements for a in _actions(s)
               if a.endswith(":*") or a.startswith("iam:CreateRole")}

    # THEN each service the stack uses is managed by the role
    assert used - granted == set(), f"the {stack} deploy role cannot manage {used - granted}"
    assert "iam" in used and "ec2" in used


def test_a_type_without_a_known_service_fails_naming_the_table_to_extend() -> None:
    with pytest.raises(permissions.UnmappedType, match=r"SERVICE_OF_MODULE .*permissions\.py"):
        permissions.services_of("aws:kinesis/stream:Stream")
    assert permissions.services_of("aws:cloudwatch/eventRule:EventRule") == ("events",)
    assert permissions.services_of("aws:cloudwatch/logGroup:LogGroup") == ("logs",)
    assert permissions.services_of("aws:cloudwatch/metricAlarm:MetricAlarm") == ("cloudwatch",)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_preview_role_reads_what_a_preview_reads_and_nothing_else(stack: str,
                                                                       live: dict[str, Snapshot],
                                                                       policies_of: PolicyDocuments) -> None:
    # GIVEN the data sources the program calls during a preview (the live program)
    needed = permissions.invoke_reads(live[stack].invokes)

    # WHEN the preview role's policy is read
    statements = _statements(policies_of, "ci-preview")
    actions = {a for s in statements for a in _actions(s)}

    # THEN it allows exactly those reads: no write, no secret value, no account parameter
    assert set(needed) <= actions
    assert not [a for a in actions if is_write(a)]
    assert not _allows(statements, "secretsmanager:GetSecretValue",
                       "arn:aws:secretsmanager:us-east-1:123456789012:secret:x")
    assert not _allows(statements, "ssm:GetParameter", "arn:aws:ssm:us-east-1:123456789012:parameter/db")
    assert _allows(statements, "ssm:GetParameter",
                   "arn:aws:ssm:us-east-1::parameter/aws/service/powertools/python/arm64/python3.12/3.4.0")


def test_a_data_source_without_known_reads_fails_naming_the_table_to_extend() -> None:
    with pytest.raises(permissions.UnmappedType, match="INVOKE_READS"):
        permissions.invoke_reads(["aws:rds/getCluster:getCluster"])


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_deploy_policy_is_no_wider_than_the_stack(stack: str, policies_of: PolicyDocuments) -> None:
    statements = _statements(policies_of, f"ci-deploy-{stack}-")

    for statement in statements:
        actions, resources = _actions(statement), _resources(statement)
        assert "*" not in actions and "iam:*" not in actions and statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        if resources == ["*"]:  # only reads, or the writes IAM grants on `*` alone, in-Region
            writes = [a for a in actions if is_write(a)]
            assert set(writes) <= {a for ws in permissions.WILDCARD_ONLY_WRITES.values() for a in ws}
            if writes:
                assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}}
        else:  # scoped to this account (or to the stack's bucket names)
            assert all(":123456789012:" in r or r.startswith(("arn:aws:s3:::", "arn:aws:ssm:us-east-1::"))
                       for r in resources), resources

    # a role of the account that is not the stack's cannot be touched, nor another account's
    assert not _allows(statements, "iam:PutRolePolicy", "arn:aws:iam::123456789012:role/Admin")
    assert not _allows(statements, "sqs:DeleteQueue", "arn:aws:sqs:us-east-1:999999999999:q")
    assert not _allows(statements, "sqs:DeleteQueue", "arn:aws:sqs:eu-west-1:123456789012:q")
    assert not _allows(statements, "s3:DeleteBucket", "arn:aws:s3:::terraform-state")
    assert _allows(statements, "s3:DeleteBucket", "arn:aws:s3:::edge-static-1a2b3c4")


@pytest.mark.parametrize(("stack", "other"), [("prod", "staging"), ("staging", "prod")])
def test_a_deploy_role_changes_only_roles_tagged_with_its_own_environment(
        stack: str, other: str, policies_of: PolicyDocuments) -> None:
    statements = {s["Sid"]: s for s in _statements(policies_of, f"ci-deploy-{stack}-")}

    created = statements["CreateStackRoles"]["Condition"]["StringEquals"]
    managed = statements["ManageStackRoles"]["Condition"]["StringEquals"]
    assert created == {"aws:RequestTag/app": "ecommerce", "aws:RequestTag/environment": stack}
    assert managed == {"aws:ResourceTag/app": "ecommerce", "aws:ResourceTag/environment": stack}
    assert "iam:PassRole" in statements["ManageStackRoles"]["Action"]
    attach = statements["AttachTheStacksManagedPolicies"]["Condition"]
    assert set(attach["ArnEquals"]["iam:PolicyARN"]) <= {
        "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaENIManagementAccess"}
    assert other not in json.dumps(statements)


def test_the_deploy_policies_fit_iams_quotas(policies_of: PolicyDocuments) -> None:
    for stack in ("prod", "staging"):
        parts = [doc for name, doc in policies_of.items() if name.startswith(f"ci-deploy-{stack}-")]
        assert 1 <= len(parts) <= permissions.ATTACHED_POLICIES_PER_ROLE
        for doc in parts:
            assert permissions.policy_size(json.dumps(doc)) <= permissions.MANAGED_POLICY_LIMIT


def test_a_new_resource_type_changes_the_deploy_policy() -> None:
    # GIVEN the prod inventory and the same stack with one more service
    entry = json.loads(inventory.INVENTORY_FILE.read_text())["stacks"]["prod"]
    base = StackInventory.parse("prod", entry)
    grown = StackInventory.parse("prod", {**entry,
                                          "types": [*entry["types"], "aws:acm/certificate:Certificate"]})

    # THEN only the grown stack's deploy role manages it
    assert "acm:*" not in permissions.deploy_policy(base, "123456789012")
    assert '"acm:*"' in permissions.deploy_policy(grown, "123456789012")
