"""Anti-pattern: orders by e-mail charged on arrival: an SES receipt rule invokes code that can
charge."""

import json

import pulumi
import pulumi_aws as aws

stripe_key = aws.secretsmanager.Secret("stripe-api-key")
role = aws.iam.Role("payments", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicy("payments-key", role=role.id, policy=stripe_key.arn.apply(lambda arn: json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                            "Resource": arn}]})))
charge = aws.lambda_.Function("charge", role=role.arn, runtime="python3.12", handler="shop.pay.handler",
                              code=pulumi.AssetArchive({"shop/__init__.py": pulumi.StringAsset("")}))
rules = aws.ses.ReceiptRuleSet("orders-by-mail", rule_set_name="orders-by-mail")
aws.ses.ReceiptRule("charge-on-mail", rule_set_name=rules.rule_set_name,
                    recipients=["orders@shop.example.com"],
                    enabled=True, scan_enabled=True,
                    lambda_actions=[{"function_arn": charge.arn, "invocation_type": "Event", "position": 1}])
