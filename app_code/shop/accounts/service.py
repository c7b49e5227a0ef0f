"""Sign-in by emailed link, guest sessions, and the account's cart.

Why links and not passwords: every password design also needs "forgot your password?", which mails
a link, so the mailbox is the root of trust either way; links keep one flow, store no password
(nothing to stuff, spray or crack), and make sign-up and sign-in the same request, so the answer can
never reveal whether an address has an account (a password sign-up form tells an attacker "this
address is taken"). The cost is a dependency on SES for signing in, said in docs/accounts.md.

Enumeration: asking for a link does the same work and gives the same answer for every well-formed
address: it never reads `customers` (the account is found or created only when the link is used),
writes one row, and sends one email. Brute force: a link token has 256 bits, so guessing one is not
a threat; what an attacker can do is flood an address with mail or SES with sends, so the app sends
at most LINKS_PER_WINDOW links per address per LINK_WINDOW (later requests get the same answer and
no mail) and the edge's WAF rate-limits the sign-in paths per client IP.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from shop.db import Database
from shop.userstate import GUEST_PREFIX, TOKEN_BYTES, Cart, CartConflict, CartStore, Session, SessionStore

logger = logging.getLogger("shop.accounts")

LINK_TTL = timedelta(minutes=15)
LINK_WINDOW = timedelta(minutes=15)
LINKS_PER_WINDOW = 5
CONFIRM_PATH = "/account/sign-in/confirm"
"""The page a link opens (it asks for one click, so mail scanners that fetch links spend nothing)."""
LINK_FRAGMENT_KEY = "token"
"""The link is CONFIRM_PATH#token=...: the token rides in the URL's fragment, which a browser never
sends to a server, so it is in no access log (CloudFront's, the ALB's, the WAF's, the app's) and no
Referer; the landing page's script moves it into the form that redeems it."""
MAX_EMAIL_LENGTH = 254
EMAIL_PATTERN = (r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
                 r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
"""An address the shop sends to (also the API schema's pattern for `email`): an ASCII local part,
as SES requires (it has no SMTPUTF8 addresses), and a DNS domain name."""
_EMAIL = re.compile(EMAIL_PATTERN)
LINK_SUBJECT = "Your sign-in link"
LINK_TEXT = """Hello,

Use this link to sign in to the shop (it creates your account if you have none yet):

{url}

It works once, within {minutes} minutes. If you did not ask for it, ignore this email: nothing
happens until the link is used.
"""


class InvalidEmail(ValueError):
    """Not an email address the shop can send to."""


class InvalidLink(Exception):
    """The sign-in link is unknown, already used or expired (one answer for all three)."""


def normalize_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidEmail("enter a valid email address")
    return email


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class SignedIn:
    token: str
    customer_id: str
    cart_id: str | None
    expires_at: int


REFUSED_ADDRESS_ERRORS = frozenset({"MessageRejected", "InvalidParameterValue",
                                    "MailFromDomainNotVerified"})
"""SES errors about the message or its recipient, not about SES being unavailable."""


class LinkMailer:
    """Sends the sign-in link through SES, from the shop's verified address."""

    def __init__(self, ses: Any, *, from_address: str, configuration_set: str = "") -> None:
        self._ses = ses
        self._from = from_address
        self._configuration_set = configuration_set

    def send(self, to: str, url: str) -> None:
        """Send the link; an address SES refuses is logged (without the address) and dropped, so
        the caller's answer is the same as for any other address."""
        extra: dict[str, Any] = {}
        if self._configuration_set:
            extra["ConfigurationSetName"] = self._configuration_set
        try:
            self._ses.send_email(
                Source=self._from, Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": LINK_SUBJECT, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": LINK_TEXT.format(
                             url=url, minutes=int(LINK_TTL.total_seconds() // 60)), "Charset": "UTF-8"}}},
                Tags=[{"Name": "kind", "Value": "sign-in-link"}], **extra)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in REFUSED_ADDRESS_ERRORS:
                raise  # SES itself is failing: the request fails and the client retries
            logger.warning("SES refused a sign-in link", extra={"ses_error": code})


class AccountService:
    def __init__(self, db: Database, sessions: SessionStore, carts: CartStore, mailer: LinkMailer, *,
                 base_url: str) -> None:
        if not base_url.startswith("https://") and not base_url.startswith("http://127.0.0.1"):
            raise ValueError(f"PUBLIC_BASE_URL must be an https:// address, got {base_url!r}")
        self._db = db
        self._sessions = sessions
        self._carts = carts
        self._mailer = mailer
        self._base_url = base_url.rstrip("/")

    @property
    def session_ttl_seconds(self) -> int:
        return self._sessions.ttl_seconds

    # -- links --------------------------------------------------------------------------------
    def request_link(self, email: str) -> None:
        """Email a sign-in link to `email` unless it had LINKS_PER_WINDOW already; same outcome
        for the caller either way, and whether an account exists is never looked at here."""
        address = normalize_email(email)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._db.connection() as conn, conn.transaction():
            # Serialize one address's requests so the count below is exact.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 17))", (address,))
            recent = conn.execute(
                "SELECT count(*) AS n FROM sign_in_links WHERE email = %s AND created_at > now() - %s",
                (address, LINK_WINDOW)).fetchone()
            if recent is not None and recent["n"] >= LINKS_PER_WINDOW:
                logger.info("sign-in link throttled")
                return
            conn.execute("INSERT INTO sign_in_links (token_hash, email, expires_at) "
                         "VALUES (%s, %s, now() + %s)", (_digest(token), address, LINK_TTL))
            conn.execute("""DELETE FROM sign_in_links WHERE token_hash IN (
                                SELECT token_hash FROM sign_in_links
                                 WHERE expires_at < now() - interval '1 day' LIMIT 100)""")
        self._mailer.send(address, f"{self._base_url}{CONFIRM_PATH}#{LINK_FRAGMENT_KEY}={token}")

    def sign_in(self, link_token: str, *, guest_token: str | None = None) -> SignedIn:
        """Redeem a link: the account (created on first use), its cart with the guest's merged in,
        and a new session. The guest session, if any, ends: its token never becomes a customer's."""
        if not link_token or len(link_token) > 256:
            raise InvalidLink
        with self._db.connection() as conn:
            with conn.transaction():
                used = conn.execute(
                    """UPDATE sign_in_links SET used_at = now()
                        WHERE token_hash = %s AND used_at IS NULL AND expires_at > now()
                       RETURNING email""", (_digest(link_token),)).fetchone()
                if used is None:
                    raise InvalidLink
                conn.execute("INSERT INTO customers (customer_id, email) VALUES (%s, %s) "
                             "ON CONFLICT DO NOTHING", (uuid.uuid4(), used["email"]))
                account = conn.execute("SELECT customer_id, cart_id FROM customers WHERE lower(email) = %s",
                                       (used["email"],)).fetchone()
            if account is None:  # the row exists: inserted above or before
                raise RuntimeError("customer row vanished during sign-in")
            customer_id = str(account["customer_id"])
            guest = self._sessions.session(guest_token) if guest_token else None
            cart = self._account_cart(customer_id, account["cart_id"], guest)
            cart_id = cart.cart_id if cart else account["cart_id"]
            conn.execute("UPDATE customers SET cart_id = %s, last_signed_in_at = now() "
                         "WHERE customer_id = %s", (cart_id, customer_id))
        if guest_token and guest is not None:
            self._sessions.revoke(guest_token)
        token = self._sessions.create(customer_id, cart_id=cart.cart_id if cart else None)
        session = self._sessions.session(token)
        return SignedIn(token=token, customer_id=customer_id, cart_id=cart.cart_id if cart else None,
                        expires_at=session.expires_at if session else 0)

    def _account_cart(self, customer_id: str, stored_cart_id: str | None,
                      guest: Session | None) -> Cart | None:
        """The account's open cart with the guest's lines merged in (or the guest's cart, adopted)."""
        cart = self._carts.get(stored_cart_id) if stored_cart_id else None
        if cart is not None and (cart.customer_id != customer_id or cart.status != "open"):
            cart = None
        if guest is None or not guest.guest or not guest.cart_id:
            return cart
        source = self._carts.get(guest.cart_id)
        if source is None or source.customer_id != guest.customer_id or source.status != "open":
            return cart
        if cart is None:
            return self._carts.adopt(source.cart_id, from_owner=guest.customer_id, to_owner=customer_id)
        try:
            return self._carts.merge(source, cart)
        except CartConflict:  # the account's cart closed meanwhile (checked out elsewhere): take the guest's
            return self._carts.adopt(source.cart_id, from_owner=guest.customer_id, to_owner=customer_id)

    # -- sessions ------------------------------------------------------------------------------
    def start_guest(self) -> str:
        """A session for a shopper who has not signed in: a fresh guest id owns its carts."""
        return self._sessions.create(f"{GUEST_PREFIX}{uuid.uuid4()}", guest=True)

    def sign_out(self, token: str) -> None:
        self._sessions.revoke(token)

    def remember_cart(self, token: str, session: Session, cart_id: str) -> None:
        """Make `cart_id` the session's cart, and the account's when the shopper is signed in."""
        self._sessions.set_cart(token, cart_id)
        if not session.guest:
            with self._db.connection() as conn:
                conn.execute("UPDATE customers SET cart_id = %s WHERE customer_id = %s",
                             (cart_id, session.customer_id))
