"""The two indexes, each behind an alias, and how documents get into them.

- `products`: one document per SKU (inactive ones too, flagged, so a late event for an older
  version can never bring a delisted product back); written by the search-indexer consumer from
  `product.updated` with the product's version as the document's external version.
- `recommendations`: one document per SKU with the SKUs most often bought with it; written by the
  recommendations consumer with its per-SKU revision (migration 0010) as the external version.

Every write goes to the alias with `require_alias=true`, so a missing alias is an error rather than
an index OpenSearch would auto-create with guessed mappings. The mappings are explicit and strict:
a field the mapping does not name is refused. A full reindex (`reindex`) builds a new index from
PostgreSQL, then moves the alias in one `_aliases` call; readers never see a half-built index.
External versioning makes every write idempotent and order-proof: OpenSearch keeps a document
unless the write's version is higher (409 otherwise, which counts as done).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError
from opensearchpy.helpers import streaming_bulk

from shop.events import ProductSnapshot, rfc3339

logger = logging.getLogger("shop.search")

SHARDS_AND_REPLICAS = {"number_of_shards": 1, "number_of_replicas": 1}  # a replica in the other AZ
RECOMMENDATIONS_KEPT = 10  # bought-together SKUs stored per product (the storefront shows fewer)


@dataclass(frozen=True)
class IndexSpec:
    alias: str
    mappings: dict[str, Any]
    settings: dict[str, Any]

    def first_index(self) -> str:
        """The index a fresh domain's alias is created on (a fixed name: concurrent creators agree)."""
        return f"{self.alias}-000001"

    def new_index(self, now: datetime) -> str:
        return f"{self.alias}-{now.astimezone(UTC):%Y%m%d%H%M%S%f}"


PRODUCTS = IndexSpec(
    alias="products",
    mappings={"dynamic": "strict", "properties": {
        "sku": {"type": "keyword"},
        "name": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
        "description": {"type": "text"},
        "category": {"type": "keyword"},
        "price_cents": {"type": "long"},
        "currency": {"type": "keyword"},
        "stock": {"type": "integer"},
        "active": {"type": "boolean"},
        "version": {"type": "long"},
        "updated_at": {"type": "date"},
    }},
    settings=SHARDS_AND_REPLICAS)

RECOMMENDATIONS = IndexSpec(
    alias="recommendations",
    mappings={"dynamic": "strict", "properties": {
        "sku": {"type": "keyword"},
        "bought_together": {"properties": {"sku": {"type": "keyword"}, "orders": {"type": "long"}}},
        "revision": {"type": "long"},
        "updated_at": {"type": "date"},
    }},
    settings=SHARDS_AND_REPLICAS)


@dataclass(frozen=True)
class Document:
    """One document to write: its id, external version and body."""

    id: str
    version: int
    body: dict[str, Any]


def product_document(product: ProductSnapshot, updated_at: datetime) -> Document:
    return Document(product.sku, product.version,
                    {**product.model_dump(mode="json"), "updated_at": rfc3339(updated_at)})


def recommendation_document(sku: str, revision: int, bought_together: Iterable[tuple[str, int]],
                            updated_at: datetime) -> Document:
    pairs = [{"sku": other, "orders": int(orders)} for other, orders in bought_together]
    return Document(sku, revision, {"sku": sku, "bought_together": pairs[:RECOMMENDATIONS_KEPT],
                                    "revision": revision, "updated_at": rfc3339(updated_at)})


def _index_body(spec: IndexSpec, *, with_alias: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"settings": {"index": spec.settings}, "mappings": spec.mappings}
    if with_alias:
        body["aliases"] = {spec.alias: {}}
    return body


def alias_indexes(client: OpenSearch, alias: str) -> list[str]:
    """The indexes the alias points to now (none if it does not exist)."""
    try:
        found = client.indices.get_alias(name=alias)
    except NotFoundError:
        return []
    return sorted(found)


def ensure_alias(client: OpenSearch, spec: IndexSpec) -> None:
    """Create the first index with the alias unless the alias exists (safe to race)."""
    if alias_indexes(client, spec.alias):
        return
    try:
        client.indices.create(index=spec.first_index(), body=_index_body(spec, with_alias=True))
        logger.info("created index %s behind alias %s", spec.first_index(), spec.alias)
    except RequestError as error:
        if error.error != "resource_already_exists_exception":
            raise


def upsert(client: OpenSearch, spec: IndexSpec, document: Document) -> bool:
    """Write the document unless the index holds it at this or a later version; True if written."""
    params = {"version": document.version, "version_type": "external", "require_alias": "true"}
    for attempt in (1, 2):
        try:
            client.index(index=spec.alias, id=document.id, body=document.body, params=params)
            return True
        except ConflictError:
            return False  # this version or a newer one is there already
        except NotFoundError:
            if attempt == 2:
                raise
            ensure_alias(client, spec)  # a fresh domain: the first write creates the alias
    return False


@dataclass(frozen=True)
class ReindexResult:
    alias: str
    index: str
    documents: int
    retired: tuple[str, ...]


def reindex(client: OpenSearch, spec: IndexSpec, documents: Iterable[Document], *,
            now: datetime | None = None, keep_previous: int = 1) -> ReindexResult:
    """Build a new index from `documents`, move the alias to it atomically, drop older indexes.

    The `keep_previous` most recent former indexes stay (detached) for a quick rollback by alias.
    """
    index = spec.new_index(now or datetime.now(UTC))
    client.indices.create(index=index, body=_index_body(spec, with_alias=False))
    written = 0
    for ok, item in streaming_bulk(client, _actions(index, documents), chunk_size=500,
                                   raise_on_error=False):
        result = item.get("index", {})
        if ok or result.get("status") == 409:
            written += ok
            continue
        raise RuntimeError(f"reindex of {spec.alias} into {index}: document {result.get('_id')} "
                           f"failed: {result.get('error')}")
    client.indices.refresh(index=index)
    previous = alias_indexes(client, spec.alias)
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": spec.alias}} for old in previous]
    actions.append({"add": {"index": index, "alias": spec.alias}})
    client.indices.update_aliases(body={"actions": actions})
    retired = _retire(client, spec, keep={index}, keep_previous=keep_previous)
    logger.info("reindexed %s: %d documents into %s; dropped %s", spec.alias, written, index, retired)
    return ReindexResult(spec.alias, index, written, retired)


def _actions(index: str, documents: Iterable[Document]) -> Iterator[dict[str, Any]]:
    for document in documents:
        yield {"_op_type": "index", "_index": index, "_id": document.id, "version": document.version,
               "version_type": "external", "_source": document.body}


def _retire(client: OpenSearch, spec: IndexSpec, *, keep: set[str], keep_previous: int) -> tuple[str, ...]:
    """Delete the alias's former indexes except the `keep_previous` newest (names sort by time)."""
    try:
        found = client.indices.get_alias(index=f"{spec.alias}-*")
    except NotFoundError:
        return ()
    detached = sorted(name for name, info in found.items()
                      if name not in keep and spec.alias not in (info.get("aliases") or {}))
    doomed = tuple(detached[:-keep_previous] if keep_previous else detached)
    for name in doomed:
        client.indices.delete(index=name)
    return doomed
