"""The order API: `uvicorn shop.order_service.app:app` in the order-api ECS service.

Routes (all JSON, behind the ALB's /api/*):
  GET  /api/health                         liveness for the load balancer
  POST /api/carts                          a new cart for the session's customer
  GET  /api/carts/{cart_id}                the cart
  PUT  /api/carts/{cart_id}/items/{sku}    set a line's quantity (0 removes it)
  POST /api/checkout                       price, charge, place the order (see docs/checkout.md)
  /api/sign-in-links, /api/sessions...     accounts and sessions (shop.accounts.api, docs/accounts.md)
and the account pages (HTML forms, shop.accounts.pages) at /account and /account/*, which the ALB
routes here.
The caller authenticates with `Authorization: Bearer <session token>`; a guest session may fill
carts, only a signed-in customer may check out.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from fastapi import BackgroundTasks, Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from shop import json_errors
from shop.accounts import api as accounts_api
from shop.accounts import pages as accounts_pages
from shop.api_schema import error_responses, json_body
from shop.checkout import CartAsRead, CheckoutError, CheckoutRequest
from shop.json_errors import ApiError
from shop.logs import install_redaction
from shop.runtime import Runtime
from shop.settings import Settings
from shop.userstate import MAX_QUANTITY, Cart, CartConflict, CartNotFound, Session, session_and_cart
from shop.web_guard import GUARD_RESPONSES, GuardRequests

SETTINGS = Settings.from_env()
logger = Logger(service="order-api")
install_redaction()

Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,63}$")]
CartId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ShippingIn(_Body):
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{0,15}$")]


class CheckoutIn(_Body):
    cart_id: CartId
    payment_method: Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,200}$")] = Field(
        description="A PaymentMethod id from the provider's client-side SDK; never card data.")
    idempotency_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{8,128}$")]
    shipping: ShippingIn


def _integral(value: Any) -> Any:
    # JSON has one number type: 2.0 is an integer to JSON Schema (and so to the OpenAPI document).
    return int(value) if isinstance(value, float) and value.is_integer() else value


class QuantityIn(_Body):
    quantity: Annotated[int, BeforeValidator(_integral)] = Field(ge=0, le=MAX_QUANTITY)


class CartLineOut(BaseModel):
    sku: str
    quantity: int


class CartOut(BaseModel):
    cart_id: str
    status: str
    items: list[CartLineOut]


class OrderLineOut(CartLineOut):
    unit_price_cents: int


class OrderOut(BaseModel):
    order_id: str
    status: str
    currency: str
    total_cents: int
    placed_at: str
    items: list[OrderLineOut]


# Declares the bearer session in the OpenAPI document; `customer_of` checks it (auto_error=False
# leaves every answer to it).
SIGNED_IN = [Security(HTTPBearer(auto_error=False))]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def _cart_body(cart: Cart) -> dict[str, Any]:
    return {"cart_id": cart.cart_id, "status": cart.status,
            "items": [{"sku": sku, "quantity": int(q)} for sku, q in sorted(cart.items.items())]}


def create_app(runtime_factory: Callable[[], Runtime] | None = None) -> FastAPI:
    """The ASGI app; `runtime_factory` supplies the dependencies (tests pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory() if runtime_factory else Runtime(SETTINGS)
        runtime.db.open()
        _ = runtime.checkout, runtime.sessions, runtime.accounts  # resolve secrets and clients before serving
        app.state.runtime = runtime
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(title="order-api", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  responses=GUARD_RESPONSES)
    app.add_middleware(GuardRequests)
    app.include_router(accounts_api.router)
    app.include_router(accounts_pages.router)

    def runtime_of(request: Request) -> Runtime:
        runtime: Runtime = request.app.state.runtime
        return runtime

    def session_of(request: Request) -> tuple[str, Session]:
        token = accounts_api.bearer(request)
        session = runtime_of(request).sessions.session(token) if token else None
        if session is None:
            raise ApiError(401, "unauthenticated", "a valid session token is required")
        return token, session

    def customer_of(request: Request) -> str:
        return session_of(request)[1].customer_id

    def parse(raw: bytes, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate_json(raw or b"null")
        except ValidationError as error:
            if any(e.get("type") == "json_invalid" for e in error.errors()):
                raise ApiError(400, "malformed_json", "the body is not valid JSON") from error
            raise RequestValidationError(error.errors()) from error

    json_errors.install(app, logger)

    @app.exception_handler(CartNotFound)
    async def cart_not_found(_: Request, error: CartNotFound) -> JSONResponse:
        return JSONResponse({"error": error.code, "message": error.message}, status_code=404)

    @app.exception_handler(CheckoutError)
    async def checkout_error(_: Request, error: CheckoutError) -> JSONResponse:
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.get("/api/health")
    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/carts", status_code=201, response_model=CartOut, dependencies=SIGNED_IN,
              responses=error_responses(401))
    def create_cart(request: Request) -> dict[str, Any]:
        token, session = session_of(request)
        runtime = runtime_of(request)
        cart = runtime.carts.create(session.customer_id)
        runtime.accounts.remember_cart(token, session, cart.cart_id)
        return _cart_body(cart)

    @app.get("/api/carts/{cart_id}", response_model=CartOut, dependencies=SIGNED_IN,
             responses=error_responses(401, 404, 422))
    def get_cart(cart_id: CartId, request: Request) -> dict[str, Any]:
        customer = customer_of(request)
        return _cart_body(runtime_of(request).carts.owned(cart_id, customer))

    @app.put("/api/carts/{cart_id}/items/{sku}", response_model=CartOut, dependencies=SIGNED_IN,
             responses=error_responses(401, 404, 409, 422), openapi_extra=json_body(QuantityIn))
    def set_item(cart_id: CartId, sku: Sku, request: Request, raw: RawBody) -> dict[str, Any]:
        customer = customer_of(request)
        body: QuantityIn = parse(raw, QuantityIn)
        try:
            cart = runtime_of(request).carts.set_quantity(cart_id, customer, sku, body.quantity)
        except CartConflict as error:
            raise ApiError(409, "cart_not_open", "this cart cannot be changed") from error
        return _cart_body(cart)

    @app.post("/api/checkout", status_code=201, dependencies=SIGNED_IN, openapi_extra=json_body(CheckoutIn),
              responses={201: {"model": OrderOut, "description": "Order placed (or this key's replay)"},
                         **error_responses(401, 402, 403, 404, 409, 422, 503)})
    def checkout(request: Request, background: BackgroundTasks, raw: RawBody) -> JSONResponse:
        runtime = runtime_of(request)
        token = accounts_api.bearer(request)
        try:
            body: CheckoutIn | None = parse(raw, CheckoutIn)
            invalid: Exception | None = None
        except (ApiError, RequestValidationError) as error:  # answered after the session's checks
            body, invalid = None, error
        # The session and the cart in one DynamoDB call when both are known (shop.userstate)
        if token and body is not None:
            session, cart = session_and_cart(runtime.sessions, runtime.carts, token, body.cart_id)
        else:
            session, cart = (runtime.sessions.session(token) if token else None), None
        if session is None:
            raise ApiError(401, "unauthenticated", "a valid session token is required")
        if session.guest:
            raise ApiError(403, "sign_in_required", "sign in to check out: your cart comes with you")
        if invalid is not None:
            raise invalid
        assert body is not None
        result = runtime.checkout.checkout(
            CheckoutRequest(cart_id=body.cart_id, payment_method=body.payment_method,
                            idempotency_key=body.idempotency_key, shipping=body.shipping.model_dump()),
            session.customer_id, cart=CartAsRead(cart))
        if result.published and runtime.settings.relay_after_commit:
            background.add_task(_publish_now, runtime, list(result.published))
        return JSONResponse(result.body, status_code=result.status)

    return app


def _publish_now(runtime: Runtime, event_ids: list[uuid.UUID]) -> None:
    try:  # batched with the other orders committed meanwhile (shop.outbox.AfterCommitPublisher)
        runtime.publisher.publish(event_ids)
    except Exception:  # the scheduled relay publishes it within a minute
        logger.warning("immediate publish failed; the scheduled relay will publish", exc_info=True)


app = create_app()
