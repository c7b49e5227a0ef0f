"""Anti-pattern: an API Gateway HTTP API on its public execute-api endpoint: HTTP APIs cannot carry
a WAF web ACL, and no CloudFront distribution with one fronts it."""

import pulumi_aws as aws

api = aws.apigatewayv2.Api("cart-api", protocol_type="HTTP")
aws.apigatewayv2.Stage("cart-api", api_id=api.id, name="$default", auto_deploy=True)
