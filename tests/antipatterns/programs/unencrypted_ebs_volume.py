"""Anti-pattern: an EBS volume for order exports, unencrypted (and the account does not encrypt EBS
by default)."""

import pulumi_aws as aws

aws.ebs.Volume("order-exports", availability_zone="us-east-1a", size=200, type="gp3")
