"""Search indexer: `product.updated` into the products index, idempotent and order-proof.

The event carries the whole product after the change, so no database read is needed. The document
is written with the product's version as its external version: a redelivered event (same version)
and a late one (older version) are refused by OpenSearch with 409 and count as done, so the index
always ends at the newest version, whatever order the queue delivers in. An inactive product stays
in the index, flagged, so searches filter it out and no older event can revive it.
"""

from __future__ import annotations

from shop.consumers._runtime import Consumer
from shop.events import PRODUCT_UPDATED, Envelope, ProductUpdated
from shop.runtime import Runtime
from shop.search.indexes import PRODUCTS, product_document, upsert
from shop.settings import Settings

SETTINGS = Settings.from_env()


def validated(envelope: Envelope) -> ProductUpdated:
    """The event, checked against itself: the product it carries is the SKU and version it names."""
    update = ProductUpdated.model_validate(envelope.detail)
    if update.product.sku != update.sku or update.product.version != update.version \
            or update.product.active != update.active:
        raise ValueError("product.updated: sku, version and active must match the product it carries")
    return update


def index_product(envelope: Envelope, runtime: Runtime) -> None:
    update = validated(envelope)
    upsert(runtime.search, PRODUCTS, product_document(update.product, update.updated_at))


consumer = Consumer("search-indexer", {PRODUCT_UPDATED: index_product}, settings=SETTINGS)
handler = consumer.handler
