"""Cardholder data, plaintext secrets and wildcard IAM (PCI DSS v4.0 Req 3, 7.2, 8.3, 8.6): provider
tokens, secret references and scoped policies pass; each violation fails and names the resource."""

from __future__ import annotations

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICIES = ("cardholder-data-disallow", "secrets-disallow-plaintext", "iam-policy-disallow-wildcards")

HELPERS = '''
role = aws.iam.Role("app", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))


def function(name, variables):
    return aws.lambda_.Function(name, role=role.arn, runtime="python3.12", handler="shop.handler",
                                code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1")}),
                                environment={"variables": variables})


def task(name, environment=(), secrets=()):
    return aws.ecs.TaskDefinition(name, family=name, requires_compatibilities=["FARGATE"],
                                  network_mode="awsvpc",
                                  cpu="256", memory="512", container_definitions=json.dumps([{
                                      "name": name, "image": f"{name}:1", "essential": True,
                                      "environment": list(environment), "secrets": list(secrets)}]))


def role_policy(name, statements):
    return aws.iam.RolePolicy(name, role=role.id, policy=json.dumps({"Version": "2012-10-17",
                                                                    "Statement": statements}))
'''

GOOD = HELPERS + '''
secret = aws.secretsmanager.Secret("stripe-api-key")
aws.dynamodb.Table("orders", billing_mode="PAY_PER_REQUEST", hash_key="order_id", range_key="placed_at",
                   attributes=[{"name": "order_id", "type": "S"}, {"name": "placed_at", "type": "N"}],
                   tags={"data-classification": "confidential"})
aws.glue.CatalogTable("payments", database_name="analytics", storage_descriptor={"columns": [
    {"name": "payment_intent_id", "type": "string"}, {"name": "card_brand", "type": "string"},
    {"name": "card_last4", "type": "string"}, {"name": "span_id", "type": "string"}]})
function("checkout", {"PAYMENT_PROVIDER_URL": "https://api.stripe.com",
                      "STRIPE_API_KEY_SECRET_ARN": secret.arn,
                      "ORDER_NUMBER_START": "1234567890123", "DB_PASSWORD_SECRET_ARN": secret.arn,
                      "TOKEN_TTL": "3600", "PAYMENTS_ENABLED": "true"})
task("order-api", environment=[{"name": "LOG_LEVEL", "value": "info"}],
     secrets=[{"name": "STRIPE_API_KEY",
               "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}])
aws.rds.Cluster("orders-db", engine="aurora-postgresql", master_username="shop",
                manage_master_user_password=True,
                storage_encrypted=True)
queue = aws.sqs.Queue("jobs", sqs_managed_sse_enabled=True)
role_policy("app", [
    {"Sid": "Jobs", "Effect": "Allow", "Action": ["sqs:SendMessage"],
     "Resource": "arn:aws:sqs:us-east-1:1:jobs"},
    {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
     "Resource": "*"},
    {"Sid": "Inventory", "Effect": "Allow", "Action": ["ec2:Describe*", "s3:GetObject"], "Resource": "*"}])
aws.iam.RolePolicy("computed", role=role.id, policy=queue.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage",
                                            "Resource": arn}]})))
aws.iam.RolePolicyAttachment("logs", role=role.name,
                             policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
'''

BAD = {
    "card number attribute": ('''
aws.dynamodb.Table("payments", billing_mode="PAY_PER_REQUEST", hash_key="card_number",
                   attributes=[{"name": "card_number", "type": "S"}])
''', "cardholder-data-disallow", "payments"),
    "CVV column": ('''
aws.glue.CatalogTable("payments", database_name="analytics", storage_descriptor={"columns": [
    {"name": "order_id", "type": "string"}, {"name": "cvv", "type": "string"}]})
''', "cardholder-data-disallow", "payments"),
    "PAN environment variable": ('function("checkout", {"CUSTOMER_PAN": "to-be-set"})',
                                 "cardholder-data-disallow",
                                 "checkout"),
    "track data container variable": ('task("pos", environment=[{"name": "TRACK_DATA", "value": ""}])',
                                      "cardholder-data-disallow", "pos"),
    "card number parameter": ('aws.ssm.Parameter("card", name="/shop/test/card-number", type="SecureString", '
                              'value="x")', "cardholder-data-disallow", "card"),
    "a Luhn-valid card number value": ('function("checkout", {"TEST_CARD": "4111 1111 1111 1111"})',
                                       "cardholder-data-disallow", "checkout"),
    "cardholder data classification": (
        'aws.s3.Bucket("exports", tags={"data-classification": "cardholder-data"})',
        "cardholder-data-disallow", "exports"),
    "literal master password": ('''
aws.rds.Cluster("orders-db", engine="aurora-postgresql", master_username="shop",
                master_password="Sup3rS3cret!",
                storage_encrypted=True)
''', "secrets-disallow-plaintext", "orders-db"),
    "master password from secret config": ('''
aws.rds.Instance("reports", engine="postgres", instance_class="db.t4g.medium", allocated_storage=20,
                 username="shop", password=pulumi.Output.secret("from-secure-config"))
''', "secrets-disallow-plaintext", "reports"),
    "search master user password": ('''
aws.opensearch.Domain("search", advanced_security_options={"enabled": True,
                                                           "internal_user_database_enabled": True,
    "master_user_options": {"master_user_name": "admin", "master_user_password": "Adm1nPassw0rd!"}})
''', "secrets-disallow-plaintext", "search"),
    "cache AUTH token": ('aws.elasticache.ReplicationGroup("cache", description="x", engine="valkey", '
                         'node_type="cache.r7g.large", num_cache_clusters=2, '
                         'transit_encryption_enabled=True, auth_token="a-long-cache-auth-token")',
                         "secrets-disallow-plaintext", "cache"),
    "cache user password": ('aws.elasticache.User("app", user_id="app", user_name="app", engine="valkey", '
                            'access_string="on ~* +@all", authentication_mode={"type": "password", '
                            '"passwords": ["a-long-cache-password"]})', "secrets-disallow-plaintext", "app"),
    "provider key in a function": ('function("checkout", {"STRIPE_API_KEY": "sk_live_51Habcdefghijklmnop"})',
                                   "secrets-disallow-plaintext", "checkout"),
    "literal password in a function": ('function("jobs", {"DB_PASSWORD": "hunter2hunter2"})',
                                       "secrets-disallow-plaintext", "jobs"),
    "literal token in a container": (
        'task("order-api", environment=[{"name": "API_TOKEN", "value": "b7f3c2a1d9e8f7a6"}])',
        "secrets-disallow-plaintext", "order-api"),
    "Action *": ('role_policy("admin", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])',
                 "iam-policy-disallow-wildcards", "admin"),
    "service-wide write on *": ('role_policy("s3", [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])',
                                "iam-policy-disallow-wildcards", "s3"),
    "write action on *": ('role_policy("send", [{"Effect": "Allow", "Action": ["sqs:SendMessage"], '
                          '"Resource": ["*"]}])', "iam-policy-disallow-wildcards", "send"),
    "NotAction allow": ('role_policy("almost", [{"Effect": "Allow", "NotAction": "iam:*", '
                        '"Resource": "arn:aws:s3:::x"}])', "iam-policy-disallow-wildcards", "almost"),
    "AdministratorAccess attached": ('aws.iam.RolePolicyAttachment("admin", role=role.name, '
                                     'policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")',
                                     "iam-policy-disallow-wildcards", "admin"),
    "wildcard inline role policy": ('''
aws.iam.Role("ops", assume_role_policy="{}", inline_policies=[{"name": "ops", "policy": json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]})}])
''', "iam-policy-disallow-wildcards", "ops"),
}


def test_tokens_references_and_scoped_policies_pass(program: Program, analyze: Analyze,
                                                    preview: bool) -> None:
    # GIVEN provider ids instead of card data, secret ARNs instead of secrets, scoped policies
    report = analyze(program(GOOD, preview=preview))

    # THEN none of these policies objects
    assert [v for p in POLICIES for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", BAD)
def test_card_data_secrets_and_wildcards_fail(case: str, program: Program, analyze: Analyze,
                                              preview: bool) -> None:
    source, policy, resource = BAD[case]
    report = analyze(program(HELPERS + source, preview=preview))
    violation = the_violation(report, policy, resource)
    assert violation.level == "mandatory"
    assert "4111111111111111" not in violation.message  # a card number is never echoed in full


def test_a_computed_wildcard_document_is_caught_when_the_update_resolves_it(program: Program,
                                                                            analyze: Analyze) -> None:
    # GIVEN a policy document built from another resource's ARN (unknown during preview)
    source = HELPERS + '''
queue = aws.sqs.Queue("jobs", sqs_managed_sse_enabled=True)
aws.iam.RolePolicy("jobs", role=role.id, policy=queue.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": [arn, "*"]}]})))
'''
    # WHEN the pack sees it during preview, then during the update
    in_preview = analyze(program(source, preview=True))
    in_update = analyze(program(source, preview=False))

    # THEN preview has nothing to scan (and no "can't run" either); the update blocks it
    assert violations_of(in_preview, "iam-policy-disallow-wildcards") == [] and in_preview.cannot_run == ()
    assert the_violation(in_update, "iam-policy-disallow-wildcards", "jobs").level == "mandatory"


REFERENCES_EVERYWHERE = '''
config = pulumi.Config()
secret = aws.secretsmanager.Secret("warehouse-password")
aws.ssm.Parameter("search-token", name="/shop/search-token", type="SecureString",
                  value=config.require_secret("searchToken"), tags={"owner": "search", "token-ttl": "3600"})
aws.ssm.Parameter("log-level", name="/shop/log-level", type="String", value="info")
aws.glue.Connection("orders-replica", connection_properties={
    "JDBC_CONNECTION_URL": "jdbc:postgresql://orders-replica.internal:5432/shop", "SECRET_ID": secret.name})
aws.codebuild.Project("images", service_role="arn:aws:iam::123456789012:role/codebuild",
                      artifacts={"type": "NO_ARTIFACTS"},
                      source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
                      environment={"compute_type": "BUILD_GENERAL1_SMALL", "type": "ARM_CONTAINER",
                                   "image": "aws/codebuild/amazonlinux2-aarch64-standard:3.0",
                                   "environment_variables": [
                                       {"name": "REGISTRY_TOKEN", "value": "ci/registry-token",
                                        "type": "SECRETS_MANAGER"},
                                       {"name": "BUILD_MODE", "value": "release"}]})
aws.ec2.Instance("worker", ami="ami-0abcdef1234567890", instance_type="t4g.small",
                 user_data="#!/bin/bash\\nexport DB_PASSWORD=$(aws secretsmanager get-secret-value "
                           "--secret-id warehouse-password --query SecretString --output text)\\n")
aws.cloudwatch.EventConnection("carrier", authorization_type="API_KEY", auth_parameters={
    "api_key": {"key": "x-api-key", "value": config.require_secret("carrierApiKey")}})
pulumi.export("warehousePasswordArn", secret.arn)
'''


def test_secrets_passed_by_reference_pass_in_every_place(program: Program, analyze: Analyze,
                                                         preview: bool) -> None:
    # GIVEN secrets kept in Secrets Manager or SecureString and passed by reference everywhere
    snapshot = program(REFERENCES_EVERYWHERE, preview=preview, config={
        "ecommerce:searchToken": "search-token-from-secret-config",
        "ecommerce:carrierApiKey": "carrier-key-from-secret-config"})

    # THEN no plaintext secret is reported (a connection's key from config is not a known format)
    report = analyze(snapshot)
    assert [str(v) for v in violations_of(report, "secrets-disallow-plaintext")] == []
    assert violations_of(report, "stack-outputs-disallow-secrets") == []
