"""Anti-pattern: the payment provider's key as a plain String parameter (not a SecureString)."""

import pulumi_aws as aws

aws.ssm.Parameter("stripe-key", name="/shop/prod/stripe-secret-key", type="String",
                  value="sk_live_51HzQ2rLmNoPqRsTuVwXyZ0123456789")
