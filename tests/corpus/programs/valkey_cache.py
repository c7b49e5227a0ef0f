"""An ElastiCache for Valkey replication group: a primary and a replica in two Availability Zones,
automatic failover, TLS in transit (Valkey encrypts at rest by default)."""

import pulumi
import pulumi_aws as aws

subnets = aws.elasticache.SubnetGroup("cache", subnet_ids=["subnet-0aaa1111", "subnet-0bbb2222"])
cache = aws.elasticache.ReplicationGroup(
    "sessions", description="session cache", engine="valkey", engine_version="8.0",
    node_type="cache.t4g.small", num_cache_clusters=2, automatic_failover_enabled=True,
    multi_az_enabled=True, transit_encryption_enabled=True, subnet_group_name=subnets.name,
    snapshot_retention_limit=1)

pulumi.export("endpoint", cache.primary_endpoint_address)
