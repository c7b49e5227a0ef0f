"""Multi-AZ data stores (case study: single-Region with Multi-AZ HA is the baseline; 99.95% checkout).

An Availability Zone outage must not take a database, cache or search domain down with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    MANDATORY,
    Report,
    Res,
    StackGraph,
    is_true,
    is_unknown,
    message,
    number,
    preview_unknown,
    resource_policy,
    stack_policy,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
CLUSTERS = {  # cluster type -> its instance type
    "aws:rds/cluster:Cluster": "aws:rds/clusterInstance:ClusterInstance",
    "aws:docdb/cluster:Cluster": "aws:docdb/clusterInstance:ClusterInstance",
    "aws:neptune/cluster:Cluster": "aws:neptune/clusterInstance:ClusterInstance",
}
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
MEMORYDB_CLUSTER = "aws:memorydb/cluster:Cluster"
SEARCH_DOMAINS = ("aws:opensearch/domain:Domain", "aws:elasticsearch/domain:Domain")
SUBNET_GROUPS = ("aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup",
                 "aws:docdb/subnetGroup:SubnetGroup", "aws:neptune/subnetGroup:SubnetGroup",
                 "aws:memorydb/subnetGroup:SubnetGroup")
SUBNET = "aws:ec2/subnet:Subnet"
TAGS = ["case-study", "availability"]


# ----------------------------------------------------------------------------------------------


def _check_rds_instance(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """An RDS DB instance keeps a synchronous standby in a second Availability Zone.

    Covers: aws:rds/instance:Instance. A read replica (replicate_source_db) is exempt: it scales
    reads, its source carries the Multi-AZ standby. Aurora instances are aws:rds/clusterInstance
    (`database-cluster-require-multi-az`).

    Well-built programs: production RDS instances set multi_az=True, as the RDS guides do.
    """
    if resource.props.get("replicateSourceDb") is not None:
        return
    multi_az = resource.props.get("multiAz")
    if is_unknown(multi_az):
        report(preview_unknown(resource, "multiAz", "set multi_az=True as a literal"))
    elif not is_true(multi_az):
        report(message(resource, "the DB instance runs in one Availability Zone (multi_az is not "
                                 "true), so an AZ outage takes it down",
                       "set multi_az=True (a synchronous standby in a second AZ), or use Aurora with "
                       "a reader in another AZ"))


rds_instance_require_multi_az = resource_policy(
    name="rds-instance-require-multi-az",
    description="RDS DB instances must be Multi-AZ.",
    level=MANDATORY, severity=Severity.HIGH, types=[RDS_INSTANCE], check=_check_rds_instance,
    remediation="Set multi_az=True on the aws.rds.Instance.", tags=TAGS,
    antipattern="a single Availability Zone to keep the monthly bill lowest")


# ----------------------------------------------------------------------------------------------


def _is_multi_az_db_cluster(cluster: Res) -> bool:
    """A non-Aurora RDS Multi-AZ DB cluster: one writer and two readers in three AZs by design."""
    engine = cluster.props.get("engine")
    return (cluster.type == "aws:rds/cluster:Cluster" and isinstance(engine, str)
            and not engine.startswith("aurora") and cluster.props.get("dbClusterInstanceClass") is not None)


def _check_clusters(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Aurora, DocumentDB and Neptune clusters have an instance to fail over to in another AZ.

    Covers: aws:rds/cluster:Cluster, aws:rds/clusterInstance:ClusterInstance,
    aws:docdb/cluster:Cluster, aws:docdb/clusterInstance:ClusterInstance,
    aws:neptune/cluster:Cluster, aws:neptune/clusterInstance:ClusterInstance. A non-Aurora RDS
    Multi-AZ DB cluster (db_cluster_instance_class) is three AZs by design and passes.

    Well-built programs: a production cluster has a writer and a reader; AWS spreads unpinned
    instances, and pinned ones name two AZs.
    """
    minimum = int(number(config["minInstances"]) or 2)
    for cluster in graph.of_type(*CLUSTERS):
        if _is_multi_az_db_cluster(cluster):
            continue
        instances = graph.referrers(cluster, [CLUSTERS[cluster.type]], "clusterIdentifier")
        if len(instances) < minimum:
            report(message(cluster, f"the cluster has {len(instances)} instance(s); with fewer than "
                                    f"{minimum} there is no instance to fail over to in another AZ",
                           f"add a reader instance (cluster_identifier=<this cluster>) in a second "
                           f"Availability Zone, {minimum} instances at least"), cluster.urn)
            continue
        zones = [i.props.get("availabilityZone") for i in instances]
        known = {z for z in zones if isinstance(z, str)}
        if len(known) >= 2 or (None in zones and not any(is_unknown(z) for z in zones)):
            continue  # spread over AZs, or RDS places the unpinned instances
        if any(is_unknown(z) for z in zones):
            report(preview_unknown(cluster, "the availability_zone of its instances",
                                   "pin the writer and the readers to different AZs with literal "
                                   "availability_zone values"), cluster.urn)
        else:
            report(message(cluster, f"all {len(instances)} instances are in {known.pop()}, so an AZ "
                                    "outage takes the whole cluster down",
                           "put at least one reader in a different Availability Zone"), cluster.urn)


database_cluster_require_multi_az = stack_policy(
    name="database-cluster-require-multi-az",
    description="Aurora, DocumentDB and Neptune clusters need at least two instances in different "
                "Availability Zones.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_clusters,
    remediation="Add a reader ClusterInstance of the cluster in another Availability Zone.",
    config={"minInstances": {"type": "integer", "minimum": 2, "default": 2,
                             "description": "Instances (writer + readers) a cluster needs."}},
    tags=TAGS, antipattern="a single Availability Zone to keep the monthly bill lowest",
    covers=(*(t for pair in CLUSTERS.items() for t in pair),))


# ----------------------------------------------------------------------------------------------


def _check_replication_group(resource: Res, report: Report) -> None:
    props = resource.props
    decisive = [props.get(k) for k in ("multiAzEnabled", "automaticFailoverEnabled",
                                        "numCacheClusters", "numNodeGroups", "replicasPerNodeGroup")]
    if any(is_unknown(v) for v in decisive):
        report(preview_unknown(resource, "a Multi-AZ setting",
                               "set multi_az_enabled, automatic_failover_enabled and the node count "
                               "as literals"))
        return
    if props.get("replicasPerNodeGroup") is not None or props.get("numNodeGroups") is not None:
        nodes = 1 + int(number(props.get("replicasPerNodeGroup")) or 0)  # per shard
    else:
        nodes = int(number(props.get("numCacheClusters")) or 1)
    problems = []
    if nodes < 2:
        problems.append(f"{nodes} node per shard (a primary without a replica)")
    if not is_true(props.get("multiAzEnabled")):
        problems.append("multi_az_enabled is not true")
    if not is_true(props.get("automaticFailoverEnabled")):
        problems.append("automatic_failover_enabled is not true")
    if problems:
        report(message(resource, "the replication group does not survive an AZ outage: "
                                 + "; ".join(problems),
                       "use num_cache_clusters >= 2 (or replicas_per_node_group >= 1) with "
                       "multi_az_enabled=True and automatic_failover_enabled=True"))


def _check_caches(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """A cache keeps a replica in another AZ with automatic failover.

    Covers: aws:elasticache/replicationGroup:ReplicationGroup, aws:elasticache/cluster:Cluster
    (standalone Redis/Valkey is one node; Memcached needs nodes across AZs),
    aws:memorydb/cluster:Cluster. ElastiCache Serverless is Multi-AZ by design and not covered.

    Well-built programs: a replication group with num_cache_clusters >= 2, multi_az_enabled and
    automatic_failover_enabled, as the ElastiCache guides set up production caches.
    """
    props = resource.props
    if resource.type == REPLICATION_GROUP:
        _check_replication_group(resource, report)
    elif resource.type == CACHE_CLUSTER:
        if props.get("replicationGroupId") is not None:
            return  # a member of a replication group, which is checked itself
        engine, nodes, az_mode = (props.get("engine"), props.get("numCacheNodes"), props.get("azMode"))
        if any(is_unknown(v) for v in (engine, nodes, az_mode)):
            report(preview_unknown(resource, "engine, num_cache_nodes or az_mode",
                                   "set them as literals"))
        elif engine != "memcached":
            report(message(resource, "a standalone Redis/Valkey cache cluster is a single node",
                           "use an aws.elasticache.ReplicationGroup with a replica in another AZ, "
                           "multi_az_enabled and automatic_failover_enabled"))
        elif (number(nodes) or 1) < 2 or az_mode != "cross-az":
            report(message(resource, "the Memcached cluster is a single node or sits in one AZ",
                           "set num_cache_nodes >= 2 and az_mode='cross-az'"))
    elif resource.type == MEMORYDB_CLUSTER:
        replicas = props.get("numReplicasPerShard")
        if is_unknown(replicas):
            report(preview_unknown(resource, "num_replicas_per_shard", "set it as a literal >= 1"))
        elif replicas is not None and (number(replicas) or 0) < 1:
            report(message(resource, "num_replicas_per_shard is 0: each shard is a single node",
                           "set num_replicas_per_shard >= 1 (the default)"))


cache_require_multi_az = resource_policy(
    name="cache-require-multi-az",
    description="ElastiCache and MemoryDB must keep a replica in another Availability Zone with "
                "automatic failover; single-node caches are not allowed.",
    level=MANDATORY, severity=Severity.HIGH,
    types=[REPLICATION_GROUP, CACHE_CLUSTER, MEMORYDB_CLUSTER], check=_check_caches,
    remediation="Use a ReplicationGroup with num_cache_clusters >= 2, multi_az_enabled=True and "
                "automatic_failover_enabled=True.", tags=TAGS,
    antipattern="a single Availability Zone to keep the monthly bill lowest")


# ----------------------------------------------------------------------------------------------


def _check_search(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """A search domain survives an AZ outage: zone awareness and two data nodes at least.

    Covers: aws:opensearch/domain:Domain, aws:elasticsearch/domain:Domain.

    Well-built programs: production domains are zone-aware with an even number of data nodes.
    """
    cluster = resource.first("clusterConfig")
    if is_unknown(cluster):
        report(preview_unknown(resource, "cluster_config", "set cluster_config as literals"))
        return
    cluster = cluster if isinstance(cluster, Mapping) else {}
    count, aware = cluster.get("instanceCount"), cluster.get("zoneAwarenessEnabled")
    if is_unknown(count) or is_unknown(aware):
        report(preview_unknown(resource, "instance_count or zone_awareness_enabled",
                               "set them as literals"))
        return
    minimum = number(config["minDataNodes"]) or 2
    problems = []
    if (number(count) or 1) < minimum:
        problems.append(f"{int(number(count) or 1)} data node(s)")
    if not is_true(aware):
        problems.append("zone awareness is off")
    if problems:
        report(message(resource, "the search domain does not survive an AZ outage: "
                                 + "; ".join(problems),
                       f"set cluster_config.instance_count >= {int(minimum)} (even) and "
                       "zone_awareness_enabled=True with availability_zone_count 2 or 3"))


opensearch_domain_require_zone_awareness = resource_policy(
    name="opensearch-domain-require-zone-awareness",
    description="OpenSearch domains must be zone-aware with at least two data nodes.",
    level=MANDATORY, severity=Severity.HIGH, types=SEARCH_DOMAINS, check=_check_search,
    remediation="Set cluster_config.zone_awareness_enabled=True and instance_count >= 2.",
    config={"minDataNodes": {"type": "integer", "minimum": 2, "default": 2,
                             "description": "Data nodes a domain needs."}},
    tags=TAGS, antipattern="a single Availability Zone to keep the monthly bill lowest")


# ----------------------------------------------------------------------------------------------


def _check_subnet_groups(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Database and cache subnet groups span two AZs (where the stack says which AZs).

    Covers: aws:rds/subnetGroup:SubnetGroup, aws:elasticache/subnetGroup:SubnetGroup,
    aws:docdb/subnetGroup:SubnetGroup, aws:neptune/subnetGroup:SubnetGroup,
    aws:memorydb/subnetGroup:SubnetGroup, with aws:ec2/subnet:Subnet.

    Well-built programs: they list subnets of two or more AZs (RDS refuses fewer).
    """
    subnets_by_id = {i: s for s in graph.of_type(SUBNET) for i in s.identifiers()}
    for group in graph.of_type(*SUBNET_GROUPS):
        ids = group.props.get("subnetIds")
        if isinstance(ids, list) and len(ids) == 1:
            report(message(group, "the subnet group has a single subnet, so it spans one AZ",
                           "list subnets of at least two Availability Zones"), group.urn)
            continue
        subnets = [s for s in graph.targets(group, "subnetIds") if s.type == SUBNET]
        if isinstance(ids, list):
            subnets += [subnets_by_id[i] for i in ids if isinstance(i, str) and i in subnets_by_id]
        subnets = list({s.urn: s for s in subnets}.values())
        if not subnets or (isinstance(ids, list) and len(subnets) < len(ids)):
            continue  # some subnets are not in this stack: their AZs are not knowable
        zones = [s.props.get("availabilityZone") or s.props.get("availabilityZoneId") for s in subnets]
        if all(isinstance(z, str) for z in zones) and len(set(zones)) < 2:
            report(message(group, f"every subnet of the group is in {zones[0]}",
                           "list subnets of at least two Availability Zones"), group.urn)


db_subnet_group_require_multi_az = stack_policy(
    name="db-subnet-group-require-multi-az",
    description="Database and cache subnet groups must span at least two Availability Zones.",
    level=MANDATORY, severity=Severity.MEDIUM, check=_check_subnet_groups,
    remediation="Give the subnet group subnets in two or more Availability Zones.", tags=TAGS,
    antipattern="a single Availability Zone to keep the monthly bill lowest", covers=(*SUBNET_GROUPS, SUBNET))


POLICIES = [rds_instance_require_multi_az, database_cluster_require_multi_az, cache_require_multi_az,
            opensearch_domain_require_zone_awareness, db_subnet_group_require_multi_az]
