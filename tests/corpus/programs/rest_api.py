"""A REST API on API Gateway in front of a Lambda function, with a regional WAF web ACL on its stage
(the API Gateway "protect your REST API with AWS WAF" setup)."""

import json

import pulumi
import pulumi_aws as aws

role = aws.iam.Role("handler", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicyAttachment("handler-logs", role=role.name,
                             policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
handler = aws.lambda_.Function("handler", role=role.arn, runtime="python3.12", handler="app.handler",
                               code=pulumi.AssetArchive({"app.py": pulumi.StringAsset(
                                   "def handler(event, context):\n    return {'statusCode': 200}\n")}))

api = aws.apigateway.RestApi("orders", endpoint_configuration={"types": "REGIONAL"})
resource = aws.apigateway.Resource("orders", rest_api=api.id, parent_id=api.root_resource_id,
                                   path_part="orders")
method = aws.apigateway.Method("orders-get", rest_api=api.id, resource_id=resource.id,
                               http_method="GET", authorization="AWS_IAM")
integration = aws.apigateway.Integration("orders-get", rest_api=api.id, resource_id=resource.id,
                                         http_method=method.http_method, type="AWS_PROXY",
                                         integration_http_method="POST", uri=handler.invoke_arn)
aws.lambda_.Permission("api", action="lambda:InvokeFunction", function=handler.name,
                       principal="apigateway.amazonaws.com",
                       source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"))
deployment = aws.apigateway.Deployment("orders", rest_api=api.id,
                                       opts=pulumi.ResourceOptions(depends_on=[integration]))
stage = aws.apigateway.Stage("v1", rest_api=api.id, deployment=deployment.id, stage_name="v1",
                             xray_tracing_enabled=True)

acl = aws.wafv2.WebAcl(
    "orders", scope="REGIONAL", default_action={"allow": {}},
    visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "orders",
                       "sampled_requests_enabled": True},
    rules=[{"name": "rate", "priority": 0, "action": {"block": {}},
            "statement": {"rate_based_statement": {"limit": 1000, "aggregate_key_type": "IP"}},
            "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": "rate",
                                  "sampled_requests_enabled": True}}])
aws.wafv2.WebAclAssociation("orders", resource_arn=stage.arn, web_acl_arn=acl.arn)

pulumi.export("url", stage.invoke_url)
