"""The sign-in pages (shop.accounts.pages) mounted in a small app, as the order service mounts them:
CSRF-protected forms, the session cookie's attributes, the guest cart carried into the account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import Route

from tests.support.app_clients import link_tokens
from tests.support.app_stores import Aws, Db

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def pages(runtime: Any) -> Iterator[Any]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from shop.accounts.pages import router

    app = FastAPI()
    app.state.runtime = runtime
    app.include_router(router)
    # https: the browser keeps Secure cookies only for https pages
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def csrf_of(page: Any) -> str:
    match = CSRF_INPUT.search(page.text)
    assert match, page.text
    return match.group(1)


def set_cookie_headers(response: Any, name: str) -> list[str]:
    return [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]


def test_a_shopper_signs_up_through_the_pages_and_gets_a_locked_down_session_cookie(
        pages: Any, aws: Aws, db: Db) -> None:
    from shop.userstate import SESSION_COOKIE

    # GIVEN the sign-up form
    form = pages.get("/account/sign-up")
    assert form.status_code == 200 and form.headers["cache-control"] == "no-store"
    [csrf_cookie] = set_cookie_headers(form, "__Host-csrf")
    assert all(flag in csrf_cookie for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"))

    # WHEN the shopper sends an address
    sent = pages.post("/account/sign-in", data={"email": "dana@example.com", "csrf_token": csrf_of(form)})
    assert sent.status_code == 200 and "Check your inbox" in sent.text

    # AND opens the link, then presses the button on the landing page
    [token] = link_tokens(aws, "dana@example.com")
    landing = pages.get("/account/sign-in/confirm")
    assert landing.status_code == 200 and db.count("customers") == 2  # a GET alone signs nobody in
    done = pages.post("/account/sign-in/confirm", data={"token": token, "csrf_token": csrf_of(landing)})

    # THEN the browser is sent home with a session cookie only the server can read, over HTTPS only
    assert done.status_code == 303 and done.headers["location"] == "/"
    [session_cookie] = set_cookie_headers(done, SESSION_COOKIE)
    assert all(flag in session_cookie
               for flag in ("HttpOnly", "Secure", "SameSite=lax", "Path=/", "Max-Age="))
    assert "Domain=" not in session_cookie
    assert db.rows("SELECT email FROM customers WHERE email = 'dana@example.com'")
    assert "You are signed in" in pages.get("/account").text


@pytest.mark.parametrize("csrf", [None, "", "forged-value-that-is-long-enough-to-look-real-000"])
def test_a_form_post_without_the_matching_csrf_token_is_refused(pages: Any, aws: Aws,
                                                                  csrf: str | None) -> None:
    pages.get("/account/sign-in")  # the browser holds a CSRF cookie
    data = {"email": "alice@example.com"} | ({"csrf_token": csrf} if csrf is not None else {})
    response = pages.post("/account/sign-in", data=data)
    assert response.status_code == 403
    assert aws.sent_emails() == []


def test_a_cross_site_post_without_the_cookie_is_refused(pages: Any, aws: Aws) -> None:
    form = pages.get("/account/sign-in")
    token = csrf_of(form)
    pages.cookies.clear()  # another site's form: the browser sends no SameSite=Strict cookie
    response = pages.post("/account/sign-in", data={"email": "alice@example.com", "csrf_token": token})
    assert response.status_code == 403
    assert aws.sent_emails() == []


def test_the_guest_cart_in_the_browser_joins_the_account_at_sign_in(pages: Any, aws: Aws,
                                                                     runtime: Any) -> None:
    from shop.userstate import SESSION_COOKIE

    # GIVEN a guest session (as the storefront starts one) whose cart holds a mug
    guest = runtime.accounts.start_guest()
    guest_session = runtime.sessions.session(guest)
    cart = runtime.carts.create(guest_session.customer_id)
    runtime.accounts.remember_cart(guest, guest_session, cart.cart_id)
    runtime.carts.set_quantity(cart.cart_id, guest_session.customer_id, "MUG-WHT", 2)
    pages.cookies.set(SESSION_COOKIE, guest)

    # WHEN the shopper signs in as alice in that browser
    form = pages.get("/account/sign-in")
    pages.post("/account/sign-in", data={"email": "alice@example.com", "csrf_token": csrf_of(form)})
    [token] = link_tokens(aws, "alice@example.com")
    landing = pages.get("/account/sign-in/confirm")
    done = pages.post("/account/sign-in/confirm", data={"token": token, "csrf_token": csrf_of(landing)})

    # THEN the new session is alice's, with the mug in its cart, and the guest token is dead
    new_token = done.cookies.get(SESSION_COOKIE) or pages.cookies.get(SESSION_COOKIE)
    assert new_token and new_token != guest
    session = runtime.sessions.session(new_token)
    assert not session.guest and session.cart_id == cart.cart_id
    assert runtime.carts.get(cart.cart_id).items == {"MUG-WHT": 2}
    assert runtime.sessions.session(guest) is None


def test_signing_out_revokes_the_session_and_clears_the_cookie(pages: Any, aws: Aws, runtime: Any) -> None:
    from shop.userstate import SESSION_COOKIE

    form = pages.get("/account/sign-in")
    pages.post("/account/sign-in", data={"email": "alice@example.com", "csrf_token": csrf_of(form)})
    [token] = link_tokens(aws, "alice@example.com")
    landing = pages.get("/account/sign-in/confirm")
    pages.post("/account/sign-in/confirm", data={"token": token, "csrf_token": csrf_of(landing)})
    session_token = pages.cookies.get(SESSION_COOKIE)

    account = pages.get("/account")
    out = pages.post("/account/sign-out", data={"csrf_token": csrf_of(account)})

    assert out.status_code == 303
    assert any("Max-Age=0" in h or "expires=" in h.lower() for h in set_cookie_headers(out, SESSION_COOKIE))
    assert runtime.sessions.session(session_token) is None


def test_a_used_link_shows_an_expired_page(pages: Any, aws: Aws) -> None:
    form = pages.get("/account/sign-in")
    pages.post("/account/sign-in", data={"email": "alice@example.com", "csrf_token": csrf_of(form)})
    [token] = link_tokens(aws, "alice@example.com")
    landing = pages.get("/account/sign-in/confirm")
    data = {"token": token, "csrf_token": csrf_of(landing)}
    assert pages.post("/account/sign-in/confirm", data=data).status_code == 303
    again = pages.post("/account/sign-in/confirm", data=data)
    assert again.status_code == 400 and "expired" in again.text


def test_the_waf_rate_rule_covers_every_route_that_sends_a_link_or_signs_in(pages: Any) -> None:
    """The edge's sign-in paths (components/edge.py) are the app's: a route added here must be there."""
    from components.edge import SIGN_IN_PATHS
    from shop.accounts import api
    from shop.accounts import pages as pages_module

    posts = [route.path for router in (api.router, pages_module.router) for route in router.routes
             if isinstance(route, Route) and "POST" in (route.methods or ()) and "out" not in route.path
             and not route.path.endswith("/guest")]
    assert posts and all(any(path.startswith(prefix) for prefix in SIGN_IN_PATHS) for path in posts), posts


def test_the_pages_are_where_the_infrastructure_routes_them_to_the_order_service(served: Any) -> None:
    # GIVEN the paths the ALB and CloudFront send to the order service for the account pages
    import httpx
    from fastapi.routing import APIRoute

    from components.defaults import ACCOUNT_PAGE_PATHS
    from shop.accounts.pages import router

    exact, prefix = ACCOUNT_PAGE_PATHS[0], ACCOUNT_PAGE_PATHS[1].removesuffix("*")
    pages = [(method, route.path) for route in router.routes if isinstance(route, APIRoute)
             for method in sorted(route.methods or ())]

    # THEN every page is under them, and the order service answers every page (a form, or the
    # refusal of a POST without its CSRF pair), none is missing
    assert pages and all(path == exact or path.startswith(prefix) for _, path in pages)
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for method, path in pages:
            answer = client.request(method, path)
            assert answer.status_code in (200, 403), (method, path, answer.status_code)
            assert answer.headers["content-type"].startswith("text/html")
