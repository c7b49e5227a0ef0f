"""Anti-pattern: one Redis node in front of hot product reads -- no replica, no failover."""

import pulumi_aws as aws

subnets = aws.elasticache.SubnetGroup("product-cache", subnet_ids=["subnet-0a1b2c3d", "subnet-4e5f6a7b"])
aws.elasticache.Cluster("product-cache", engine="redis", engine_version="7.1", node_type="cache.r7g.large",
                        num_cache_nodes=1, port=6379, subnet_group_name=subnets.name,
                        snapshot_retention_limit=3)
