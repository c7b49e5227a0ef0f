"""Anti-pattern: an EventBridge API destination connection to the payment provider with its live
secret key written in the program."""

import pulumi_aws as aws

aws.cloudwatch.EventConnection("stripe", authorization_type="API_KEY", auth_parameters={
    "api_key": {"key": "Authorization", "value": "Bearer sk_live_51HzQ2rLmNoPqRsTuVwXyZ0123"}})
