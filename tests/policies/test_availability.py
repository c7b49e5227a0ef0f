"""Multi-AZ data stores: one compliant program passes, each single-AZ variant fails and names the store."""

from __future__ import annotations

import pytest

from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICIES = ("rds-instance-require-multi-az", "database-cluster-require-multi-az", "cache-require-multi-az",
            "opensearch-domain-require-zone-awareness", "db-subnet-group-require-multi-az")

NETWORK = '''
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnet_a = aws.ec2.Subnet("private-a", vpc_id=vpc.id, cidr_block="10.0.1.0/24",
                          availability_zone="us-east-1a")
subnet_b = aws.ec2.Subnet("private-b", vpc_id=vpc.id, cidr_block="10.0.2.0/24",
                          availability_zone="us-east-1b")
'''


def aurora(instances: list[str], name: str = "orders") -> str:
    placed = "\n".join(
        f'aws.rds.ClusterInstance("{name}-{i}", cluster_identifier={name}.id, '
        f'engine="aurora-postgresql", instance_class="db.r6g.large", availability_zone="{az}")'
        for i, az in enumerate(instances))
    return f'''
{name} = aws.rds.Cluster("{name}", engine="aurora-postgresql", engine_version="16.4",
                         master_username="shop", manage_master_user_password=True,
                         storage_encrypted=True)
{placed}
'''


GOOD = NETWORK + aurora(["us-east-1a", "us-east-1b"]) + '''
aws.rds.SubnetGroup("db-subnets", subnet_ids=[subnet_a.id, subnet_b.id])
aws.rds.Instance("reports", engine="postgres", instance_class="db.t4g.medium", allocated_storage=20,
                 username="shop", manage_master_user_password=True, multi_az=True)
docs = aws.docdb.Cluster("docs", master_username="shop", manage_master_user_password=True)
for index, zone in enumerate(["us-east-1a", "us-east-1c"]):
    aws.docdb.ClusterInstance(f"docs-{index}", cluster_identifier=docs.id, instance_class="db.r6g.large",
                              availability_zone=zone)
aws.rds.Cluster("multi-az-db-cluster", engine="postgres", db_cluster_instance_class="db.m6gd.large",
                allocated_storage=100, storage_type="io1", iops=1000, master_username="shop",
                manage_master_user_password=True)
aws.elasticache.ReplicationGroup("products-cache", description="hot product reads", engine="valkey",
                                 node_type="cache.r7g.large", num_cache_clusters=2,
                                 multi_az_enabled=True, automatic_failover_enabled=True)
aws.elasticache.ReplicationGroup("sharded-cache", description="sharded", engine="valkey",
                                 node_type="cache.r7g.large", num_node_groups=2, replicas_per_node_group=1,
                                 multi_az_enabled=True, automatic_failover_enabled=True)
aws.elasticache.Cluster("sessions-memcached", engine="memcached", node_type="cache.t4g.small",
                        num_cache_nodes=2, az_mode="cross-az")
aws.memorydb.Cluster("ledger", node_type="db.r7g.large", acl_name="open-access")
aws.opensearch.Domain("search", cluster_config={
    "instance_type": "r7g.large.search", "instance_count": 2, "zone_awareness_enabled": True,
    "zone_awareness_config": {"availability_zone_count": 2}})
'''

BAD = {
    "rds instance in one AZ": ('''
aws.rds.Instance("reports", engine="postgres", instance_class="db.t4g.medium", allocated_storage=20,
                 username="shop", manage_master_user_password=True)
''', "rds-instance-require-multi-az", "reports"),
    "aurora with a writer only": (aurora(["us-east-1a"]), "database-cluster-require-multi-az", "orders"),
    "aurora with both instances in one AZ": (aurora(["us-east-1a", "us-east-1a"]),
                                             "database-cluster-require-multi-az", "orders"),
    "documentdb with one instance": ('''
docs = aws.docdb.Cluster("docs", master_username="shop", manage_master_user_password=True)
aws.docdb.ClusterInstance("docs-0", cluster_identifier=docs.id, instance_class="db.r6g.large")
''', "database-cluster-require-multi-az", "docs"),
    "neptune without instances": ('''
aws.neptune.Cluster("graph", engine="neptune", storage_encrypted=True)
''', "database-cluster-require-multi-az", "graph"),
    "replication group of one node": ('''
aws.elasticache.ReplicationGroup("products-cache", description="hot reads", engine="valkey",
                                 node_type="cache.r7g.large", num_cache_clusters=1)
''', "cache-require-multi-az", "products-cache"),
    "replication group without multi-AZ failover": ('''
aws.elasticache.ReplicationGroup("products-cache", description="hot reads", engine="valkey",
                                 node_type="cache.r7g.large", num_cache_clusters=2,
                                 automatic_failover_enabled=True)
''', "cache-require-multi-az", "products-cache"),
    "single-node redis cluster": ('''
aws.elasticache.Cluster("products-cache", engine="redis", node_type="cache.t4g.small", num_cache_nodes=1)
''', "cache-require-multi-az", "products-cache"),
    "memorydb without replicas": ('''
aws.memorydb.Cluster("ledger", node_type="db.r7g.large", acl_name="open-access", num_replicas_per_shard=0)
''', "cache-require-multi-az", "ledger"),
    "search domain of one node": ('''
aws.opensearch.Domain("search", cluster_config={"instance_type": "r7g.large.search", "instance_count": 1})
''', "opensearch-domain-require-zone-awareness", "search"),
    "search domain without zone awareness": ('''
aws.opensearch.Domain("search", cluster_config={"instance_type": "r7g.large.search", "instance_count": 2})
''', "opensearch-domain-require-zone-awareness", "search"),
    "subnet group in one AZ": (NETWORK.replace("us-east-1b", "us-east-1a") + '''
aws.rds.SubnetGroup("db-subnets", subnet_ids=[subnet_a.id, subnet_b.id])
''', "db-subnet-group-require-multi-az", "db-subnets"),
}


def test_multi_az_data_stores_pass(program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN Aurora, DocumentDB, a Multi-AZ DB cluster and instance, caches and a search domain, each
    # spread over two AZs
    report = analyze(program(GOOD, preview=preview))

    # THEN no availability policy has anything to say, in preview as in update
    assert [v for p in POLICIES for v in violations_of(report, p)] == []
    assert report.cannot_run == ()


@pytest.mark.parametrize("case", BAD)
def test_single_az_data_stores_fail(case: str, program: Program, analyze: Analyze, preview: bool) -> None:
    # GIVEN a data store that one AZ outage takes down
    source, policy, resource = BAD[case]

    # WHEN the pack analyzes the program
    report = analyze(program(source, preview=preview))

    # THEN the policy blocks it and names the store
    violation = the_violation(report, policy, resource)
    assert violation.level == "mandatory"
    assert "Fix:" in violation.message
