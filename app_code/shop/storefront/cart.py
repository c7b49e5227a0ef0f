"""The cart page's data: the shopper's open cart, priced from the catalog the storefront reads.

The shopper is the session in the session cookie (`shop.userstate.SESSION_COOKIE`, set by the account
pages of the order service or by a client that holds the bearer token), and the cart is that
session's current cart (`Session.cart_id`, which the order API keeps when it creates a cart and
which sign-in carries into the account). A cart is shown only to its owner and only while it is
open. Lines whose product is unknown or no longer sold are shown as unavailable and left out of the
totals. Prices here are what the catalog says now; checkout prices the cart again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shop.events import ProductSnapshot
from shop.money import money
from shop.userstate import SESSION_COOKIE, quantities

if TYPE_CHECKING:
    from shop.runtime import Runtime
    from shop.storefront.service import Storefront

logger = logging.getLogger("shop.storefront")


@dataclass(frozen=True)
class CartLine:
    sku: str
    quantity: int
    product: ProductSnapshot | None

    @property
    def total(self) -> str:
        return money(self.product.price_cents * self.quantity, self.product.currency) if self.product else ""


@dataclass(frozen=True)
class CartView:
    status: str
    """`open`, `empty` (no cart), `no-session` (no valid session) or `unavailable` (a store failed)."""
    lines: tuple[CartLine, ...] = ()
    totals: tuple[str, ...] = field(default=())


def cart_view(runtime: Runtime, storefront: Storefront, cookies: Mapping[str, str]) -> CartView:
    token = cookies.get(SESSION_COOKIE, "")
    if not token:
        return CartView("no-session")
    try:
        session = runtime.sessions.session(token)
        if session is None:
            return CartView("no-session")
        cart = runtime.carts.get(session.cart_id) if session.cart_id else None
    except (BotoCoreError, ClientError) as error:
        logger.warning("cart page: session or cart store failed (%s)", type(error).__name__)
        return CartView("unavailable")
    if cart is None or cart.customer_id != session.customer_id or cart.status != "open" or not cart.items:
        return CartView("empty")
    try:
        wanted = quantities(cart)
    except ValueError:
        return CartView("unavailable")
    products = storefront.products([sku for sku, _ in wanted])
    lines = tuple(CartLine(sku, quantity, products.get(sku)) for sku, quantity in wanted)
    sums: dict[str, int] = {}
    for line in lines:
        if line.product is not None:
            sums[line.product.currency] = sums.get(line.product.currency, 0) + \
                line.product.price_cents * line.quantity
    return CartView("open", lines, tuple(money(cents, currency) for currency, cents in sorted(sums.items())))
