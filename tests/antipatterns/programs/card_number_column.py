"""Anti-pattern: "saved cards" stored by the shop -- raw PANs pull everything into PCI scope."""

import pulumi_aws as aws

aws.dynamodb.Table("saved-cards", billing_mode="PAY_PER_REQUEST", hash_key="customer_id",
                   range_key="card_number",
                   attributes=[{"name": "customer_id", "type": "S"}, {"name": "card_number", "type": "S"}],
                   point_in_time_recovery={"enabled": True}, deletion_protection_enabled=True)
