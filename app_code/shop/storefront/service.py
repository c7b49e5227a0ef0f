"""What the storefront's pages and JSON API read, and from where.

- A product: the cache, else the Aurora reader (cache-aside, shop.cache). An unknown SKU and an
  inactive product are both "not found", cached as such for a short while.
- A category's listing page and the category list: the cache under the catalog generation, else
  the reader.
- Search and "bought together": OpenSearch (shop.search.queries), timed for the metrics.

The JSON API answers a product with the cached bytes as they are: a warm read parses nothing.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass

from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, OpenSearchException

from shop.cache import Entry, ReadCache
from shop.catalog import CatalogReader, Category, Cursor, ListingPage
from shop.events import CATEGORY_SLUG_PATTERN, SKU_PATTERN, ProductSnapshot
from shop.search.queries import SearchPage, SearchRequest, bought_together, search_products
from shop.storefront.metrics import ReadMetrics

logger = logging.getLogger("shop.storefront")
_SKU = re.compile(SKU_PATTERN)
_CATEGORY = re.compile(CATEGORY_SLUG_PATTERN)


class SearchUnavailable(RuntimeError):
    """The search domain did not answer (or answered with an error of its own)."""


@dataclass
class Storefront:
    catalog: CatalogReader
    cache: ReadCache
    search: OpenSearch | None
    metrics: ReadMetrics

    # -- products ------------------------------------------------------------------------------
    def product_json(self, sku: str) -> bytes | None:
        """The product as JSON (the cached bytes), or None for an unknown or inactive SKU."""
        if not _SKU.match(sku):
            return None  # cannot exist: no cache entry, no query

        def load() -> Entry:
            product = self.catalog.product(sku)
            if product is None:
                return Entry(None, 0)
            if not product.active:
                return Entry(None, product.version)
            return Entry(product.model_dump_json().encode(), product.version)

        return self.cache.read_product(sku, load).payload

    def product(self, sku: str) -> ProductSnapshot | None:
        payload = self.product_json(sku)
        return ProductSnapshot.model_validate_json(payload) if payload else None

    def products(self, skus: list[str]) -> dict[str, ProductSnapshot]:
        found = {}
        for sku in skus:
            product = self.product(sku)
            if product is not None:
                found[sku] = product
        return found

    # -- listing -------------------------------------------------------------------------------
    def categories(self) -> tuple[Category, ...]:
        def load() -> Entry:
            categories = [c.model_dump() for c in self.catalog.categories()]
            return Entry(_json(categories))

        payload = self.cache.read_page("categories", (), load).payload or b"[]"
        return tuple(Category.model_validate(item) for item in _loads(payload))

    def listing_json(self, category: str, *, after: Cursor | None, limit: int) -> bytes | None:
        """A listing page as JSON, or None for an unknown category."""
        if not _CATEGORY.match(category):
            return None

        def load() -> Entry:
            page = self.catalog.listing(category, after=after, limit=limit)
            return Entry(page.model_dump_json().encode() if page else None)

        cursor = after.encode() if after else ""
        return self.cache.read_page("listing", (category, cursor, str(limit)), load).payload

    def listing(self, category: str, *, after: Cursor | None, limit: int) -> ListingPage | None:
        payload = self.listing_json(category, after=after, limit=limit)
        return ListingPage.model_validate_json(payload) if payload else None

    # -- search --------------------------------------------------------------------------------
    def search_products(self, request: SearchRequest) -> SearchPage:
        if not request.text:  # only blanks or control characters: nothing to look for, nothing found
            return SearchPage(request=request, total=0, items=())
        client = self._search_client()
        started = time.perf_counter()
        try:
            page = search_products(client, request)
        except NotFoundError:  # no products index yet (a new domain before its first reindex)
            logger.warning("search: the products index does not exist; run the search-reindex job")
            self.metrics.search_failed()
            return SearchPage(request=request, total=0, items=())
        except OpenSearchException as error:
            self.metrics.search_failed()
            raise SearchUnavailable(str(error)) from error
        self.metrics.search_took((time.perf_counter() - started) * 1000)
        return page

    def bought_together(self, sku: str) -> tuple[ProductSnapshot, ...]:
        """Best first; an empty tuple when search is unavailable (the page still renders)."""
        if self.search is None or not _SKU.match(sku):
            return ()
        started = time.perf_counter()
        try:
            found = bought_together(self.search, sku)
        except OpenSearchException:
            self.metrics.search_failed()
            return ()
        self.metrics.search_took((time.perf_counter() - started) * 1000)
        return found

    def _search_client(self) -> OpenSearch:
        if self.search is None:
            raise SearchUnavailable("no search domain is configured (SEARCH_ENDPOINT)")
        return self.search


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _loads(payload: bytes) -> list[dict[str, str]]:
    return list(json.loads(payload))
