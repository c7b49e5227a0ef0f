"""Anti-pattern: a customer's card number kept in a parameter for a "retry later" script."""

import pulumi_aws as aws

aws.ssm.Parameter("retry-card", name="/shop/prod/retry/order-1042", type="String",
                  value="5555555555554444")
