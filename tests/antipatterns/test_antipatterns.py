"""Each of the case study's anti-patterns, as a small realistic program, fails with its policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.policies.conftest import Analyze, Program, violations_of

PROGRAMS = Path(__file__).parent / "programs"
# program -> (the policy that catches it, the resource it names (None: the stack), its level)
EXPECTED = {
    "eks_cluster": ("eks-disallow", "shop-k8s", "mandatory"),
    "single_az_aurora": ("database-cluster-require-multi-az", "orders", "mandatory"),
    "single_node_cache": ("cache-require-multi-az", "product-cache", "mandatory"),
    "async_payment_consumer": ("payment-work-require-synchronous", "worker", "mandatory"),
    "card_number_column": ("cardholder-data-disallow", "saved-cards", "mandatory"),
    "public_bucket": ("s3-bucket-disallow-public-access", "product-images", "mandatory"),
    "no_waf": ("cloudfront-distribution-require-waf", "storefront", "mandatory"),
    "handwritten_cloudformation": ("cloudformation-stack-disallow-templates", "network", "mandatory"),
    "catalog_in_dynamodb": ("dynamodb-catalog-disallow", "product-catalog", "advisory"),
    "two_regions_day_one": ("multi-region-require-trigger", None, "advisory"),
}


def test_every_program_has_an_expectation() -> None:
    assert {p.stem for p in PROGRAMS.glob("*.py")} == set(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_the_anti_pattern_fails_with_its_policy(name: str, program: Program, analyze: Analyze,
                                                preview: bool) -> None:
    # GIVEN a program that makes one of the case study's mistakes, and otherwise follows the guardrails
    policy, resource, level = EXPECTED[name]
    snapshot = program((PROGRAMS / f"{name}.py").read_text(), preview=preview)

    # WHEN the pack analyzes it as `pulumi preview --policy-pack policies` would
    report = analyze(snapshot)

    # THEN the anti-pattern's policy names it, at its level, and it is the only thing that blocks
    found = violations_of(report, policy, resource) if resource else \
        [v for v in report.of_policy(policy) if v.urn is None]
    assert found and {v.level for v in found} == {level}, report.lines()
    assert report.cannot_run == ()
    blocking = {v.policy for v in report.mandatory}
    assert blocking == ({policy} if level == "mandatory" else set()), report.lines()
