"""Anti-pattern: the relational, admin-edited product catalog forced into single-table DynamoDB."""

import pulumi_aws as aws

aws.dynamodb.Table("product-catalog", billing_mode="PAY_PER_REQUEST", hash_key="pk", range_key="sk",
                   attributes=[{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"},
                               {"name": "gsi1pk", "type": "S"}, {"name": "gsi1sk", "type": "S"}],
                   global_secondary_indexes=[{"name": "by-category", "hash_key": "gsi1pk",
                                              "range_key": "gsi1sk",
                                              "projection_type": "ALL"}],
                   point_in_time_recovery={"enabled": True}, deletion_protection_enabled=True)
