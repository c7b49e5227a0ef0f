"""The sign-in pages (HTML forms): an APIRouter the order service serves (docs/accounts.md).

    GET  /account/sign-in            the form: an email address (sign-in and sign-up are one step)
    GET  /account/sign-up            the same form, worded for a new shopper
    POST /account/sign-in            send the link; the same "check your inbox" page for any address
    GET  /account/sign-in/confirm    the link's landing page: one button (mail scanners only GET); the
                                     token comes in the link's fragment, which no server ever sees
    POST /account/sign-in/confirm    redeem the link: session cookie set, guest cart merged, 303 to /
    GET  /account                    signed in or not, with the sign-out form
    POST /account/sign-out           end the session, clear the cookie, 303 to /

Every form carries a CSRF token (shop.accounts.csrf). The session lives in the `SESSION_COOKIE`
cookie: HttpOnly, Secure, SameSite=Lax (a link from an email must arrive signed in), host-only.
Dependencies come from `request.app.state.runtime` (`.accounts`, `.sessions`); an app that keeps
them elsewhere overrides `get_accounts` and `get_sessions` (FastAPI `dependency_overrides`).
"""

from __future__ import annotations

import html
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shop.accounts import csrf
from shop.accounts.service import (
    CONFIRM_PATH,
    LINK_FRAGMENT_KEY,
    AccountService,
    InvalidEmail,
    InvalidLink,
)
from shop.userstate import SESSION_COOKIE, SessionStore

ACCOUNT_PATH = "/account"
SIGN_IN_PATH = "/account/sign-in"
SIGN_UP_PATH = "/account/sign-up"
SIGN_OUT_PATH = "/account/sign-out"
MAX_FORM_BYTES = 4096

router = APIRouter(include_in_schema=False)


def get_accounts(request: Request) -> AccountService:
    accounts: AccountService = request.app.state.runtime.accounts
    return accounts


def get_sessions(request: Request) -> SessionStore:
    sessions: SessionStore = request.app.state.runtime.sessions
    return sessions


Accounts = Annotated[AccountService, Depends(get_accounts)]
Sessions = Annotated[SessionStore, Depends(get_sessions)]


def set_session_cookie(response: Response, token: str, max_age: int) -> None:
    """Give the browser its session (also for the storefront when it starts a guest session)."""
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite="lax")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def _page(title: str, body: str, *, status: int = 200, csrf_token: str | None = None) -> HTMLResponse:
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>{html.escape(title)}</title></head>
<body><main><h1>{html.escape(title)}</h1>
{body}
</main></body></html>"""
    response = HTMLResponse(document, status_code=status,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
    if csrf_token is not None:
        csrf.set_cookie(response, csrf_token)
    return response


def _hidden_csrf(token: str) -> str:
    return f'<input type="hidden" name="{csrf.CSRF_FIELD}" value="{html.escape(token)}">'


def _email_form(request: Request, *, title: str, intro: str, error: str = "", email: str = "",
                status: int = 200) -> HTMLResponse:
    token = csrf.token_for(request)
    alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    body = f"""<p>{html.escape(intro)}</p>{alert}
<form method="post" action="{SIGN_IN_PATH}">{_hidden_csrf(token)}
<label>Email <input type="email" name="email" required maxlength="254" autocomplete="email"
value="{html.escape(email)}"></label>
<button type="submit">Email me a sign-in link</button></form>"""
    return _page(title, body, status=status, csrf_token=token)


async def _form(request: Request) -> dict[str, str] | None:
    """The urlencoded form's fields (first value of each), or None if it is not one or does not carry
    this browser's CSRF token."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return None
    try:
        fields = parse_qs(raw.decode("utf-8"), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    form = {name: values[0] for name, values in fields.items() if values}
    return form if csrf.is_valid(request, form.get(csrf.CSRF_FIELD)) else None


def _home() -> RedirectResponse:
    """After a sign-in or sign-out: back to the shop, the answer never cached."""
    return RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})


def _refused() -> HTMLResponse:
    return _page("Please try again", "<p>This form has expired. Go back, reload the page and submit it "
                                     "again.</p>", status=403)


@router.get(SIGN_IN_PATH)
def sign_in_form(request: Request) -> HTMLResponse:
    return _email_form(request, title="Sign in",
                       intro="Enter your email address and we will email you a link that signs you in. "
                             "New here? The same link creates your account.")


@router.get(SIGN_UP_PATH)
def sign_up_form(request: Request) -> HTMLResponse:
    return _email_form(request, title="Create your account",
                       intro="Enter your email address and we will email you a link that creates your "
                             "account and signs you in. No password needed.")


@router.post(SIGN_IN_PATH)
async def send_link(request: Request, accounts: Accounts) -> HTMLResponse:
    form = await _form(request)
    if form is None:
        return _refused()
    try:
        accounts.request_link(form.get("email", ""))
    except InvalidEmail as error:
        return _email_form(request, title="Sign in", intro="Enter your email address.", error=str(error),
                           email=form.get("email", "")[:254], status=422)
    return _page("Check your inbox",
                 "<p>If the address can receive email, a sign-in link is on its way. It works once, "
                 "within 15 minutes.</p>")


# Moves the link's token from the URL's fragment into the form, then drops the fragment from the
# address bar and the history. Without JavaScript the shopper pastes it (the <noscript> says how).
_FRAGMENT_TO_FORM = f"""<script>
(function () {{
  var code = new URLSearchParams(window.location.hash.slice(1)).get("{LINK_FRAGMENT_KEY}");
  if (!code) return;
  document.getElementById("link-token").value = code;
  document.getElementById("link-token-field").hidden = true;
  window.history.replaceState(null, "", window.location.pathname);
}})();
</script>"""


@router.get(CONFIRM_PATH)
def confirm_form(request: Request) -> HTMLResponse:
    csrf_token = csrf.token_for(request)
    body = f"""<form method="post" action="{CONFIRM_PATH}">{_hidden_csrf(csrf_token)}
<p id="link-token-field"><label>Sign-in code <input id="link-token" name="token" required maxlength="256"
autocomplete="off"></label></p>
<noscript><p>JavaScript is off: paste the part of the emailed link after <code>#{LINK_FRAGMENT_KEY}=</code>
above.</p></noscript>
<button type="submit">Sign in</button></form>
{_FRAGMENT_TO_FORM}"""
    return _page("Finish signing in", body, csrf_token=csrf_token)


@router.post(CONFIRM_PATH)
async def confirm(request: Request, accounts: Accounts) -> Response:
    form = await _form(request)
    if form is None:
        return _refused()
    try:
        signed_in = accounts.sign_in(form.get("token", ""), guest_token=request.cookies.get(SESSION_COOKIE))
    except InvalidLink:
        return _page("This link has expired",
                     f'<p>Sign-in links work once, within 15 minutes. <a href="{SIGN_IN_PATH}">Get a new '
                     "one</a>.</p>", status=400)
    response = _home()
    set_session_cookie(response, signed_in.token, accounts.session_ttl_seconds)
    return response


@router.get(ACCOUNT_PATH)
def account(request: Request, sessions: Sessions) -> HTMLResponse:
    session = sessions.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is None or session.guest:
        return _page("Your account", f'<p>You are not signed in. <a href="{SIGN_IN_PATH}">Sign in</a>.</p>')
    csrf_token = csrf.token_for(request)
    body = f"""<p>You are signed in.</p>
<form method="post" action="{SIGN_OUT_PATH}">{_hidden_csrf(csrf_token)}
<button type="submit">Sign out</button></form>"""
    return _page("Your account", body, csrf_token=csrf_token)


@router.post(SIGN_OUT_PATH)
async def sign_out(request: Request, accounts: Accounts) -> Response:
    form = await _form(request)
    if form is None:
        return _refused()
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.sign_out(token)
    response = _home()
    clear_session_cookie(response)
    return response
