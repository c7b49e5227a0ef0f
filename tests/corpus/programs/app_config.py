"""Application configuration in SSM Parameter Store: plain settings as String parameters, the API
token as a SecureString read from the stack's secret config (the Pulumi "secrets" pattern)."""

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
aws.ssm.Parameter("log-level", name="/shop/log-level", type="String", value="info")
aws.ssm.Parameter("feature-flags", name="/shop/feature-flags", type="StringList",
                  value="new-checkout,wishlist")
aws.ssm.Parameter("search-api-token", name="/shop/search-api-token", type="SecureString",
                  value=config.require_secret("searchApiToken"),
                  tags={"owner": "search-team", "data-classification": "internal"})
