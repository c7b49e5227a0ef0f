"""Checkout that charges the card synchronously: an API Gateway REST API (with a WAF) invokes the
checkout function, whose role reads the payment provider's API key from Secrets Manager; after the
charge, an `order.placed` event reaches a queue whose consumer sends the receipt e-mail. The
receipts consumer is asynchronous and is named after payments, but it cannot charge anyone: it has
no access to the provider's key."""

import json

import pulumi
import pulumi_aws as aws

stripe_key = aws.secretsmanager.Secret("stripe-api-key", description="Stripe secret API key")

def lambda_role(name: str) -> aws.iam.Role:
    return aws.iam.Role(name, assume_role_policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))

checkout_role = lambda_role("checkout")
aws.iam.RolePolicy("checkout-stripe-key", role=checkout_role.id, policy=stripe_key.arn.apply(
    lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}]})))
checkout = aws.lambda_.Function("checkout", role=checkout_role.arn, runtime="python3.12",
                                handler="checkout.handler", timeout=15, code=pulumi.FileArchive("./checkout"),
                                environment={"variables": {"STRIPE_SECRET_ARN": stripe_key.arn}})

api = aws.apigateway.RestApi("checkout")
resource = aws.apigateway.Resource("checkout", rest_api=api.id, parent_id=api.root_resource_id,
                                   path_part="checkout")
method = aws.apigateway.Method("checkout", rest_api=api.id, resource_id=resource.id, http_method="POST",
                               authorization="COGNITO_USER_POOLS", authorizer_id="abc123")
integration = aws.apigateway.Integration("checkout", rest_api=api.id, resource_id=resource.id,
                                         http_method="POST", type="AWS_PROXY",
                                         integration_http_method="POST", uri=checkout.invoke_arn)
aws.lambda_.Permission("checkout-from-api", action="lambda:InvokeFunction", function=checkout.name,
                       principal="apigateway.amazonaws.com",
                       source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/POST/checkout"))
deployment = aws.apigateway.Deployment("checkout", rest_api=api.id,
                                       opts=pulumi.ResourceOptions(depends_on=[integration]))
stage = aws.apigateway.Stage("prod", rest_api=api.id, deployment=deployment.id, stage_name="prod")
acl = aws.wafv2.WebAcl(
    "checkout", scope="REGIONAL", default_action={"allow": {}},
    visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "checkout",
                       "sampled_requests_enabled": True},
    rules=[{"name": "common", "priority": 0, "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"vendor_name": "AWS",
                                                           "name": "AWSManagedRulesCommonRuleSet"}},
            "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": "common",
                                  "sampled_requests_enabled": True}}])
aws.wafv2.WebAclAssociation("checkout", resource_arn=stage.arn, web_acl_arn=acl.arn)

# after the charge: the receipt e-mail, asynchronously
receipts_dlq = aws.sqs.Queue("payment-receipts-dlq", message_retention_seconds=1209600)
receipts = aws.sqs.Queue("payment-receipts", redrive_policy=receipts_dlq.arn.apply(
    lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
receipts_role = lambda_role("payment-receipts")
aws.iam.RolePolicyAttachment("payment-receipts-sqs", role=receipts_role.name,
                             policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole")
aws.iam.RolePolicy("payment-receipts-ses", role=receipts_role.id, policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "ses:SendEmail",
        "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com"}]}))
send_receipt = aws.lambda_.Function("send-payment-receipt", role=receipts_role.arn, runtime="python3.12",
                                    handler="receipts.send_payment_receipt",
                                    code=pulumi.FileArchive("./receipts"))
aws.lambda_.EventSourceMapping("send-payment-receipt", event_source_arn=receipts.arn,
                               function_name=send_receipt.arn,
                               function_response_types=["ReportBatchItemFailures"])
