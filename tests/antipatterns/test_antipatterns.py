"""Each of the case study's anti-patterns, as a small realistic program, fails with its policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.policy_pack import Analyze, Program, violations_of

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
    # every internet-facing entry point needs a WAF (or must only be reachable through one)
    "waf_nlb": ("alb-require-waf-or-cloudfront-only", "storefront-nlb", "mandatory"),
    "waf_classic_elb": ("alb-require-waf-or-cloudfront-only", "legacy-storefront", "mandatory"),
    "waf_rest_api": ("api-entry-point-require-waf", "orders-v1", "mandatory"),
    "waf_http_api": ("api-entry-point-require-waf", "cart-api", "mandatory"),
    "waf_websocket_api": ("api-entry-point-require-waf", "order-status", "mandatory"),
    "waf_function_url": ("api-entry-point-require-waf", "carrier-webhook", "mandatory"),
    "waf_appsync": ("api-entry-point-require-waf", "catalog-graphql", "mandatory"),
    "waf_app_runner": ("api-entry-point-require-waf", "recommendations", "mandatory"),
    # every asynchronous way to run code that can charge
    "async_payment_s3_notification": ("payment-work-require-synchronous", "charge", "mandatory"),
    "async_payment_invoke_config": ("payment-work-require-synchronous", "charge", "mandatory"),
    "async_payment_destination": ("payment-work-require-synchronous", "charge", "mandatory"),
    "async_payment_log_subscription": ("payment-work-require-synchronous", "charge", "mandatory"),
    "async_payment_ses_receipt": ("payment-work-require-synchronous", "charge", "mandatory"),
    "async_payment_iot_rule": ("payment-work-require-synchronous", "charge", "mandatory"),
    "async_payment_batch_job": ("payment-work-require-synchronous", "capture-authorised", "mandatory"),
    # every place a secret or a card number can be stored in plaintext
    "secret_in_parameter": ("secrets-disallow-plaintext", "stripe-key", "mandatory"),
    "secret_in_tags": ("secrets-disallow-plaintext", "storefront", "mandatory"),
    "secret_in_outputs": ("stack-outputs-disallow-secrets", "ecommerce-test", "mandatory"),
    "secret_in_glue_connection": ("secrets-disallow-plaintext", "orders-replica", "mandatory"),
    "secret_in_eventbridge_connection": ("secrets-disallow-plaintext", "stripe", "mandatory"),
    "secret_in_instance_user_data": ("secrets-disallow-plaintext", "reporting-host", "mandatory"),
    "secret_in_launch_template": ("secrets-disallow-plaintext", "workers", "mandatory"),
    "secret_in_batch_environment": ("secrets-disallow-plaintext", "stock-sync", "mandatory"),
    "secret_in_app_runner_environment": ("secrets-disallow-plaintext", "search-proxy", "mandatory"),
    "secret_in_codebuild_environment": ("secrets-disallow-plaintext", "images", "mandatory"),
    "secret_in_beanstalk_environment": ("secrets-disallow-plaintext", "legacy-admin", "mandatory"),
    "secret_in_glue_job": ("secrets-disallow-plaintext", "sales-export", "mandatory"),
    "secret_in_dms_endpoint": ("secrets-disallow-plaintext", "orders-source", "mandatory"),
    "secret_in_redshift_serverless": ("secrets-disallow-plaintext", "analytics", "mandatory"),
    "secret_in_memorydb_user": ("secrets-disallow-plaintext", "sessions-app", "mandatory"),
    "card_number_in_output": ("stack-outputs-disallow-secrets", "ecommerce-test", "mandatory"),
    "card_number_in_parameter": ("cardholder-data-disallow", "retry-card", "mandatory"),
    # stores that AWS lets a program leave unencrypted
    "unencrypted_ebs_volume": ("storage-require-encryption-at-rest", "order-exports", "mandatory"),
    "unencrypted_dax_cluster": ("storage-require-encryption-at-rest", "carts-cache", "mandatory"),
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
