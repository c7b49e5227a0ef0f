"""The pack as the CLI sees it: its metadata, its config (schema defaults, user config, validation),
its independence from the project's code, and the harness that runs it."""

from __future__ import annotations

import ast
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from offline.analyzer import POLICY_PACK_DIR, PolicyPackError, PolicyPackProcess
from offline.engine import PROJECT_DIR
from tests.support.policy_pack import Analyze, PackPool, Program, the_violation, violations_of

# The levels agreed for these policies (a policy added later keeps its own; every one has a level).
MANDATORY = {
    "eks-disallow", "rds-instance-require-multi-az", "database-cluster-require-multi-az",
    "cache-require-multi-az",
    "opensearch-domain-require-zone-awareness", "db-subnet-group-require-multi-az",
    "payment-work-require-synchronous",
    "cardholder-data-disallow", "storage-require-encryption-at-rest", "alb-listener-require-tls",
    "cloudfront-distribution-require-tls", "datastore-require-encryption-in-transit",
    "s3-bucket-disallow-public-access", "rds-disallow-public-access", "opensearch-domain-require-vpc",
    "security-group-disallow-public-ingress", "cloudfront-distribution-require-waf",
    "alb-require-waf-or-cloudfront-only", "api-entry-point-require-waf", "secrets-disallow-plaintext",
    "stack-outputs-disallow-secrets", "iam-policy-disallow-wildcards",
    "sqs-queue-require-dlq", "event-target-require-dlq", "event-source-mapping-require-failure-handling",
    "cloudformation-stack-disallow-templates", "alb-admin-require-authentication",
}
ADVISORY = {
    "dynamodb-catalog-disallow", "multi-region-require-trigger", "observability-require-apm-at-scale",
    "dynamodb-table-require-ttl", "datastore-require-deletion-protection", "datastore-require-backups",
    "dlq-require-alarm", "audit-logging-required", "stack-monthly-budget",
    "storage-require-customer-managed-key", "payment-request-events-disallow",
    "payment-request-queues-disallow",
}
EKS = 'aws.eks.Cluster("legacy-k8s", role_arn="arn:aws:iam::1:role/eks", vpc_config={"subnet_ids": ["s-1"]})'


@pytest.fixture(scope="module")
def pack(pack_pool: PackPool, program: Program) -> PolicyPackProcess:
    snapshot = program("", preview=True)
    pack_pool.analyze(snapshot)
    return next(iter(p for p in pack_pool.packs.values() if p.preview))


def test_every_policy_is_described_as_the_issue_requires(pack: PolicyPackProcess) -> None:
    # GIVEN the pack's answer to GetAnalyzerInfo
    policies = {p.name: p for p in pack.policies}

    # THEN it is the ecommerce guardrails at the version of PulumiPolicy.yaml, with the agreed levels
    assert pack.name == "ecommerce-guardrails"
    assert re.search(rf"^version: {re.escape(pack.version)}$",
                     (POLICY_PACK_DIR / "PulumiPolicy.yaml").read_text(),
                     re.MULTILINE)
    assert MANDATORY <= {n for n, p in policies.items() if p.level == "mandatory"}
    assert ADVISORY <= {n for n, p in policies.items() if p.level == "advisory"}
    assert {p.level for p in policies.values()} <= {"mandatory", "advisory"}
    for name, policy in policies.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name), name
        assert policy.description.endswith(".") and policy.remediation and policy.severity, name


def test_configure_sends_the_schema_defaults_like_the_cli(pack: PolicyPackProcess) -> None:
    pack.configure({})  # no user config: the defaults of the config schemas only
    schemas = {p.name: p.config_schema for p in pack.policies}

    # every configurable policy declares a default for each property, and Configure carried them
    assert pack.applied_config["eks-disallow"] == ("mandatory", {"allowedResources": []})
    for name, schema in schemas.items():
        level, properties = pack.applied_config[name]
        assert set(properties) == set(schema), name
        assert all(properties[key] == spec["default"] for key, spec in schema.items()), name


def test_a_named_eks_exception_takes_effect(program: Program, analyze: Analyze) -> None:
    # GIVEN an EKS cluster, which is mandatory-blocked by default
    snapshot = program(EKS, preview=True)
    assert the_violation(analyze(snapshot), "eks-disallow", "legacy-k8s").level == "mandatory"

    # WHEN the platform team allows that cluster by name
    report = analyze(snapshot, {"eks-disallow": {"allowedResources": ["legacy-k8s"]}})

    # THEN the exception holds, for that name only
    assert violations_of(report, "eks-disallow") == []
    other = program(EKS.replace("legacy-k8s", "new-k8s"), preview=True)
    assert violations_of(analyze(other, {"eks-disallow": {"allowedResources": ["legacy-k8s"]}}),
                         "eks-disallow", "new-k8s")


def test_raising_the_catalog_policy_to_mandatory_takes_effect(program: Program, analyze: Analyze) -> None:
    snapshot = program('aws.dynamodb.Table("products", billing_mode="PAY_PER_REQUEST", hash_key="sku", '
                       'attributes=[{"name": "sku", "type": "S"}])', preview=True)
    assert the_violation(analyze(snapshot), "dynamodb-catalog-disallow", "products").level == "advisory"

    raised = analyze(snapshot, {"dynamodb-catalog-disallow": "mandatory"})

    assert the_violation(raised, "dynamodb-catalog-disallow", "products").level == "mandatory"
    assert the_violation(raised, "dynamodb-catalog-disallow", "products") in raised.mandatory


def test_all_sets_every_level_and_disabled_silences(program: Program, analyze: Analyze) -> None:
    snapshot = program(EKS, preview=False)
    assert the_violation(analyze(snapshot, {"all": "advisory"}), "eks-disallow",
                         "legacy-k8s").level == "advisory"
    assert violations_of(analyze(snapshot, {"eks-disallow": "disabled"}), "eks-disallow") == []


@pytest.mark.parametrize(("config", "error"), [
    ({"no-such-policy": "mandatory"}, "no-such-policy: no such policy"),
    ({"eks-disallow": "blocking"}, "'blocking' is not one of"),
    ({"eks-disallow": {"allowedResources": "legacy-k8s"}},
     "eks-disallow: 'legacy-k8s' is not of type 'array'"),
    ({"database-cluster-require-multi-az": {"minInstances": 1}}, "1 is less than the minimum of 2"),
])
def test_invalid_config_is_rejected_before_analysis(config: dict[str, Any], error: str,
                                                    pack: PolicyPackProcess) -> None:
    with pytest.raises(PolicyPackError, match=re.escape(error)):
        pack.configure(config)
    pack.configure({})


def test_the_pack_imports_nothing_of_the_project() -> None:
    # GIVEN every module of the pack
    allowed = set(sys.stdlib_module_names) | {"pulumi_policy", "guardrails"}
    for path in POLICY_PACK_DIR.rglob("*.py"):
        if "venv" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            # THEN it imports the standard library, pulumi-policy and its own package only
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.relative_to(PROJECT_DIR)} imports {roots - allowed}"


def test_the_pack_process_is_stopped_on_exit_even_after_an_error(program: Program) -> None:
    snapshot = program("", preview=True)
    with pytest.raises(RuntimeError), PolicyPackProcess.for_snapshot(snapshot) as pack:
        pid = pack.pid
        assert pid is not None and _running(pid)
        raise RuntimeError("the caller fails mid-analysis")
    assert pid is not None
    assert not _running(pid)
    with pytest.raises(PolicyPackError, match="not running"):
        pack.analyze(snapshot)


def test_a_snapshot_of_another_mode_needs_its_own_pack(program: Program, pack: PolicyPackProcess) -> None:
    with pytest.raises(ValueError, match="for_snapshot"):
        pack.analyze(program("", preview=False))


def test_the_harness_reports_the_sdks_cant_run_downgrade(tmp_path: Path, program: Program) -> None:
    # GIVEN a naive pack whose mandatory policy reads a computed value directly
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (tmp_path / "__main__.py").write_text(
        "from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy\n"
        "def check(args, report):\n"
        "    if args.resource_type == 'aws:sqs/queue:Queue' and not args.props['kmsMasterKeyId']:\n"
        "        report('no key')\n"
        "PolicyPack('naive', [ResourceValidationPolicy(name='naive-kms', description='d.', validate=check,\n"
        "           enforcement_level=EnforcementLevel.MANDATORY)])\n")
    snapshot = program('aws.sqs.Queue("jobs", kms_master_key_id=aws.kms.Key("k").arn)', preview=True)

    # WHEN it analyzes a queue whose key ARN is unknown during preview
    with PolicyPackProcess.for_snapshot(snapshot, tmp_path) as naive:
        report = naive.analyze(snapshot)

    # THEN the SDK silently turned the mandatory rule into an advisory "can't run policy"
    [downgraded] = report.cannot_run
    assert downgraded.policy == "naive-kms" and downgraded.level == "advisory"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())
