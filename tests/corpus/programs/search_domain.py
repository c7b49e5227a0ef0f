"""An OpenSearch domain for product search: in the VPC, zone-aware over two AZs with dedicated
masters, encrypted at rest and node to node, HTTPS only with a TLS 1.2 policy, IAM as master user."""

import pulumi
import pulumi_aws as aws

domain = aws.opensearch.Domain(
    "products", engine_version="OpenSearch_2.13",
    cluster_config={"instance_type": "r6g.large.search", "instance_count": 2,
                    "zone_awareness_enabled": True, "zone_awareness_config": {"availability_zone_count": 2},
                    "dedicated_master_enabled": True, "dedicated_master_type": "m6g.large.search",
                    "dedicated_master_count": 3},
    ebs_options={"ebs_enabled": True, "volume_size": 50, "volume_type": "gp3"},
    vpc_options={"subnet_ids": ["subnet-0aaa1111", "subnet-0bbb2222"],
                 "security_group_ids": ["sg-0search"]},
    encrypt_at_rest={"enabled": True}, node_to_node_encryption={"enabled": True},
    domain_endpoint_options={"enforce_https": True, "tls_security_policy": "Policy-Min-TLS-1-2-2019-07"},
    advanced_security_options={
        "enabled": True, "internal_user_database_enabled": False,
        "master_user_options": {"master_user_arn": "arn:aws:iam::123456789012:role/search-admin"}})

pulumi.export("endpoint", domain.endpoint)
