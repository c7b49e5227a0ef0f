"""Anti-pattern: a Batch job definition with the warehouse password in the container environment."""

import json

import pulumi_aws as aws

aws.batch.JobDefinition("stock-sync", type="container", container_properties=json.dumps({
    "image": "public.ecr.aws/shop/stock-sync:2.0", "command": ["sync"],
    "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
    "environment": [{"name": "WAREHOUSE_PASSWORD", "value": "w4rehouse-sync-2026"}]}))
