"""The storefront's JSON API and pages against real Redis (TLS, IAM token user), PostgreSQL and the
OpenSearch stand-in: what a shopper gets, and what bad input gets."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.app_stores import Catalog
from tests.support.opensearch import StandIn

FIXTURES = [HealthCheck.function_scoped_fixture]


def _index(runtime: Any, *products: Any) -> None:
    """Put products into the search index as the search-indexer does."""
    from datetime import UTC, datetime

    from shop.search.indexes import PRODUCTS, product_document, upsert

    for product in products:
        upsert(runtime.search, PRODUCTS, product_document(product, datetime.now(UTC)))


# --- products ---------------------------------------------------------------------------------


def test_a_product_is_served_as_json_and_as_a_page(storefront: Any, catalog: Catalog) -> None:
    catalog.put("TEE-BLU-L", "Blue tee, L", 2600, description="Soft cotton.", stock=3)

    response = storefront.get("/catalog/products/TEE-BLU-L")
    assert response.status_code == 200
    assert response.json() == {"sku": "TEE-BLU-L", "name": "Blue tee, L", "description": "Soft cotton.",
                               "category": "apparel", "price_cents": 2600, "currency": "USD", "stock": 3,
                               "active": True, "version": 1}
    assert response.headers["cache-control"] == "public, max-age=60"
    page = storefront.get("/products/TEE-BLU-L")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Blue tee, L" in page.text and "26.00 USD" in page.text and "Soft cotton." in page.text


def test_a_warm_read_comes_from_the_cache_not_the_database(storefront: Any, storefront_runtime: Any,
                                                            catalog: Catalog) -> None:
    counters = storefront_runtime.read_cache.counters
    storefront.get("/catalog/products/MUG-WHT")
    counters.take()
    # GIVEN the row changed in the database behind the cache's back (no event)
    catalog.db.execute("UPDATE products SET name = 'Changed' WHERE sku = 'MUG-WHT'")
    # WHEN it is read again
    response = storefront.get("/catalog/products/MUG-WHT")
    # THEN the cached copy answered: no database load
    assert response.json()["name"] == "White mug"
    assert counters.take() == {"hits": 1, "misses": 0, "errors": 0, "loads": 0}


@pytest.mark.parametrize("sku", ["NOPE-404", "tee-blk-m", "A" * 65, "TEE BLK", "ÜBER", "%00", "-LEADING"])
def test_an_unknown_or_impossible_sku_is_404(storefront: Any, catalog: Catalog, sku: str) -> None:
    response = storefront.get(f"/catalog/products/{quote(sku, safe='')}")
    assert response.status_code == 404
    assert response.json()["error"] == "product_not_found"
    page = storefront.get(f"/products/{quote(sku, safe='')}")
    assert page.status_code == 404 and "no such product" in page.text


def test_an_unknown_sku_is_cached_as_not_found(storefront: Any, storefront_runtime: Any,
                                                catalog: Catalog, cache_admin: Any) -> None:
    counters = storefront_runtime.read_cache.counters
    assert storefront.get("/catalog/products/GHOST-1").status_code == 404
    counters.take()
    assert storefront.get("/catalog/products/GHOST-1").status_code == 404
    assert counters.take()["loads"] == 0
    assert cache_admin.get("catalog:v1:product:GHOST-1") == b"0|"


def test_an_inactive_product_is_404(storefront: Any, catalog: Catalog) -> None:
    catalog.put("OLD-1", "Discontinued", 100, active=False)
    assert storefront.get("/catalog/products/OLD-1").status_code == 404
    assert storefront.get("/products/OLD-1").status_code == 404


# --- listing ----------------------------------------------------------------------------------


def test_a_category_pages_through_its_active_products_and_past_the_end_is_empty(
        storefront: Any, catalog: Catalog) -> None:
    for index in range(5):
        catalog.put(f"PAN-{index}", f"Pan {index}", 1000 + index, category="kitchen")
    catalog.put("PAN-X", "Pan hidden", 1, category="kitchen", active=False)

    seen, after, pages = [], "", 0
    while True:
        response = storefront.get(f"/catalog/categories/kitchen/products?limit=2&after={after}")
        assert response.status_code == 200
        body = response.json()
        seen += [item["sku"] for item in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        after = body["next_cursor"]
    # every active product once, by name, inactive ones never
    assert seen == ["PAN-0", "PAN-1", "PAN-2", "PAN-3", "PAN-4", "MUG-WHT"] and pages == 3
    # a cursor past the last product gives an empty page
    from shop.catalog import Cursor

    beyond = Cursor("zzzz", "ZZZZ").encode()
    response = storefront.get(f"/catalog/categories/kitchen/products?after={beyond}")
    assert response.status_code == 200 and response.json()["items"] == []
    assert response.json()["next_cursor"] is None
    page = storefront.get(f"/categories/kitchen?after={beyond}")
    assert page.status_code == 200 and "No more products here." in page.text
    # an empty category is an empty page, an unknown one 404
    assert storefront.get("/catalog/categories/empty-shelf/products").json()["items"] == []
    assert storefront.get("/catalog/categories/no-such/products").status_code == 404
    assert storefront.get("/categories/no-such").status_code == 404


def _cursor_of(json_text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(json_text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(("query", "named"), [
    ("limit=0", "limit"), ("limit=49", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"),
    ("limit=%C2%B2", "limit"), ("limit=", "limit"), ("limit=" + "9" * 5000, "limit"),  # (was a 500)
    ("after=not-a-cursor!", "after"),
    ("after=" + "A" * 1700, "after"),
    ("after=WyJhIl0", "after"),  # valid base64 JSON, but not [name, sku]
    # a position no product can have: text PostgreSQL cannot hold (was a 500: the query failed)
    ("after=" + _cursor_of('["Red\\u0000cap","CAP-RED"]'), "after"),
    ("after=" + _cursor_of('["\\ud800","CAP-RED"]'), "after"),
])
def test_bad_listing_parameters_are_400_naming_the_parameter(storefront: Any, catalog: Catalog,
                                                             query: str, named: str) -> None:
    response = storefront.get(f"/catalog/categories/apparel/products?{query}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request" and response.json()["message"].startswith(named)


def test_the_cursor_after_the_longest_name_leads_to_the_next_page(storefront: Any, catalog: Catalog) -> None:
    # GIVEN products whose names are as long as names go, in characters that take the most room
    from shop.events import MAX_NAME_CHARS

    for index, char in enumerate(["\U0001f9e2", "\u00e9", "\x01"]):
        catalog.put(f"HAT-{index}", char * MAX_NAME_CHARS, 1000, category="empty-shelf")
    # WHEN a shopper pages through them one at a time
    skus, after = [], ""
    for _ in range(4):
        response = storefront.get("/catalog/categories/empty-shelf/products",
                                  params={"limit": 1, "after": after})
        # THEN every cursor the storefront issued is one it takes back (it refused them past 512 chars)
        assert response.status_code == 200, response.text
        skus += [item["sku"] for item in response.json()["items"]]
        after = response.json()["next_cursor"]
        if after is None:
            break
    assert sorted(skus) == ["HAT-0", "HAT-1", "HAT-2"]


def test_unknown_addresses_get_the_storefronts_own_404(storefront: Any, catalog: Catalog) -> None:
    page = storefront.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "Back to the shop" in page.text
    api = storefront.get("/catalog/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"error": "not_found", "message": "There is no such page."}
    posted = storefront.post("/catalog/categories")
    assert posted.status_code == 405 and posted.json()["error"] == "method_not_allowed"
    assert posted.headers["allow"] == "GET"


def test_a_changed_product_retires_cached_listing_pages(storefront: Any, storefront_runtime: Any,
                                                        catalog: Catalog) -> None:
    before = storefront.get("/catalog/categories/apparel/products").json()
    catalog.put("CAP-RED", "Red cap", 1500)  # price change, version 2
    assert storefront.get("/catalog/categories/apparel/products").json() == before  # cached
    storefront_runtime.read_cache.bump_generation()  # what the cache-invalidator does on the event
    after = storefront.get("/catalog/categories/apparel/products").json()
    assert [i["price_cents"] for i in after["items"] if i["sku"] == "CAP-RED"] == [1500]


# --- search -----------------------------------------------------------------------------------


def test_search_finds_active_products_by_name_and_description(storefront: Any, storefront_runtime: Any,
                                                              catalog: Catalog) -> None:
    _index(storefront_runtime,
           catalog.put("TEE-GRN-S", "Green tee, S", 2400, description="Organic cotton tee"),
           catalog.put("MUG-BLK", "Black mug", 1300, category="kitchen", description="Holds tea"),
           catalog.put("TEE-OLD", "Old tee", 100, active=False))
    body = storefront.get("/catalog/search?q=tee").json()
    assert [i["sku"] for i in body["items"]] == ["TEE-GRN-S"] and body["total"] == 1
    assert storefront.get("/catalog/search?q=cotton+tee").json()["total"] == 1
    assert storefront.get("/catalog/search?q=tee&category=kitchen").json()["total"] == 0
    page = storefront.get("/search?q=mug")
    assert page.status_code == 200 and "Black mug" in page.text and "1 product" in page.text


@pytest.mark.parametrize("text", ['tee AND (', 'name:*', '"unbalanced', 'a OR b NOT c', '\\', '/regex/',
                                  'tee~2', '*', '{"query": 1}', "'; DROP TABLE products; --", "<script>"])
def test_query_syntax_is_just_text(storefront: Any, storefront_runtime: Any, catalog: Catalog,
                                   search_domain: StandIn, text: str) -> None:
    _index(storefront_runtime, catalog.put("TEE-GRN-S", "Green tee, S", 2400))
    response = storefront.get(f"/catalog/search?q={quote(text)}")
    assert response.status_code == 200, response.text
    page = storefront.get(f"/search?q={quote(text)}")
    assert page.status_code == 200 and "<script>" not in page.text
    # AND no request ever carried a Lucene query string
    bodies = [r.body.decode() for r in search_domain.log if r.path.endswith("/_search")]
    assert bodies and not any("query_string" in b for b in bodies)


@pytest.mark.parametrize(("query", "named"), [
    ("", "q"), ("q=", "q"), ("q=" + "a" * 201, "q"), ("q=tee&page=0", "page"),
    ("q=tee&page=x", "page"), ("q=tee&size=49", "size"), ("q=tee&page=209", "page"), ("q=tee&page=", "page"),
    ("q=tee&size=", "size"),
    ("q=tee&category=NOT%20A%20SLUG", "category"), ("q=%FF%FE", "the query string"),
    ("q=tee&" + "&".join(f"p{i}=1" for i in range(25)), "the query string"),
])
def test_bad_search_input_is_400_naming_the_problem(storefront: Any, catalog: Catalog, query: str,
                                                    named: str) -> None:
    response = storefront.get(f"/catalog/search?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["message"].startswith(named), response.json()
    page = storefront.get(f"/search?{query}")
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]


@pytest.mark.parametrize("text", ["%20%20%09", "%E2%80%8B", "%00%01"])  # blanks, a zero-width space, controls
def test_a_query_of_only_blanks_or_controls_finds_nothing(storefront: Any, catalog: Catalog,
                                                          search_domain: StandIn, text: str) -> None:
    body = storefront.get(f"/catalog/search?q={text}").json()
    assert (body["q"], body["total"], body["items"], body["next_page"]) == ("", 0, [], None)
    assert storefront.get(f"/search?q={text}").status_code == 200
    assert not [r for r in search_domain.log if r.path.endswith("/_search")]  # nothing to ask


def test_the_last_page_a_shopper_may_ask_for_is_within_the_search_window(
        storefront: Any, storefront_runtime: Any, catalog: Catalog) -> None:
    from shop.search.queries import MAX_PAGE, MAX_PAGE_SIZE, MAX_RESULT_WINDOW

    _index(storefront_runtime, catalog.put("TEE-1", "Tee 1", 1000))
    assert MAX_PAGE * MAX_PAGE_SIZE <= MAX_RESULT_WINDOW
    response = storefront.get(f"/catalog/search?q=tee&page={MAX_PAGE}&size={MAX_PAGE_SIZE}")
    assert response.status_code == 200 and response.json()["items"] == []


def test_a_query_that_normalization_lengthens_is_searched_within_the_limit(
        storefront: Any, catalog: Catalog, search_domain: StandIn, storefront_runtime: Any) -> None:
    from shop.search.queries import MAX_QUERY_CHARS

    _index(storefront_runtime, catalog.put("TEE-1", "Tee 1", 1000))
    # GIVEN 200 characters that NFKC turns into 18 each (a ligature)
    response = storefront.get("/catalog/search", params={"q": "\ufdfa" * MAX_QUERY_CHARS})
    # THEN it is searched (it was a 400 for a query the shopper typed within the limit), cut to the limit
    assert response.status_code == 200, response.text
    assert len(response.json()["q"]) <= MAX_QUERY_CHARS


def test_a_search_page_past_the_end_is_empty(storefront: Any, storefront_runtime: Any,
                                             catalog: Catalog) -> None:
    _index(storefront_runtime, *[catalog.put(f"TEE-{i}", f"Tee {i}", 1000) for i in range(3)])
    body = storefront.get("/catalog/search?q=tee&size=2&page=2").json()
    assert len(body["items"]) == 1 and body["next_page"] is None
    body = storefront.get("/catalog/search?q=tee&size=2&page=50").json()
    assert body["items"] == [] and body["total"] == 3


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(text=st.text(max_size=300))
def test_any_text_gets_results_or_a_400_never_a_500(storefront: Any, storefront_runtime: Any,
                                                     catalog: Catalog, text: str) -> None:
    _index(storefront_runtime, catalog.put("TEE-GRN-S", "Green tee, S", 2400))
    for path in ("/catalog/search", "/search"):
        response = storefront.get(f"{path}?q={quote(text)}")
        assert response.status_code in (200, 400), (text, response.text)
        if response.status_code == 400 and path.startswith("/catalog"):
            assert response.json()["message"]


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(raw=st.binary(max_size=200))
def test_any_bytes_in_the_query_string_get_an_answer_never_a_500(storefront: Any, storefront_runtime: Any,
                                                                  catalog: Catalog, raw: bytes) -> None:
    _index(storefront_runtime, catalog.put("TEE-GRN-S", "Green tee, S", 2400))
    encoded = "".join(f"%{b:02X}" for b in raw)
    for query in (f"q={encoded}", f"q=tee&page={encoded}", f"after={encoded}", encoded):
        for path in ("/catalog/search", "/catalog/categories/apparel/products", "/search"):
            response = storefront.get(f"{path}?{query}")
            assert response.status_code in (200, 400, 404), (path, query, response.text)


def test_search_before_any_index_exists_finds_nothing(storefront: Any, catalog: Catalog) -> None:
    body = storefront.get("/catalog/search?q=tee").json()
    assert body["items"] == [] and body["total"] == 0


def test_search_down_is_503_and_product_pages_still_render(storefront: Any, catalog: Catalog,
                                                           search_domain: StandIn) -> None:
    search_domain.fail_with = 500
    response = storefront.get("/catalog/search?q=tee")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert storefront.get("/search?q=tee").status_code == 503
    page = storefront.get("/products/TEE-BLK-M")
    assert page.status_code == 200 and "Bought together" not in page.text


# --- the rest -----------------------------------------------------------------------------------


def test_pages_link_to_what_they_show(storefront: Any, catalog: Catalog) -> None:
    home = storefront.get("/")
    assert 'href="/categories/apparel"' in home.text and 'href="/cart"' in home.text
    listing = storefront.get("/categories/apparel")
    assert 'href="/products/TEE-BLK-M"' in listing.text and 'href="/products/CAP-RED"' in listing.text
    product = storefront.get("/products/TEE-BLK-M")
    assert 'href="/categories/apparel"' in product.text


def test_metrics_are_written_as_embedded_metric_format(storefront: Any, storefront_runtime: Any,
                                                       catalog: Catalog, capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    from shop.storefront.metrics import ReadMetrics

    storefront.get("/catalog/products/TEE-BLK-M")
    storefront.get("/catalog/products/TEE-BLK-M")
    capsys.readouterr()
    ReadMetrics(storefront_runtime.read_cache.counters).flush()
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "ecommerce" and directive["Dimensions"] == [["service"]]
    assert line["service"] == "storefront" and line["CacheHits"] == [1.0] and line["CacheMisses"] == [1.0]


def test_the_storefront_reads_with_its_own_role_which_cannot_write(
        storefront_runtime: Any, catalog: Catalog) -> None:
    import psycopg
    from fastapi.testclient import TestClient

    from shop.runtime import Runtime
    from shop.settings import Settings
    from shop.storefront.app import create_app

    # GIVEN the storefront connected as the `storefront` role (as PGUSER is in the task)
    url = catalog.db.url.replace("postgres@", "storefront@")
    runtime = Runtime(Settings.from_env({**__import__("os").environ, "DATABASE_URL": url}))
    with TestClient(create_app(lambda: runtime)) as client:
        # THEN every catalog read works with its grants
        assert client.get("/catalog/products/TEE-BLK-M").status_code == 200
        assert client.get("/catalog/categories/apparel/products").status_code == 200
        assert client.get("/").status_code == 200
    # AND the role may not change the catalog
    with psycopg.connect(url, autocommit=True) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("UPDATE products SET price_cents = 1")


def test_the_dashboard_and_alarms_watch_the_metrics_the_storefront_writes() -> None:
    from components import observability
    from components.lambda_code import METRICS_NAMESPACE
    from shop.storefront import metrics

    assert (metrics.NAMESPACE, metrics.SERVICE) == (METRICS_NAMESPACE, observability.STOREFRONT)
    assert [metrics.CACHE_HITS, metrics.CACHE_MISSES, metrics.CACHE_ERRORS, metrics.DATABASE_LOADS,
            metrics.SEARCH_LATENCY, metrics.SEARCH_ERRORS] == [
        observability.CACHE_HITS, observability.CACHE_MISSES, observability.CACHE_ERRORS,
        observability.DATABASE_LOADS, observability.SEARCH_LATENCY, observability.SEARCH_ERRORS]
