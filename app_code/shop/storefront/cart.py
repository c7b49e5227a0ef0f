"""The cart page's data: the shopper's open cart, priced from the catalog the storefront reads.

Who the shopper is comes from the session cookie (the order API's bearer token, `SessionStore`),
which cart from the cart cookie; a cart is shown only to its owner and only while it is open.
Lines whose product is unknown or no longer sold are shown as unavailable and left out of the
totals. Prices here are what the catalog says now; checkout prices the cart again.

The order API issues both values today as JSON; the cookie names live here, in one place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from shop.events import ProductSnapshot
from shop.money import money
from shop.userstate import quantities

if TYPE_CHECKING:
    from shop.runtime import Runtime
    from shop.storefront.service import Storefront

SESSION_COOKIE = "shop_session"
CART_COOKIE = "shop_cart"
_CART_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
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
    """`open`, `empty` (no cart), `signed-out` (no valid session) or `unavailable` (a store failed)."""
    lines: tuple[CartLine, ...] = ()
    totals: tuple[str, ...] = field(default=())


def cart_view(runtime: Runtime, storefront: Storefront,  # noqa: PLR0911 - one answer per reason
              cookies: Mapping[str, str]) -> CartView:
    token, cart_id = cookies.get(SESSION_COOKIE, ""), cookies.get(CART_COOKIE, "")
    if not token:
        return CartView("signed-out")
    try:
        customer = runtime.sessions.customer_for(token)
        if customer is None:
            return CartView("signed-out")
        if not _CART_ID.match(cart_id):
            return CartView("empty")
        cart = runtime.carts.get(cart_id)
    except (BotoCoreError, ClientError) as error:
        logger.warning("cart page: session or cart store failed (%s)", type(error).__name__)
        return CartView("unavailable")
    if cart is None or cart.customer_id != customer or cart.status != "open" or not cart.items:
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
