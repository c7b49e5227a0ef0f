"""CSRF protection for HTML forms: a double-submit token in a `__Host-` cookie.

A form page sets a random token in the `__Host-csrf` cookie (HttpOnly, Secure, SameSite=Strict,
host-only, Path=/) and in a hidden field; a POST is accepted only when both are present and equal.
Another site can make a browser send the cookie (not with SameSite=Strict, but older browsers) yet
can neither read it nor set a `__Host-` cookie for this host, so it cannot fill in the field. Our own
code needs no server-side state and no signing key for this.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "__Host-csrf"
CSRF_FIELD = "csrf_token"
_MAX_AGE = 2 * 3600


def token_for(request: Request) -> str:
    """The token to put in the form: the browser's current one, or a new one."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if 32 <= len(current) <= 128 else secrets.token_urlsafe(32)


def set_cookie(response: Response, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, max_age=_MAX_AGE, path="/", secure=True, httponly=True,
                        samesite="strict")


def is_valid(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    return bool(cookie and submitted) and len(cookie) >= 32 and hmac.compare_digest(cookie, submitted or "")
