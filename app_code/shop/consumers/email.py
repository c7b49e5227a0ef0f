"""Email: the order confirmation for `order.placed` and the reminder for `cart.abandoned`, via SES.

The events carry no personal data; the address is read from the customers table. Messages are
rendered from the templates below (text and HTML) and sent from SES_FROM_ADDRESS, the verified
identity. Each event sends at most once: Powertools idempotency, then the `email_log` row.
"""

from __future__ import annotations

import html
from string import Template
from typing import Any

from shop.consumers._runtime import Consumer
from shop.events import CART_ABANDONED, ORDER_PLACED, CartAbandoned, Envelope, OrderPlaced
from shop.money import money
from shop.runtime import Runtime
from shop.settings import Settings

SETTINGS = Settings.from_env()

CONFIRMATION_SUBJECT = Template("Your order $order_ref is confirmed")
CONFIRMATION_TEXT = Template("""Hello $name,

thank you for your order $order_ref, placed $placed_at.

$lines
Total: $total

We will let you know when it ships to $postal_code, $country.
""")
CONFIRMATION_HTML = Template("""<html><body><p>Hello $name,</p>
<p>thank you for your order <strong>$order_ref</strong>, placed $placed_at.</p>
<table>$rows</table><p><strong>Total: $total</strong></p>
<p>We will let you know when it ships to $postal_code, $country.</p></body></html>""")
REMINDER_SUBJECT = Template("You left $count item(s) in your cart")
REMINDER_TEXT = Template("""Hello $name,

your cart is waiting for you:

$lines
""")


class RecipientUnknown(Exception):
    """The event names a customer without a record: retried, then dead-lettered for a look."""


def _recipient(runtime: Runtime, customer_id: Any) -> tuple[str, str]:
    with runtime.db.connection() as conn:
        row = conn.execute("SELECT email, display_name FROM customers WHERE customer_id = %s",
                           (customer_id,)).fetchone()
    if row is None:
        raise RecipientUnknown(str(customer_id))
    return row["email"], row["display_name"] or "there"


def _already_sent(runtime: Runtime, event_id: Any) -> bool:
    with runtime.db.connection() as conn:
        return conn.execute("SELECT 1 FROM email_log WHERE event_id = %s", (event_id,)).fetchone() is not None


def _send(runtime: Runtime, *, event_id: Any, kind: str, to: str, subject: str, text: str,
          html_body: str | None = None) -> None:
    body: dict[str, Any] = {"Text": {"Data": text, "Charset": "UTF-8"}}
    if html_body is not None:
        body["Html"] = {"Data": html_body, "Charset": "UTF-8"}
    extra: dict[str, Any] = {}
    if runtime.settings.ses_configuration_set:
        extra["ConfigurationSetName"] = runtime.settings.ses_configuration_set
    response = runtime.ses.send_email(
        Source=runtime.settings.require("ses_from_address"), Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body},
        Tags=[{"Name": "kind", "Value": kind}], **extra)
    with runtime.db.connection() as conn:
        conn.execute("INSERT INTO email_log (event_id, kind, message_id) VALUES (%s, %s, %s) "
                     "ON CONFLICT (event_id) DO NOTHING", (event_id, kind, response["MessageId"]))


def send_confirmation(envelope: Envelope, runtime: Runtime) -> None:
    order = OrderPlaced.model_validate(envelope.detail)
    if _already_sent(runtime, order.event_id):
        return
    to, name = _recipient(runtime, order.customer_id)
    values = {
        "name": name, "order_ref": str(order.order_id)[:8].upper(),
        "placed_at": order.placed_at.strftime("%Y-%m-%d %H:%M UTC"),
        "lines": "\n".join(f"{item.quantity} x {item.sku} at {money(item.unit_price_cents, order.currency)}"
                           for item in order.items),
        "total": money(order.total_cents, order.currency),
        "postal_code": order.shipping.postal_code, "country": order.shipping.country,
    }
    rows = "".join(f"<tr><td>{item.quantity} x {html.escape(item.sku)}</td>"
                   f"<td>{money(item.unit_price_cents, order.currency)}</td></tr>" for item in order.items)
    escaped = {key: html.escape(value) for key, value in values.items()}
    _send(runtime, event_id=order.event_id, kind="order-confirmation", to=to,
          subject=CONFIRMATION_SUBJECT.substitute(values), text=CONFIRMATION_TEXT.substitute(values),
          html_body=CONFIRMATION_HTML.substitute({**escaped, "rows": rows}))


def send_cart_reminder(envelope: Envelope, runtime: Runtime) -> None:
    cart = CartAbandoned.model_validate(envelope.detail)
    if _already_sent(runtime, cart.event_id):
        return
    to, name = _recipient(runtime, cart.customer_id)
    lines = "\n".join(f"{item.get('quantity')} x {item.get('sku')}" for item in cart.items)
    _send(runtime, event_id=cart.event_id, kind="cart-reminder", to=to,
          subject=REMINDER_SUBJECT.substitute(count=len(cart.items)),
          text=REMINDER_TEXT.substitute(name=name, lines=lines))


consumer = Consumer("email", {ORDER_PLACED: send_confirmation, CART_ABANDONED: send_cart_reminder},
                    settings=SETTINGS)
handler = consumer.handler
