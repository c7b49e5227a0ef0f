"""The storefront: `uvicorn shop.storefront.app:app` in the storefront ECS service (the ALB's `/*`).

Pages (server-rendered HTML, for people):
  GET /                               the categories and a search box
  GET /categories/{slug}[?after=]     a category's products, a page at a time
  GET /products/{sku}                 a product and what is bought with it
  GET /search?q=[&category=&page=]    search results
  GET /cart                           the shopper's cart (session cookie; never cached by the CDN)
The same data as JSON (for the browser's scripts and other clients):
  GET /catalog/categories
  GET /catalog/categories/{slug}/products[?after=&limit=]
  GET /catalog/products/{sku}
  GET /catalog/products/{sku}/bought-together
  GET /catalog/search?q=[&category=&page=&size=]
  GET /health                         liveness for the load balancer

Reads go to the cache, then the Aurora reader (PGHOST is the proxy's read-only endpoint), and
search to OpenSearch (docs/storefront.md). Bad input answers 400 with a message that names the
parameter and the rule; an unknown SKU or category 404; a page past the end is an empty page.
Pages answer errors with an error page, the JSON API (and the guard) with JSON; the OpenAPI
document (shop.api_schema) declares both, and the parameters that the routes parse themselves.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import parse_qsl

import psycopg
from aws_lambda_powertools import Logger
from fastapi import FastAPI, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from shop.api_schema import error_responses, page_responses, query_parameters, without_framework_validation
from shop.catalog import (
    CURSOR_FORMAT,
    DEFAULT_PAGE_SIZE,
    MAX_CURSOR_CHARS,
    MAX_PAGE_SIZE,
    BadCursor,
    CatalogReader,
    Category,
    Cursor,
    ListingPage,
)
from shop.events import CATEGORY_SLUG_PATTERN, SKU_PATTERN, ProductSnapshot
from shop.logs import install_redaction
from shop.money import money
from shop.runtime import Runtime
from shop.search import queries
from shop.search.queries import BadSearch, SearchRequest
from shop.settings import Settings
from shop.storefront.cart import CartView, cart_view
from shop.storefront.metrics import ReadMetrics
from shop.storefront.service import SearchUnavailable, Storefront
from shop.web_guard import GUARD_RESPONSES, GuardRequests

SETTINGS = Settings.from_env()
logger = Logger(service="storefront")
install_redaction()

CATALOG_CACHE_CONTROL = "public, max-age=60"
"""Catalog pages and JSON are the same for everyone: the CDN and browsers may keep them a minute."""
PRIVATE = "private, no-store"
MAX_QUERY_FIELDS = 20
TEMPLATES = Environment(loader=FileSystemLoader(FilePath(__file__).with_name("templates")),
                        autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
TEMPLATES.filters["money"] = lambda product: money(product.price_cents, product.currency)


# Path parameters: the document states their form; the storefront answers anything else with 404
# (no such product or category), which the document declares, rather than a validation error.
SkuPath = Annotated[str, Path(json_schema_extra={"pattern": SKU_PATTERN}, description="A product's SKU")]
SlugPath = Annotated[str, Path(json_schema_extra={"pattern": CATEGORY_SLUG_PATTERN},
                               description="A category's slug")]


# The query parameters the routes parse themselves (`query_params` and the functions below), as the
# OpenAPI document declares them.
class ListingQuery(BaseModel):
    after: str = Field("", max_length=MAX_CURSOR_CHARS, json_schema_extra={"format": CURSOR_FORMAT},
                       description="The `next_cursor` of the previous page (opaque); none for the first")
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class SearchQuery(BaseModel):
    q: str = Field(min_length=1, max_length=queries.MAX_QUERY_CHARS,
                   description="The words to look for (blanks and control characters alone find nothing)")
    category: str = Field("", pattern=f"^$|{CATEGORY_SLUG_PATTERN}", description="Only this category")
    page: int = Field(1, ge=1, le=queries.MAX_PAGE)
    size: int = Field(queries.DEFAULT_PAGE_SIZE, ge=1, le=queries.MAX_PAGE_SIZE)


# What the JSON API answers, for the OpenAPI document (the routes write the JSON themselves).
class CategoriesOut(BaseModel):
    categories: list[Category]


class BoughtTogetherOut(BaseModel):
    sku: str
    items: list[ProductSnapshot]


class SearchOut(BaseModel):
    q: str
    category: str | None
    page: int
    size: int
    total: int
    next_page: int | None
    items: list[ProductSnapshot]


def _json_answer(model: type[BaseModel], description: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description}, **error_responses(*errors)}


class BadRequest(ValueError):
    """Input that cannot be served; the message names the parameter and the rule."""


class NotFound(LookupError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def query_params(request: Request) -> dict[str, str]:
    """The query string, decoded strictly: bad percent-encoding or UTF-8 is a 400, not a guess."""
    raw = request.scope.get("query_string", b"")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict",
                          max_num_fields=MAX_QUERY_FIELDS)
    except UnicodeDecodeError as error:
        raise BadRequest("the query string is not valid UTF-8 once percent-decoded") from error
    except ValueError as error:
        raise BadRequest(f"the query string has more than {MAX_QUERY_FIELDS} parameters") from error
    return dict(pairs)


def _limit(params: dict[str, str]) -> int:
    text = params.get("limit")
    if text is None:
        return DEFAULT_PAGE_SIZE
    # (length first: int() refuses more than 4300 digits with a ValueError)
    if not (text.isascii() and text.isdigit() and len(text) <= 6 and 1 <= int(text) <= MAX_PAGE_SIZE):
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def _cursor(params: dict[str, str]) -> Cursor | None:
    text = params.get("after", "")
    try:
        return Cursor.decode(text) if text else None
    except BadCursor as error:
        raise BadRequest(f"after: {error}; use the next link of a previous page") from error


def _search_request(params: dict[str, str]) -> SearchRequest:
    return SearchRequest.parse(params.get("q"), category=params.get("category"), page=params.get("page"),
                               size=params.get("size"))


def _json(body: Any, status: int = 200, cache: str = CATALOG_CACHE_CONTROL) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status_code=status,
                    media_type="application/json", headers={"Cache-Control": cache})


def _raw_json(payload: bytes) -> Response:
    return Response(payload, media_type="application/json", headers={"Cache-Control": CATALOG_CACHE_CONTROL})


def _page(name: str, status: int = 200, cache: str = CATALOG_CACHE_CONTROL, **context: Any) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": cache})


def create_app(runtime_factory: Callable[[], Runtime] | None = None) -> FastAPI:
    """The ASGI app; `runtime_factory` supplies the dependencies (tests pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory() if runtime_factory else Runtime(SETTINGS)
        runtime.db.open()
        cache = runtime.read_cache
        if not runtime.settings.cache_host:
            logger.warning("no product cache configured (CACHE_HOST): every read goes to the database")
        search = runtime.search if runtime.settings.search_endpoint else None
        metrics = ReadMetrics(cache.counters)
        app.state.runtime = runtime
        app.state.storefront = Storefront(CatalogReader(runtime.db), cache, search, metrics)
        metrics.start()
        try:
            yield
        finally:
            metrics.stop()
            runtime.close()

    app = FastAPI(title="storefront", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  responses=GUARD_RESPONSES)
    app.add_middleware(GuardRequests)
    without_framework_validation(app)  # every route parses its own input

    def shop(request: Request) -> Storefront:
        storefront: Storefront = request.app.state.storefront
        return storefront

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/catalog/")

    def failure(request: Request, status: int, code: str, message: str,
                headers: dict[str, str] | None = None) -> Response:
        headers = {"Cache-Control": PRIVATE, **(headers or {})}
        if wants_json(request):
            return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)
        response = _page("error.html", status, PRIVATE, title=f"{status}", message=message,
                         categories=())
        response.headers.update(headers)
        return response

    @app.exception_handler(BadRequest)
    @app.exception_handler(BadSearch)
    async def bad_request(request: Request, error: Exception) -> Response:
        return failure(request, 400, "invalid_request", str(error))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Response:
        return failure(request, 404, error.code, error.message)

    @app.exception_handler(HTTPException)
    async def no_route(request: Request, error: HTTPException) -> Response:
        """An unknown path or method: the storefront's own error page (or JSON), not the framework's."""
        code, message = {404: ("not_found", "There is no such page."),
                         405: ("method_not_allowed", "The shop only serves GET here.")}.get(
            error.status_code, ("http_error", str(error.detail)))
        return failure(request, error.status_code, code, message, dict(error.headers or {}))

    @app.exception_handler(SearchUnavailable)
    async def search_unavailable(request: Request, error: SearchUnavailable) -> Response:
        logger.warning("search unavailable", error=str(error)[:300])
        return failure(request, 503, "search_unavailable", "search is unavailable; try again shortly",
                       {"Retry-After": "1"})

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, error: Exception) -> Response:
        logger.warning("database unavailable", error=type(error).__name__)
        return failure(request, 503, "service_unavailable", "the catalog is unavailable; try again shortly",
                       {"Retry-After": "1"})

    # -- the JSON API ------------------------------------------------------------------------------
    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/catalog/categories", responses=_json_answer(CategoriesOut, "The categories", 400, 503))
    def api_categories(request: Request) -> Response:
        query_params(request)
        return _json({"categories": [c.model_dump() for c in shop(request).categories()]})

    @app.get("/catalog/categories/{slug}/products", openapi_extra=query_parameters(ListingQuery),
             responses=_json_answer(ListingPage, "A page of the category's products", 400, 404, 503))
    def api_listing(slug: SlugPath, request: Request) -> Response:
        params = query_params(request)
        payload = shop(request).listing_json(slug, after=_cursor(params), limit=_limit(params))
        if payload is None:
            raise NotFound("category_not_found", "no category with this slug")
        return _raw_json(payload)

    @app.get("/catalog/products/{sku}", responses=_json_answer(ProductSnapshot, "The product", 400, 404, 503))
    def api_product(sku: SkuPath, request: Request) -> Response:
        query_params(request)
        payload = shop(request).product_json(sku)
        if payload is None:
            raise NotFound("product_not_found", "no product with this SKU")
        return _raw_json(payload)

    @app.get("/catalog/products/{sku}/bought-together",
             responses=_json_answer(BoughtTogetherOut, "Best first", 400, 404, 503))
    def api_bought_together(sku: SkuPath, request: Request) -> Response:
        query_params(request)
        storefront = shop(request)
        if storefront.product_json(sku) is None:
            raise NotFound("product_not_found", "no product with this SKU")
        items = storefront.bought_together(sku)
        return _json({"sku": sku, "items": [p.model_dump(mode="json") for p in items]})

    @app.get("/catalog/search", openapi_extra=query_parameters(SearchQuery),
             responses=_json_answer(SearchOut, "A page of results", 400, 503))
    def api_search(request: Request) -> Response:
        search = _search_request(query_params(request))
        page = shop(request).search_products(search)
        return _json({"q": search.text, "category": search.category, "page": search.page, "size": search.size,
                      "total": page.total, "next_page": search.page + 1 if page.has_next else None,
                      "items": [p.model_dump(mode="json") for p in page.items]})

    # -- pages -------------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, responses=page_responses(400, 503))
    def home(request: Request) -> Response:
        query_params(request)
        categories = shop(request).categories()
        return _page("home.html", title="Shop", categories=categories)

    @app.get("/categories/{slug}", response_class=HTMLResponse, openapi_extra=query_parameters(ListingQuery),
             responses=page_responses(400, 404, 503))
    def category_page(slug: SlugPath, request: Request) -> Response:
        params = query_params(request)
        storefront = shop(request)
        listing = storefront.listing(slug, after=_cursor(params), limit=_limit(params))
        if listing is None:
            raise NotFound("category_not_found", "There is no such category.")
        return _page("category.html", title=listing.category.name, listing=listing,
                     categories=storefront.categories())

    @app.get("/products/{sku}", response_class=HTMLResponse, responses=page_responses(400, 404, 503))
    def product_page(sku: SkuPath, request: Request) -> Response:
        query_params(request)
        storefront = shop(request)
        product = storefront.product(sku)
        if product is None:
            raise NotFound("product_not_found", "There is no such product.")
        return _page("product.html", title=product.name, product=product,
                     together=storefront.bought_together(sku), categories=storefront.categories())

    @app.get("/search", response_class=HTMLResponse, openapi_extra=query_parameters(SearchQuery),
             responses=page_responses(400, 503))
    def search_page(request: Request) -> Response:
        params = query_params(request)
        storefront = shop(request)
        search = _search_request(params)
        page = storefront.search_products(search)
        return _page("search.html", title=f"Search: {search.text}", search=search, page=page,
                     categories=storefront.categories())

    @app.get("/cart", response_class=HTMLResponse, responses=page_responses(400, 503))
    def cart_page(request: Request) -> Response:
        query_params(request)
        storefront = shop(request)
        view: CartView = cart_view(request.app.state.runtime, storefront, request.cookies)
        return _page("cart.html", cache=PRIVATE, title="Your cart", cart=view,
                     categories=storefront.categories())

    return app


app = create_app()
