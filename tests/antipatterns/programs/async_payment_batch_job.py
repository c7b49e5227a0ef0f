"""Anti-pattern: nightly card captures as an AWS Batch job: jobs wait in a job queue, and the job is
handed the payment provider's key."""

import json

import pulumi_aws as aws

stripe_key = aws.secretsmanager.Secret("stripe-api-key")
aws.batch.JobDefinition("capture-authorised", type="container", container_properties=stripe_key.arn.apply(
    lambda arn: json.dumps({
        "image": "public.ecr.aws/shop/captures:3.1", "command": ["capture", "--all"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        "secrets": [{"name": "STRIPE_API_KEY", "valueFrom": arn}]})))
