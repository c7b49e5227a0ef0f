"""Pricers of Aurora clusters and instances, RDS Proxy, DynamoDB tables and replicas, ElastiCache and
OpenSearch."""

from __future__ import annotations

from collections.abc import Mapping

from ...common import Res, as_list, is_true, number
from ..context import (
    CLUSTER,
    CLUSTER_INSTANCE,
    MAPPING,
    QUEUE,
    TABLE,
    TABLE_REPLICA,
    Pricer,
    PricingContext,
    Unpriceable,
    text_or,
)
from ..result import Charge
from ..usage import (
    AURORA_IO_PER_REQUEST,
    AURORA_KB_PER_WRITE_IO,
    AURORA_WRITE_IO_PER_ORDER,
    ITEM_KB,
    KB_PER_GB,
    TABLE_GB,
)


def _aurora_clusters(ctx: PricingContext) -> list[Res]:
    return [c for c in ctx.of_type(CLUSTER) if str(c.props.get("engine") or "").startswith("aurora")]


def _is_secondary(cluster: Res) -> bool:
    """A Global Database secondary: a member of a global cluster without its own credentials."""
    member = cluster.props.get("globalClusterIdentifier") is not None
    return member and cluster.props.get("masterUsername") is None


def _aurora_cluster(resource: Res, ctx: PricingContext) -> list[Charge]:
    engine = text_or(resource.props.get("engine"), "")
    if not str(engine).startswith("aurora"):
        raise Unpriceable(f"{engine or 'an unknown engine'} DB clusters are not in the price table")
    if resource.props.get("storageType") == "aurora-iopt1":
        raise Unpriceable("Aurora I/O-Optimized is not in the price table")
    usage = ctx.usage
    clusters = _aurora_clusters(ctx)
    writers = [c for c in clusters if not _is_secondary(c)]
    read_io = usage.origin_requests * AURORA_IO_PER_REQUEST / max(len(clusters), 1)
    write_io = usage.orders * AURORA_WRITE_IO_PER_ORDER
    charges = [Charge("cluster volume GB", float(usage.database_gb), "rds.auroraStorageGb")]
    if _is_secondary(resource):
        charges += [
            Charge("I/O requests (reads served in this Region), millions", read_io / 1e6,
                   "rds.auroraIoMillion"),
            Charge("replicated write I/Os, millions", write_io / 1e6, "rds.auroraReplicatedWriteIoMillion"),
            Charge("GB replicated from the primary Region", write_io * AURORA_KB_PER_WRITE_IO / KB_PER_GB,
                   "ec2.interRegionTransferGb", region=ctx.region(writers[0]) if writers
                   else ctx.default_region)]
    else:
        charges.append(Charge("I/O requests, millions", (read_io + write_io / max(len(writers), 1)) / 1e6,
                              "rds.auroraIoMillion"))
    if is_true(resource.props.get("manageMasterUserPassword")):
        charges.append(Charge("RDS-managed master secret", 1.0, "secretsmanager.secretMonth"))
    return charges


def _cluster_instance(resource: Res, ctx: PricingContext) -> list[Charge]:
    size = text_or(resource.props.get("instanceClass"))
    if size is None:
        raise Unpriceable("its instance class is not known")
    if size == "db.serverless":
        minimum = 0.5
        for cluster in ctx.targets(resource, "clusterIdentifier", CLUSTER):
            minimum = number(cluster.get("serverlessv2ScalingConfiguration", "minCapacity")) or minimum
        return [Charge(f"ACU-hours (minimum {minimum:g} ACU)", minimum * ctx.hours,
                       "rds.auroraServerlessAcuHour")]
    engine = str(text_or(resource.props.get("engine"), "aurora-postgresql"))
    if not engine.startswith("aurora"):
        raise Unpriceable(f"{engine} instances are not in the price table")
    return [Charge(f"instance-hours ({size})", ctx.hours, "rds.auroraInstanceHour", variant=size)]


def _rds_proxy(resource: Res, ctx: PricingContext) -> list[Charge]:
    instances: list[Res] = []
    for target in ctx.referrers(resource, ["aws:rds/proxyTarget:ProxyTarget"], "dbProxyName"):
        for cluster in ctx.targets(target, "dbClusterIdentifier", CLUSTER):
            instances += ctx.referrers(cluster, [CLUSTER_INSTANCE], "clusterIdentifier")
    if not instances:
        instances = ctx.in_region(ctx.region(resource), CLUSTER_INSTANCE)
    vcpus = 0.0
    for instance in instances:
        size = text_or(instance.props.get("instanceClass"))
        count = ctx.prices.size("rdsVcpus", size) if size else None
        if count is None:
            raise Unpriceable(f"the vCPUs of {size or 'an unknown class'} are not in the price table")
        vcpus += count
    vcpus = max(vcpus, 2.0)
    return [Charge(f"vCPU-hours of the proxied instances ({vcpus:g} vCPUs)", vcpus * ctx.hours,
                   "rds.proxyVcpuHour")]


def _proxy_endpoint(resource: Res, ctx: PricingContext) -> list[Charge]:
    """An additional RDS Proxy endpoint is a PrivateLink interface endpoint in each of its subnets."""
    subnets = resource.props.get("vpcSubnetIds")
    zones = len(subnets) if isinstance(subnets, list) and subnets else 2
    return [Charge(f"endpoint ENI-hours ({zones} subnets, priced as interface endpoints)",
                   ctx.hours * zones, "vpc.interfaceEndpointHour")]


_TABLE_PATTERNS = (  # name keyword -> (reads, writes) per origin request; "messages": per consumer message
    ("session", 1.0, 0.1), ("cart", 0.3, 0.05), ("idempot", "messages", "messages"),
)


def _table_traffic(table: Res, ctx: PricingContext) -> tuple[str, float, float]:
    """(pattern, reads, writes) per month the table serves across all its Regions (cached: every
    table's price looks at all the tables' traffic)."""
    if table.urn not in ctx._table_traffic:
        ctx._table_traffic[table.urn] = _traffic(table, ctx)
    return ctx._table_traffic[table.urn]


def _traffic(table: Res, ctx: PricingContext) -> tuple[str, float, float]:
    names = " ".join(table.names(("workload",))).lower()
    for keyword, reads, writes in _TABLE_PATTERNS:
        if keyword in names:
            if reads == "messages":
                messages = sum(ctx.queue_messages(q) for q in ctx.of_type(QUEUE)
                               if ctx.referrers(q, [MAPPING], "eventSourceArn"))
                return keyword, messages, messages
            assert isinstance(reads, float) and isinstance(writes, float)
            return keyword, ctx.usage.origin_requests * reads, ctx.usage.origin_requests * writes
    return "other", ctx.usage.origin_requests * 0.1, ctx.usage.origin_requests * 0.01


def _table(resource: Res, ctx: PricingContext) -> list[Charge]:
    pattern, reads, writes = _table_traffic(resource, ctx)
    region = ctx.region(resource)
    replicas = [r.get("regionName") for r in as_list(resource.props.get("replicas"))
                if isinstance(r, Mapping)]
    replica_regions = [r for r in replicas if isinstance(r, str)]
    replica_regions += [ctx.region(r) for r in ctx.referrers(resource, [TABLE_REPLICA], "globalTableArn",
                                                             across_regions=True)]
    pitr = is_true(resource.get("pointInTimeRecovery", "enabled"))
    if resource.props.get("billingMode") == "PROVISIONED":
        rcu, wcu = number(resource.props.get("readCapacity")), number(resource.props.get("writeCapacity"))
        if rcu is None or wcu is None:
            raise Unpriceable("its provisioned capacity is not known")
        charges = [Charge(f"provisioned RCU-hours ({rcu:g})", rcu * ctx.hours, "dynamodb.provisionedRcuHour"),
                   Charge(f"provisioned WCU-hours ({wcu:g})", wcu * ctx.hours, "dynamodb.provisionedWcuHour")]
    elif replica_regions:  # a global table: every write lands in every copy as a replicated write
        copies = 1 + len(replica_regions)
        charges = [Charge(f"reads ({pattern}, 1/{copies} of the table's), million RRU",
                          reads / copies / 1e6, "dynamodb.readRequestMillion"),
                   Charge(f"writes ({pattern}, replicated to every copy), million rWRU", writes / 1e6,
                          "dynamodb.replicatedWriteRequestMillion")]
        charges.append(Charge(f"GB of writes sent to the {len(replica_regions)} other Region(s)",
                              writes * ITEM_KB * len(replica_regions) / KB_PER_GB,
                              "ec2.interRegionTransferGb"))
    else:
        peers = [t for t in ctx.of_type(TABLE) if _table_traffic(t, ctx)[0] == pattern]
        share = ctx.traffic_share(resource, peers)
        charges = [Charge(f"reads ({pattern}), million RRU", reads * share / 1e6,
                          "dynamodb.readRequestMillion"),
                   Charge(f"writes ({pattern}), million WRU", writes * share / 1e6,
                          "dynamodb.writeRequestMillion")]
    charges.append(Charge("table storage GB", TABLE_GB, "dynamodb.storageGb"))
    if pitr:
        charges.append(Charge("point-in-time recovery GB", TABLE_GB, "dynamodb.pitrGb"))
    for replica in replicas:
        if not isinstance(replica, str) or replica == region:
            continue
        copies = 1 + len(replica_regions)
        charges += [Charge(f"replica in {replica}: reads, million RRU", reads / copies / 1e6,
                           "dynamodb.readRequestMillion", region=replica),
                    Charge(f"replica in {replica}: replicated writes, million rWRU", writes / 1e6,
                           "dynamodb.replicatedWriteRequestMillion", region=replica),
                    Charge(f"replica in {replica}: storage GB", TABLE_GB, "dynamodb.storageGb",
                           region=replica)]
        if pitr:
            charges.append(Charge(f"replica in {replica}: point-in-time recovery GB", TABLE_GB,
                                  "dynamodb.pitrGb", region=replica))
    return charges


def _table_replica(resource: Res, ctx: PricingContext) -> list[Charge]:
    tables = ctx.targets(resource, "globalTableArn", TABLE, across_regions=True)
    if not tables:
        raise Unpriceable("its global table is not in the stack")
    _pattern, reads, writes = _table_traffic(tables[0], ctx)
    copies = 1 + len(ctx.referrers(tables[0], [TABLE_REPLICA], "globalTableArn", across_regions=True)) + \
        len(as_list(tables[0].props.get("replicas")))
    charges = [Charge("reads, million RRU", reads / copies / 1e6, "dynamodb.readRequestMillion"),
               Charge("replicated writes, million rWRU", writes / 1e6,
                      "dynamodb.replicatedWriteRequestMillion"),
               Charge("storage GB", TABLE_GB, "dynamodb.storageGb")]
    if is_true(resource.props.get("pointInTimeRecovery")):
        charges.append(Charge("point-in-time recovery GB", TABLE_GB, "dynamodb.pitrGb"))
    return charges


def _cache_nodes(resource: Res, count: float | None, ctx: PricingContext) -> list[Charge]:
    size = text_or(resource.props.get("nodeType"))
    if size is None or count is None:
        raise Unpriceable("its node type or node count is not known")
    engine = str(text_or(resource.props.get("engine"), "redis"))
    factor = 1.0
    if engine == "valkey":
        discount, _column = ctx.prices.unit_price("elasticache.valkeyNodeDiscount", ctx.region(resource))
        factor = 1 - discount
    return [Charge(f"node-hours ({count:g} x {size}, {engine})", count * ctx.hours, "elasticache.nodeHour",
                   variant=size, factor=factor)]


def _replication_group(resource: Res, ctx: PricingContext) -> list[Charge]:
    count = number(resource.props.get("numCacheClusters"))
    if count is None:
        groups = number(resource.props.get("numNodeGroups"))
        replicas = number(resource.props.get("replicasPerNodeGroup"))
        if groups is not None:
            count = groups * ((replicas or 0) + 1)
    return _cache_nodes(resource, count, ctx)


def _cache_cluster(resource: Res, ctx: PricingContext) -> list[Charge]:
    return _cache_nodes(resource, number(resource.props.get("numCacheNodes")) or 1.0, ctx)


def _opensearch_domain(resource: Res, ctx: PricingContext) -> list[Charge]:
    config = resource.first("clusterConfig")
    if not isinstance(config, Mapping):
        raise Unpriceable("its cluster config is not known")
    size = text_or(config.get("instanceType")) or "r6g.large.search"
    count = number(config.get("instanceCount")) or 1.0
    charges = [Charge(f"data node-hours ({count:g} x {size})", count * ctx.hours, "opensearch.instanceHour",
                      variant=size)]
    if is_true(config.get("dedicatedMasterEnabled")):
        masters = number(config.get("dedicatedMasterCount")) or 3.0
        master_size = text_or(config.get("dedicatedMasterType")) or size
        charges.append(Charge(f"dedicated master node-hours ({masters:g} x {master_size})",
                              masters * ctx.hours, "opensearch.instanceHour", variant=master_size))
    if is_true(config.get("warmEnabled")):
        warm = number(config.get("warmCount")) or 2.0
        warm_size = text_or(config.get("warmType")) or "ultrawarm1.medium.search"
        charges.append(Charge(f"UltraWarm node-hours ({warm:g} x {warm_size})", warm * ctx.hours,
                              "opensearch.instanceHour", variant=warm_size))
    ebs = resource.first("ebsOptions")
    if isinstance(ebs, Mapping) and is_true(ebs.get("ebsEnabled")):
        volume = number(ebs.get("volumeSize")) or 10.0
        kind = "gp2" if ebs.get("volumeType") == "gp2" else "gp3"
        charges.append(Charge(f"EBS {kind} GB ({count:g} x {volume:g} GB)", count * volume,
                              f"opensearch.{kind}Gb"))
    return charges


PRICERS: Mapping[str, Pricer] = {
    CLUSTER: _aurora_cluster,
    CLUSTER_INSTANCE: _cluster_instance,
    "aws:rds/proxy:Proxy": _rds_proxy,
    "aws:rds/proxyEndpoint:ProxyEndpoint": _proxy_endpoint,
    TABLE: _table,
    TABLE_REPLICA: _table_replica,
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:elasticache/cluster:Cluster": _cache_cluster,
    "aws:opensearch/domain:Domain": _opensearch_domain,
}
