"""The search indexes through opensearch-py (SigV4) against the stand-in: aliases, external versions,
strict mappings, the full reindex with its alias swap; and the stand-in refusing what OpenSearch
refuses, so a test cannot pass on a request a real domain would reject."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from opensearchpy.exceptions import AuthorizationException, RequestError

from tests.support.app_stores import Catalog, Db
from tests.support.opensearch import StandIn

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def search() -> Any:
    from shop.search.client import connect
    from shop.settings import Settings

    client = connect(Settings.from_env())
    assert client is not None, "the search settings name a domain"
    yield client
    client.close()


def _product(sku: str = "TEE-1", version: int = 1, **changes: Any) -> Any:
    from shop.events import ProductSnapshot

    fields = {"sku": sku, "name": "Tee", "description": "", "category": "apparel", "price_cents": 1000,
              "currency": "USD", "stock": 1, "active": True, "version": version, **changes}
    return ProductSnapshot(**fields)


def test_the_first_write_creates_the_index_behind_the_alias_with_the_explicit_mapping(
        search: Any, search_domain: StandIn) -> None:
    from shop.search.indexes import PRODUCTS, product_document, upsert

    assert upsert(search, PRODUCTS, product_document(_product(), NOW))
    assert set(search_domain.indexes) == {"products-000001"}  # never an auto-created `products` index
    assert search_domain.aliases == {"products": {"products-000001": {}}}
    assert search_domain.indexes["products-000001"].mappings == PRODUCTS.mappings
    # a field the mapping does not name is refused
    with pytest.raises(RequestError, match="strict_dynamic_mapping_exception"):
        search.index(index="products", id="X", body={"sku": "X", "colour": "red"},
                     params={"version": 1, "version_type": "external", "require_alias": "true"})


def test_external_versions_make_writes_idempotent_and_order_proof(search: Any,
                                                                  search_domain: StandIn) -> None:
    from shop.search.indexes import PRODUCTS, product_document, upsert

    # GIVEN version 2 indexed
    assert upsert(search, PRODUCTS, product_document(_product(version=2, price_cents=2000), NOW))
    # WHEN version 1 arrives late, and version 2 is delivered again
    assert not upsert(search, PRODUCTS, product_document(_product(version=1, price_cents=1000), NOW))
    assert not upsert(search, PRODUCTS, product_document(_product(version=2, price_cents=2000), NOW))
    # THEN the document is still version 2; version 3 replaces it
    assert search.get(index="products", id="TEE-1")["_source"]["price_cents"] == 2000
    assert upsert(search, PRODUCTS, product_document(_product(version=3, price_cents=3000), NOW))
    assert search.get(index="products", id="TEE-1")["_version"] == 3


def test_a_full_reindex_swaps_the_alias_and_catches_up_with_changes_made_meanwhile(
        search: Any, search_domain: StandIn, catalog: Catalog, db: Db) -> None:
    from shop.db import Database
    from shop.jobs import search_reindex
    from shop.search.indexes import PRODUCTS, product_document, reindex, upsert
    from shop.settings import Settings

    database = Database(Settings.from_env(), max_size=2)
    # GIVEN the live index holds an old copy of the catalog
    upsert(search, PRODUCTS, product_document(_product("TEE-BLK-M", 1, name="Black tee, M"), NOW))
    old = search_domain.aliases["products"]
    # AND a product changes while the new index is being built (its event goes to the old index)
    source = search_reindex.product_documents(database)

    def changing_midway() -> Any:
        for number, document in enumerate(source):
            if number == 1:
                changed = catalog.put("MUG-WHT", "White mug, large", 1400, category="kitchen")
                upsert(search, PRODUCTS, product_document(changed, datetime.now(UTC)))
            yield document

    result = reindex(search, PRODUCTS, changing_midway(), now=NOW)
    rewritten = sum(upsert(search, PRODUCTS, d)
                    for d in search_reindex.product_documents(database, changed_since=NOW))
    database.close()

    # THEN the alias points at the new index only, which holds every product
    assert search_domain.aliases["products"] == {result.index: {}} and result.index not in old
    docs = search_domain.indexes[result.index].docs
    assert set(docs) == {"TEE-BLK-M", "MUG-WHT", "CAP-RED", "EUR-ONLY"}
    # AND the change made meanwhile is there at its new version (written again after the swap)
    assert rewritten >= 1 and docs["MUG-WHT"][1]["name"] == "White mug, large"
    assert docs["MUG-WHT"][0] == 2
    # AND the previous index is kept, detached, for a rollback
    assert set(old) <= set(search_domain.indexes)


def test_the_reindex_job_rebuilds_both_indexes_and_retires_all_but_the_previous_one(
        search: Any, search_domain: StandIn, catalog: Catalog, db: Db) -> None:
    from shop.db import Database
    from shop.jobs.search_reindex import run
    from shop.settings import Settings

    db.execute("INSERT INTO co_purchases VALUES ('TEE-BLK-M', 'MUG-WHT', 3), ('MUG-WHT', 'TEE-BLK-M', 3)")
    db.execute("INSERT INTO co_purchase_revisions VALUES ('TEE-BLK-M', 4), ('MUG-WHT', 4)")
    database = Database(Settings.from_env(), max_size=2)
    reports = [run(database, search, now=datetime(2026, 11, 27, 9, minute, tzinfo=UTC))
               for minute in range(3)]
    database.close()

    third = reports[2]
    assert third["products"]["documents"] == 4 and third["recommendations"]["documents"] == 2
    assert sorted(n for n in search_domain.indexes if n.startswith("products-")) == sorted(
        [reports[1]["products"]["index"], third["products"]["index"]])
    doc = search.get(index="recommendations", id="TEE-BLK-M")
    assert doc["_version"] == 4 and doc["_source"]["bought_together"] == [{"sku": "MUG-WHT", "orders": 3}]


def test_unsigned_or_wrongly_signed_requests_are_refused(search_domain: StandIn) -> None:
    from botocore.credentials import Credentials

    from shop.search.client import connect
    from shop.settings import Settings

    settings = Settings.from_env()
    impostor = connect(settings, credentials=Credentials("testing", "not-the-secret"))
    assert impostor is not None
    with pytest.raises(AuthorizationException):
        impostor.info()
    request = urllib.request.Request(f"{search_domain.url}/products/_search", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


# --- the stand-in is as strict as OpenSearch ----------------------------------------------------


def _raw(stand_in: StandIn, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    from tests.support.opensearch import Request

    data = json.dumps(body).encode() if body is not None else b""
    return stand_in.handle(Request(method, path.split("?", maxsplit=1)[0], dict(
        pair.split("=", 1) for pair in path.split("?")[1].split("&")) if "?" in path else {}, data,
        {"content-type": "application/json"}))


@pytest.mark.parametrize(("method", "path", "body", "status", "kind"), [
    ("PUT", "/Products", {}, 400, "invalid_index_name_exception"),
    ("PUT", "/-hidden", {}, 400, "invalid_index_name_exception"),
    ("PUT", "/a", {}, 400, "resource_already_exists_exception"),
    ("PUT", "/b", {"mappings": {"properties": {"x": {"type": "strang"}}}}, 400, "mapper_parsing_exception"),
    ("PUT", "/b", {"mappings": {"properties": {"x": {"type": "keyword", "analyzer": "x"}}}}, 400,
     "mapper_parsing_exception"),
    ("PUT", "/b", {"settings": {"index": {"number_of_shardz": 1}}}, 400, "illegal_argument_exception"),
    ("PUT", "/b", {"mapping": {}}, 400, "parse_exception"),
    ("POST", "/a/_search", {"from": 9990, "size": 11}, 400, "illegal_argument_exception"),
    ("POST", "/a/_search", {"from": -1}, 400, "illegal_argument_exception"),
    ("POST", "/a/_search", {"query": {"match_everything": {}}}, 400, "parsing_exception"),
    ("POST", "/a/_search", {"query": {"multi_match": {"query": "x", "fieldz": ["a"]}}}, 400,
     "parsing_exception"),
    ("POST", "/a/_search", {"query": {"bool": {"mustnt": []}}}, 400, "parsing_exception"),
    ("POST", "/a/_search", {"sort": [{"t": "asc"}]}, 400, "illegal_argument_exception"),
    ("POST", "/a/_search", {"highlite": {}}, 400, "parsing_exception"),
    ("POST", "/a/_search", {"query": {"query_string": {"query": "a AND ("}}}, 501,
     "not_implemented_by_stand_in"),
    ("POST", "/missing/_search", {}, 404, "index_not_found_exception"),
    ("PUT", "/a/_doc/1?version=1", {"k": "v"}, 400, "action_request_validation_exception"),
    ("PUT", "/a/_doc/1?version_type=external", {"k": "v"}, 400, "action_request_validation_exception"),
    ("PUT", "/a/_doc/1?version=3&version_type=external", {"k": "v"}, 409,
     "version_conflict_engine_exception"),
    ("PUT", "/a/_doc/1?version=5&version_type=external", {"t": {"inner": 1}}, 400,
     "mapper_parsing_exception"),
    ("PUT", "/a/_doc/1?refresh=true&colour=red", {"k": "v"}, 400, "illegal_argument_exception"),
    ("PUT", "/nope/_doc/1?require_alias=true", {"k": "v"}, 404, "index_not_found_exception"),
    ("POST", "/_aliases", {"actions": [{"add": {"index": "missing", "alias": "b"}}]}, 404,
     "index_not_found_exception"),
    ("POST", "/_aliases", {"actions": [{"add": {"index": "a", "alias": "a"}}]}, 400,
     "invalid_alias_name_exception"),
])
def test_the_stand_in_refuses_what_opensearch_refuses(method: str, path: str, body: Any, status: int,
                                                     kind: str) -> None:
    stand_in = StandIn()
    assert _raw(stand_in, "PUT", "/a", {"mappings": {"dynamic": "strict", "properties": {
        "k": {"type": "keyword"}, "t": {"type": "text"}}}})[0] == 200
    assert _raw(stand_in, "PUT", "/a/_doc/1?version=3&version_type=external", {"k": "v"})[0] == 201
    got, answer = _raw(stand_in, method, path, body)
    assert (got, answer["error"]["type"]) == (status, kind), answer
