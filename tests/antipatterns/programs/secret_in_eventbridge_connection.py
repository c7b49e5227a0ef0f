"""Anti-pattern: an EventBridge API destination connection with the carrier's API key in the program."""

import pulumi_aws as aws

aws.cloudwatch.EventConnection("carrier", authorization_type="API_KEY", auth_parameters={
    "api_key": {"key": "x-api-key", "value": "carrier-live-7f3a9c2e41b8"}})
