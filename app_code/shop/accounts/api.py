"""The JSON account routes, served by the order service under /api/ (the ALB sends /api/* there).

    POST   /api/sign-in-links      {"email"}        202 for every well-formed address (a link is mailed)
    POST   /api/sessions           {"link_token"}   201 {"token", "customer_id", "cart_id", "expires_at"}
                                   (with `Authorization: Bearer <guest token>`, that guest's cart is
                                   merged into the account's cart and the guest session ends)
    POST   /api/sessions/guest                      201 {"token", "expires_at"}: fill a cart before signing in
    GET    /api/sessions/current                    the caller's session
    DELETE /api/sessions/current                    204: signed out

Clients send tokens in the Authorization header, never a cookie, so these routes need no CSRF token.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from shop.accounts.service import EMAIL_PATTERN, MAX_EMAIL_LENGTH, AccountService, InvalidEmail, InvalidLink
from shop.api_schema import error_responses, json_body
from shop.userstate import TOKEN_BYTES

SIGN_IN_LINKS_PATH = "/api/sign-in-links"
SESSIONS_PATH = "/api/sessions"

router = APIRouter()
LINK_TOKEN_PATTERN = f"^[A-Za-z0-9_-]{{{math.ceil(TOKEN_BYTES * 4 / 3)}}}$"
"""What the links carry: `secrets.token_urlsafe(TOKEN_BYTES)`, unpadded URL-safe base64."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LinkIn(_Body):
    email: Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH, pattern=EMAIL_PATTERN)]


class SessionIn(_Body):
    link_token: Annotated[str, StringConstraints(pattern=LINK_TOKEN_PATTERN)]


class AcceptedOut(BaseModel):
    status: str
    message: str


class SignedInOut(BaseModel):
    token: str
    customer_id: str
    cart_id: str | None
    expires_at: int


class GuestOut(BaseModel):
    token: str
    guest: bool
    expires_at: int


class SessionOut(BaseModel):
    customer_id: str
    guest: bool
    cart_id: str | None
    expires_at: int


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _accounts(request: Request) -> AccountService:
    accounts: AccountService = request.app.state.runtime.accounts
    return accounts


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _parse(request: Request, model: type[_Body]) -> Any:
    try:
        return model.model_validate_json((await request.body()) or b"null")
    except ValidationError:
        return None


@router.post(SIGN_IN_LINKS_PATH, status_code=202, openapi_extra=json_body(LinkIn),
             responses={202: {"model": AcceptedOut, "description": "Accepted (the same for every address)"},
                        **error_responses(422)})
async def request_link(request: Request) -> JSONResponse:
    body = await _parse(request, LinkIn)
    if body is None:
        return _error(422, "invalid_request", 'send {"email": "<address>"}')
    try:
        _accounts(request).request_link(body.email)
    except InvalidEmail as error:
        return _error(422, "invalid_email", str(error))
    return JSONResponse({"status": "accepted",
                         "message": "if the address can receive email, a sign-in link is on its way"},
                        status_code=202)


@router.post(SESSIONS_PATH, status_code=201, openapi_extra=json_body(SessionIn),
             responses={201: {"model": SignedInOut, "description": "Signed in"}, **error_responses(401, 422)})
async def sign_in(request: Request) -> JSONResponse:
    body = await _parse(request, SessionIn)
    if body is None:
        return _error(422, "invalid_request", 'send {"link_token": "<the token from the link>"}')
    try:
        signed_in = _accounts(request).sign_in(body.link_token, guest_token=bearer(request) or None)
    except InvalidLink:
        return _error(401, "invalid_link", "the sign-in link is unknown, used or expired: ask for a new one")
    return JSONResponse({"token": signed_in.token, "customer_id": signed_in.customer_id,
                         "cart_id": signed_in.cart_id, "expires_at": signed_in.expires_at},
                        status_code=201, headers={"Cache-Control": "no-store"})


@router.post(f"{SESSIONS_PATH}/guest", status_code=201,
             responses={201: {"model": GuestOut, "description": "A guest session"}})
def start_guest(request: Request) -> JSONResponse:
    accounts = _accounts(request)
    token = accounts.start_guest()
    session = request.app.state.runtime.sessions.session(token)
    return JSONResponse({"token": token, "guest": True, "expires_at": session.expires_at if session else 0},
                        status_code=201, headers={"Cache-Control": "no-store"})


@router.get(f"{SESSIONS_PATH}/current",
            responses={200: {"model": SessionOut, "description": "The caller's session"},
                       **error_responses(401)})
def current(request: Request) -> JSONResponse:
    session = request.app.state.runtime.sessions.session(bearer(request))
    if session is None:
        return _error(401, "unauthenticated", "a valid session token is required")
    return JSONResponse({"customer_id": session.customer_id, "guest": session.guest,
                         "cart_id": session.cart_id, "expires_at": session.expires_at})


@router.delete(f"{SESSIONS_PATH}/current", status_code=204,
               responses={204: {"description": "Signed out"}, **error_responses(401)})
def sign_out(request: Request) -> Response:
    token = bearer(request)
    if request.app.state.runtime.sessions.session(token) is None:
        return _error(401, "unauthenticated", "a valid session token is required")
    _accounts(request).sign_out(token)
    return Response(status_code=204)
