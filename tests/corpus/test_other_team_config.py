"""docs/policy-config.example.json, the config for enforcing the pack on another team's stacks, is
valid for the pack and does what it says on programs that are not this project."""

from __future__ import annotations

import json
from pathlib import Path

from offline.engine import PROJECT_DIR
from tests.support.policy_pack import Analyze, Program, violations_of

EXAMPLE = json.loads((PROJECT_DIR / "docs" / "policy-config.example.json").read_text())
PROGRAMS = Path(__file__).parent / "programs"
CMK = "storage-require-customer-managed-key"

# Another team's order service: the customer tables on AWS-owned keys, the payment key by ARN.
OTHER_TEAM = '''
orders = aws.dynamodb.Table("orders", billing_mode="PAY_PER_REQUEST", hash_key="order_id",
                            attributes=[{"name": "order_id", "type": "S"}],
                            point_in_time_recovery={"enabled": True})
aws.dynamodb.Table("feature-flags", billing_mode="PAY_PER_REQUEST", hash_key="flag",
                   attributes=[{"name": "flag", "type": "S"}])
aws.cloudwatch.LogGroup("support-tickets", retention_in_days=30, tags={"data-classification": "pii"})

role = aws.iam.Role("settle", assume_role_policy="{}")
aws.iam.RolePolicy("settle", role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
    "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:billing/stripe-api-key-AbCdEf"}]}))
settle = aws.lambda_.Function("settle", role=role.arn, runtime="python3.12", handler="app.handler",
                              code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}))
aws.lambda_.Permission("settle-nightly", action="lambda:InvokeFunction", function=settle.name,
                       principal="events.amazonaws.com")
'''


def test_the_example_config_enforces_customer_keys_and_names_the_payment_key(
        program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN another team's program and the example policy config (what a policy group would carry)
    report = analyze(program(OTHER_TEAM, preview=preview), EXAMPLE)

    # THEN customer data without a customer-managed key blocks (the orders table by name, the
    # support tickets by their tag), other stores do not, and the job that reads the key fails
    assert {v.resource_name for v in report.mandatory if v.policy == CMK} == {"orders", "support-tickets"}
    assert [v.resource_name for v in violations_of(report, "payment-work-require-synchronous")] == ["settle"]
    assert report.cannot_run == ()


def test_a_well_built_program_of_another_team_passes_with_the_example_config(
        program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN a well-built program of the corpus (not this project) with the example config
    snapshot = program((PROGRAMS / "checkout_payments.py").read_text(), preview=preview)

    # WHEN the pack analyzes it with the config
    report = analyze(snapshot, EXAMPLE)

    # THEN it is accepted by every policy's schema and nothing blocks
    assert [str(v) for v in report.mandatory] == []
