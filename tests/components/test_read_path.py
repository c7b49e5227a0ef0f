"""The read path's infrastructure: the storefront reads only the Aurora readers, the cache and search;
the search indexer, the cache invalidator and the reindex job get exactly the access they use."""

from __future__ import annotations

import json
from typing import Any

from offline.engine import Resource, Snapshot
from tests.components.event_flow import FUNCTION, consumers, part, role_policy_of, statements
from tests.components.test_service_access import app_environment, task_statements


def _grants(snapshot: Snapshot, function: Resource) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements(role_policy_of(snapshot, function))}


def _domain(snapshot: Snapshot) -> Resource:
    (domain,) = snapshot.of_type("aws:opensearch/domain:Domain")
    return domain


def test_the_storefront_reads_the_readers_the_cache_search_and_the_shoppers_cart(prod: Snapshot) -> None:
    (readers,) = prod.of_type("aws:rds/proxyEndpoint:ProxyEndpoint")
    (group,) = prod.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    env = app_environment(prod, "storefront")
    domain = _domain(prod)
    # the readers only (never the writer), as its own database user
    assert readers.inputs["targetRole"] == "READ_ONLY" and env["PGHOST"] == readers.outputs["endpoint"]
    assert env["PGUSER"] == "storefront"
    # the cache's primary as the IAM-enabled app user, with what the token is signed for
    assert env["CACHE_HOST"] == group.outputs["primaryEndpointAddress"]
    assert env["CACHE_NAME"] == group.outputs["replicationGroupId"] and env["CACHE_USER"]
    assert env["SEARCH_ENDPOINT"] == domain.outputs["endpoint"]
    grants = task_statements(prod, "storefront")
    # search: reads only, on the domain's paths
    assert grants["SearchDomain"]["Action"] == ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"]
    assert grants["SearchDomain"]["Resource"] == f"{domain.outputs['arn']}/*"
    # sessions and carts: read one item, nothing else
    assert grants["ReadCarts"]["Action"] == ["dynamodb:GetItem"]
    assert grants["ReadSessions"]["Action"] == ["dynamodb:GetItem"]
    assert "PaymentProviderKey" not in grants


def test_the_search_indexer_writes_search_documents_and_touches_no_database(prod: Snapshot) -> None:
    indexer = consumers(prod)["search-indexer"]
    function = part(prod, indexer, FUNCTION, "search-indexer")
    rule = part(prod, indexer, "aws:cloudwatch/eventRule:EventRule", "search-indexer-rule")
    assert json.loads(rule.inputs["eventPattern"])["detail-type"] == ["product.updated"]
    grants = _grants(prod, function)
    domain = _domain(prod)
    assert grants["SearchDomain"]["Resource"] == f"{domain.outputs['arn']}/*"
    assert set(grants["SearchDomain"]["Action"]) == {"es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost",
                                                      "es:ESHttpPut", "es:ESHttpDelete"}
    assert "DatabaseThroughTheProxy" not in grants
    variables = function.inputs["environment"]["variables"]
    assert variables["SEARCH_ENDPOINT"] == domain.outputs["endpoint"] and "PGHOST" not in variables
    assert function.inputs["handler"] == "shop.consumers.search_indexer.handler"


def test_the_cache_invalidator_connects_to_the_cache_as_the_app_user(prod: Snapshot) -> None:
    invalidator = consumers(prod)["cache-invalidator"]
    function = part(prod, invalidator, FUNCTION, "cache-invalidator")
    (group,) = prod.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    (user,) = [u for u in prod.of_type("aws:elasticache/user:User") if u.inputs["userName"] != "default"]
    grants = _grants(prod, function)
    assert grants["ConnectToTheCacheAsTheAppUser"]["Resource"] == [group.outputs["arn"], user.outputs["arn"]]
    assert "DatabaseThroughTheProxy" not in grants and "SearchDomain" not in grants
    variables = function.inputs["environment"]["variables"]
    assert (variables["CACHE_HOST"], variables["CACHE_USER"], variables["CACHE_NAME"]) == (
        group.outputs["primaryEndpointAddress"], user.inputs["userName"], group.outputs["replicationGroupId"])
    assert variables["CACHE_PORT"] == "6379"
    assert function.inputs["vpcConfig"]["subnetIds"]  # the cache is only reachable in the VPC


def test_the_recommendations_consumer_publishes_to_search(prod: Snapshot) -> None:
    function = part(prod, "recommendations", FUNCTION, "recommendations")
    grants = _grants(prod, function)
    assert "SearchDomain" in grants and "DatabaseThroughTheProxy" in grants


def test_the_reindex_job_reads_the_database_and_writes_search(prod: Snapshot) -> None:
    (function,) = [f for f in prod.of_type(FUNCTION) if f.name == "search-reindex"]
    grants = _grants(prod, function)
    assert grants["DatabaseThroughTheProxy"]["Resource"].endswith("/search_reindex")
    assert "es:ESHttpPut" in grants["SearchDomain"]["Action"]
    assert function.inputs["handler"] == "shop.jobs.search_reindex.handler"
