"""What the storefront asks OpenSearch: product search and "bought together".

Shopper input never reaches a query parser: the text goes into a `multi_match` query, which
analyzes it as plain text (no operators, no field syntax, no wildcards), so `AND (`, `name:*` or
`\\"` are just words to look for, and nothing a shopper types can make the query fail to parse. The
input is bounded before it is sent (`SearchRequest.parse`): a query that is missing or too long, a
page or size out of range, a category that is not a slug: a `BadSearch` that names the problem.
Every page the bounds allow lies within OpenSearch's result window. A query that normalization
leaves empty (only blanks or control characters) is valid and finds nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError

from shop.events import CATEGORY_SLUG_PATTERN, ProductSnapshot
from shop.search.indexes import PRODUCTS, RECOMMENDATIONS

MAX_QUERY_CHARS = 200
MAX_PAGE_SIZE = 48
DEFAULT_PAGE_SIZE = 24
MAX_RESULT_WINDOW = 10_000  # OpenSearch's index.max_result_window default: from + size beyond it fails
MAX_PAGE = MAX_RESULT_WINDOW // MAX_PAGE_SIZE
"""The last page a shopper can ask for, at any page size: page x size stays within the window."""
_CATEGORY = re.compile(CATEGORY_SLUG_PATTERN)
_FIELDS = ["name^3", "description"]
_SOURCE = ["sku", "name", "description", "category", "price_cents", "currency", "stock", "active",
           "version"]


class BadSearch(ValueError):
    """The search request cannot be run; the message names the parameter and the rule."""


@dataclass(frozen=True)
class SearchRequest:
    text: str
    category: str | None
    page: int
    size: int

    @classmethod
    def parse(cls, q: str | None, *, category: str | None = None, page: str | int | None = None,
              size: str | int | None = None) -> SearchRequest:
        if not q:
            raise BadSearch("q is required: the words to search for")
        if len(q) > MAX_QUERY_CHARS:
            raise BadSearch(f"q is {len(q)} characters long; at most {MAX_QUERY_CHARS} are allowed")
        if category is not None and category != "" and not _CATEGORY.match(category):
            raise BadSearch("category must be a category slug (lowercase letters, digits and dashes)")
        number = _integer("page", page, 1, 1, MAX_PAGE)
        count = _integer("size", size, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        # (NFKC may lengthen text, e.g. a ligature: the query stays as long as the limit allows)
        text = normalize(q)[:MAX_QUERY_CHARS].strip()
        return cls(text=text, category=category or None, page=number, size=count)

    def body(self) -> dict[str, Any]:
        filters: list[dict[str, Any]] = [{"term": {"active": True}}]
        if self.category:
            filters.append({"term": {"category": self.category}})
        return {
            "query": {"bool": {
                # every word must match, in the name or the description (cross_fields treats them as
                # one field): "cotton tee" finds a tee whose description says cotton
                "must": [{"multi_match": {"query": self.text, "fields": _FIELDS, "type": "cross_fields",
                                          "operator": "and"}}],
                "filter": filters}},
            "from": (self.page - 1) * self.size, "size": self.size, "_source": _SOURCE,
            "sort": ["_score", {"name.raw": {"order": "asc"}}, {"sku": {"order": "asc"}}],
            "track_total_hits": True,
        }


def normalize(text: str) -> str:
    """NFKC, control characters dropped, whitespace collapsed: what the analyzer would see anyway."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch for ch in text)
    return " ".join(text.split())


def _integer(name: str, value: str | int | None, default: int, low: int, high: int) -> int:
    if value is None:  # (given but empty is not a number)
        return default
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or len(value) > 6:
            raise BadSearch(f"{name} must be a whole number from {low} to {high}")
        value = int(value)
    if not low <= value <= high:
        raise BadSearch(f"{name} must be a whole number from {low} to {high}")
    return value


@dataclass(frozen=True)
class SearchPage:
    request: SearchRequest
    total: int
    items: tuple[ProductSnapshot, ...]

    @property
    def has_next(self) -> bool:
        return self.request.page < MAX_PAGE and self.request.page * self.request.size < self.total


def search_products(client: OpenSearch, request: SearchRequest) -> SearchPage:
    response = client.search(index=PRODUCTS.alias, body=request.body())
    hits = response["hits"]
    items = tuple(ProductSnapshot.model_validate(hit["_source"]) for hit in hits["hits"])
    return SearchPage(request=request, total=int(hits["total"]["value"]), items=items)


def bought_together(client: OpenSearch, sku: str, *, limit: int = 4) -> tuple[ProductSnapshot, ...]:
    """The active products most often bought with `sku`, best first (none if nothing is known)."""
    try:
        document = client.get(index=RECOMMENDATIONS.alias, id=sku)
    except NotFoundError:
        return ()
    ranked = [entry["sku"] for entry in document["_source"].get("bought_together", []) if entry["sku"] != sku]
    if not ranked:
        return ()
    response = client.search(index=PRODUCTS.alias, body={
        "query": {"bool": {"filter": [{"ids": {"values": ranked}}, {"term": {"active": True}}]}},
        "size": len(ranked), "_source": _SOURCE})
    found = {hit["_id"]: ProductSnapshot.model_validate(hit["_source"]) for hit in response["hits"]["hits"]}
    return tuple(found[s] for s in ranked if s in found)[:limit]
