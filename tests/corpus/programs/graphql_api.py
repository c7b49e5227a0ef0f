"""A GraphQL API on AppSync with Cognito sign-in and a regional WAF web ACL."""

import pulumi_aws as aws

users = aws.cognito.UserPool("shoppers", mfa_configuration="OPTIONAL",
                             software_token_mfa_configuration={"enabled": True})
api = aws.appsync.GraphQLApi(
    "catalog", authentication_type="AMAZON_COGNITO_USER_POOLS",
    user_pool_config={"user_pool_id": users.id, "aws_region": "us-east-1", "default_action": "ALLOW"},
    schema="type Query { product(id: ID!): String }")
acl = aws.wafv2.WebAcl(
    "catalog", scope="REGIONAL", default_action={"allow": {}},
    visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "catalog",
                       "sampled_requests_enabled": True},
    rules=[{"name": "rate", "priority": 0, "action": {"block": {}},
            "statement": {"rate_based_statement": {"limit": 2000, "aggregate_key_type": "IP"}},
            "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": "rate",
                                  "sampled_requests_enabled": True}}])
aws.wafv2.WebAclAssociation("catalog", resource_arn=api.arn, web_acl_arn=acl.arn)
