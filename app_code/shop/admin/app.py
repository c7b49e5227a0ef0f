"""The admin service: `uvicorn shop.admin.app:app` in the admin ECS service, behind /admin/*.

Staff sign in at the ALB (its listener rule for /admin/* has an authenticate-oidc action); every
request but the health check must carry the ALB-signed `x-amzn-oidc-data` token, verified by
shop.admin.identity (401 otherwise). Roles come from the token's groups claim: a viewer reads, an
editor also changes (403 otherwise).

  GET  /admin/health                        liveness for the load balancer (no token)
  GET  /admin/api/me                        who you are and your roles
  GET  /admin/api/products?after=&limit=    products by SKU
  GET  /admin/api/products/{sku}            one product, with the `version` to send back
  PUT  /admin/api/products/{sku}            create (version 0) or change it; 409 if the version is stale
  GET  /admin/api/products/{sku}/audit      who changed what, when, before and after
  GET  /admin/api/categories                the categories
  PUT  /admin/api/categories/{slug}         create or rename one
  POST /admin/api/imports[?dry_run=true]    a CSV file (text/csv): all rows or none (422 lists each problem)
  GET  /admin/import, POST /admin/import    the same import as an HTML form, for a browser

Every answer but the import form's pages is JSON; errors are `{"error", "message"}` (shop.api_schema,
which also declares the OpenAPI document the schema fuzzing holds the service to).
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException

from shop import json_errors, multipart
from shop.accounts import csrf
from shop.admin.catalog import MAX_PAGE, Catalog, ProductEdit, StaleVersion, UnknownCategory, UnknownProduct
from shop.admin.identity import (
    OIDC_DATA_HEADER,
    AlbTokenVerifier,
    InvalidToken,
    Role,
    RoleMapping,
    Staff,
    region_keys_url,
)
from shop.admin.importer import MAX_BYTES, Importer, ImportRejected, ImportResult, as_dict
from shop.api_schema import WholeNumber, error_responses, json_body, page_responses, text_body
from shop.catalog import Category
from shop.events import (
    MAX_NUMBER,
    SKU_PATTERN,
    CategoryName,
    CategorySlug,
    Currency,
    Price,
    ProductDescription,
    ProductName,
    ProductSnapshot,
    Sku,
    Stock,
)
from shop.json_errors import ApiError
from shop.logs import install_redaction
from shop.runtime import Runtime
from shop.settings import Settings
from shop.web_guard import GUARD_RESPONSES, GuardRequests, without_input

SETTINGS = Settings.from_env()
logger = Logger(service="admin")
install_redaction()

IMPORT_PAGE = "/admin/import"


def verifier_from(settings: Settings) -> AlbTokenVerifier:
    return AlbTokenVerifier(
        alb_arn=settings.require("alb_arn"), client_id=settings.require("oidc_client_id"),
        issuer=settings.require("oidc_issuer"),
        keys_url=settings.alb_public_keys_url or region_keys_url(settings.require("region")),
        roles=RoleMapping(claim=settings.require("admin_roles_claim"),
                          editor_group=settings.require("admin_editor_group"),
                          viewer_group=settings.require("admin_viewer_group")))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ProductIn(_Body):
    name: ProductName
    description: ProductDescription = ""
    category: CategorySlug | None = None
    price_cents: Annotated[Price, WholeNumber]
    currency: Currency
    stock: Annotated[Stock, WholeNumber]
    active: bool
    version: Annotated[int, WholeNumber] = Field(ge=0, le=MAX_NUMBER,
                                                 description="The version you read; 0 creates a new product.")


class CategoryIn(_Body):
    name: CategoryName


# What the routes answer, for the OpenAPI document.
class MeOut(BaseModel):
    subject: str
    email: str
    roles: list[str]


class ProductsOut(BaseModel):
    products: list[ProductSnapshot]
    next_after: str | None = Field(description="Pass as `after` for the next page; null on the last.")


class AuditEntryOut(BaseModel):
    version: int
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    changed_at: str


class AuditOut(BaseModel):
    sku: str
    changes: list[AuditEntryOut]


class CategoriesOut(BaseModel):
    categories: list[Category]


class CategorySavedOut(BaseModel):
    slug: str
    name: str
    changed: bool


class ImportOut(BaseModel):
    import_id: str | None = Field(description="null for a dry run")
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool


CSV_FILE = {"type": "string", "description": "A catalog file: UTF-8 CSV with a header line (docs/admin.md)"}
IMPORT_FORM = {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "additionalProperties": False,
    "properties": {csrf.CSRF_FIELD: {"type": "string", "description": "The form's token (and its cookie)"},
                   "file": {"type": "string", "format": "binary"}}}}}
# The token is checked by `staff` (auto_error=False leaves every answer to it); declared here so the
# OpenAPI document says which routes need it.
STAFF_TOKEN = [Security(APIKeyHeader(name=OIDC_DATA_HEADER, auto_error=False))]


def _product(product: ProductSnapshot) -> dict[str, Any]:
    return product.model_dump(mode="json")


def staff(request: Request) -> Staff:
    """The caller, from the ALB-signed token; 401 for anyone else."""
    try:
        who: Staff = request.app.state.verifier.verify(request.headers.get(OIDC_DATA_HEADER))
        return who
    except InvalidToken as error:
        logger.warning("admin request refused", reason=str(error), path=request.url.path)
        raise ApiError(401, "unauthenticated", "sign in through the shop's admin address") from error


def viewer(who: Annotated[Staff, Depends(staff)]) -> Staff:
    if not who.can(Role.VIEWER):
        raise ApiError(403, "forbidden", "your account has no admin role: ask for the viewer or "
                                         "editor group")
    return who


def editor(who: Annotated[Staff, Depends(staff)]) -> Staff:
    if not who.can(Role.EDITOR):
        raise ApiError(403, "forbidden", "changing the catalog needs the editor role")
    return who


Anyone = Annotated[Staff, Depends(staff)]
Viewer = Annotated[Staff, Depends(viewer)]
Editor = Annotated[Staff, Depends(editor)]


def create_app(runtime_factory: Callable[[], Runtime] | None = None,
               verifier_factory: Callable[[], AlbTokenVerifier] | None = None) -> FastAPI:
    """The ASGI app; tests pass their own runtime and verifier factories."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory() if runtime_factory else Runtime(SETTINGS)
        app.state.verifier = verifier_factory() if verifier_factory else verifier_from(SETTINGS)
        runtime.db.open()
        app.state.runtime = runtime
        app.state.catalog = Catalog(runtime.db)
        app.state.importer = Importer(runtime.db)
        try:
            yield
        finally:
            runtime.close()

    app = FastAPI(title="admin", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None,
                  responses=GUARD_RESPONSES)
    app.add_middleware(GuardRequests, max_body_bytes=MAX_BYTES + 64 * 1024)

    def catalog(request: Request) -> Catalog:
        service: Catalog = request.app.state.catalog
        return service

    def parse(raw: bytes, model: type[_Body]) -> Any:
        try:
            return model.model_validate_json(raw or b"null")
        except ValidationError as error:
            raise ApiError(422, "invalid_request", "the request failed validation",
                           details=without_input(list(error.errors()))) from error

    def import_result(request: Request, data: bytes, who: Staff, *, source: str,
                      dry_run: bool) -> ImportResult:
        result: ImportResult = request.app.state.importer.run(data, actor=who.actor, source=source,
                                                              dry_run=dry_run)
        logger.info("catalog import", actor=who.actor, dry_run=dry_run, result=as_dict(result))
        return result

    json_errors.install(app, logger)

    @app.exception_handler(HTTPException)
    async def no_route(_: Request, error: HTTPException) -> JSONResponse:
        """An unknown path or method: the service's own error body, not the framework's."""
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse({"error": code, "message": str(error.detail)}, status_code=error.status_code,
                            headers=error.headers)

    @app.get("/admin/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/admin/api/me", response_model=MeOut, dependencies=STAFF_TOKEN, responses=error_responses(401))
    def me(who: Anyone) -> dict[str, Any]:
        return {"subject": who.subject, "email": who.email, "roles": sorted(who.roles)}

    @app.get("/admin/api/products", response_model=ProductsOut, dependencies=STAFF_TOKEN,
             responses=error_responses(401, 403, 422, 503))
    def products(request: Request, _: Viewer,
                 after: Annotated[str, Query(pattern="^$|" + SKU_PATTERN,
                                             description="The last SKU of the previous page")] = "",
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50) -> dict[str, Any]:
        page = catalog(request).page(after=after, limit=limit)
        return {"products": [_product(p) for p in page], "next_after": page[-1].sku if page else None}

    @app.get("/admin/api/products/{sku}", response_model=ProductSnapshot, dependencies=STAFF_TOKEN,
             responses=error_responses(401, 403, 404, 422, 503))
    def product(sku: Sku, request: Request, _: Viewer) -> dict[str, Any]:
        found = catalog(request).get(sku)
        if found is None:
            raise ApiError(404, "product_not_found", f"no product {sku}")
        return _product(found)

    @app.put("/admin/api/products/{sku}", dependencies=STAFF_TOKEN, openapi_extra=json_body(ProductIn),
             responses={200: {"model": ProductSnapshot, "description": "Saved (or unchanged)"},
                        201: {"model": ProductSnapshot, "description": "Created"},
                        **error_responses(401, 403, 404, 409, 422, 503)})
    async def save_product(sku: Sku, request: Request, who: Editor) -> JSONResponse:
        body: ProductIn = parse(await request.body(), ProductIn)
        edit = ProductEdit(sku=sku, name=body.name, description=body.description, category=body.category,
                           price_cents=body.price_cents, currency=body.currency, stock=body.stock,
                           active=body.active)
        try:
            saved, changed = catalog(request).save(edit, expected_version=body.version, actor=who.actor)
        except StaleVersion as stale:
            raise ApiError(409, "stale_version",
                           "the product changed since you read it: reload, reapply your edit, save again",
                           current_version=stale.current) from stale
        except UnknownProduct as error:
            raise ApiError(404, "product_not_found",
                           f"no product {sku}: send version 0 to create it") from error
        except UnknownCategory as error:  # valid, but the catalog lacks it: a conflict with its state
            raise ApiError(409, "unknown_category",
                           f"no category {body.category}: create it first") from error
        status = 201 if changed and body.version == 0 else 200
        return JSONResponse(_product(saved), status_code=status)

    @app.get("/admin/api/products/{sku}/audit", response_model=AuditOut, dependencies=STAFF_TOKEN,
             responses=error_responses(401, 403, 422, 503))
    def audit(sku: Sku, request: Request, _: Viewer) -> dict[str, Any]:
        rows = catalog(request).audit(sku)
        return {"sku": sku, "changes": [{**row, "changed_at": row["changed_at"].isoformat()} for row in rows]}

    @app.get("/admin/api/categories", response_model=CategoriesOut, dependencies=STAFF_TOKEN,
             responses=error_responses(401, 403, 503))
    def categories(request: Request, _: Viewer) -> dict[str, Any]:
        return {"categories": catalog(request).categories()}

    @app.put("/admin/api/categories/{slug}", response_model=CategorySavedOut, dependencies=STAFF_TOKEN,
             openapi_extra=json_body(CategoryIn), responses=error_responses(401, 403, 422, 503))
    async def save_category(slug: CategorySlug, request: Request, who: Editor) -> dict[str, Any]:
        body: CategoryIn = parse(await request.body(), CategoryIn)
        changed = catalog(request).save_category(slug, body.name)
        logger.info("category saved", actor=who.actor, slug=slug, changed=changed)
        return {"slug": slug, "name": body.name, "changed": changed}

    @app.post("/admin/api/imports", dependencies=STAFF_TOKEN, openapi_extra=text_body("text/csv", CSV_FILE),
              responses={200: {"model": ImportOut, "description": "A dry run: what the file would do"},
                         201: {"model": ImportOut, "description": "Imported"},
                         **error_responses(401, 403, 422, 503)})
    async def import_csv(request: Request, who: Editor, dry_run: bool = False) -> JSONResponse:
        try:
            result = import_result(request, await request.body(), who, source="api", dry_run=dry_run)
        except ImportRejected as rejected:
            return JSONResponse({"error": "import_rejected", "message": "nothing was imported: fix every "
                                 "problem listed and send the whole file again",
                                 "errors": [{"line": e.line, "column": e.column, "message": e.message}
                                            for e in rejected.errors]}, status_code=422)
        return JSONResponse({**as_dict(result), "dry_run": dry_run}, status_code=200 if dry_run else 201)

    # -- the same import for a browser: an HTML form ---------------------------------------------
    @app.get(IMPORT_PAGE, response_class=HTMLResponse, dependencies=STAFF_TOKEN,
             responses=page_responses(json=(401, 403)))
    def import_page(request: Request, who: Editor) -> HTMLResponse:
        return _import_page(request, who, "")

    @app.post(IMPORT_PAGE, response_class=HTMLResponse, dependencies=STAFF_TOKEN,
              openapi_extra={"requestBody": {"required": True, "content": IMPORT_FORM}},
              responses=page_responses(403, 422, json=(401, 403, 503)))
    async def import_form(request: Request, who: Editor) -> Response:
        fields = multipart.form_fields(request.headers.get("content-type", ""), await request.body())
        if not csrf.is_valid(request, (fields.get(csrf.CSRF_FIELD) or b"").decode("ascii", "replace")):
            return _import_page(request, who, "<p role=alert>The form expired: submit it again.</p>",
                                status=403)
        try:
            result = import_result(request, fields.get("file") or b"", who, source="api", dry_run=False)
        except ImportRejected as rejected:
            items = "".join(f"<li>{html.escape(str(e))}</li>" for e in rejected.errors)
            return _import_page(request, who, f"<p role=alert>Nothing was imported:</p><ul>{items}</ul>",
                                status=422)
        return _import_page(request, who, f"<p>Imported {result.rows} row(s): {result.created} created, "
                                          f"{result.updated} updated, {result.unchanged} unchanged.</p>")

    return app


def _import_page(request: Request, who: Staff, message: str, *, status: int = 200) -> HTMLResponse:
    token = csrf.token_for(request)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Import the catalog</title></head>
<body><main><h1>Import the catalog</h1><p>Signed in as {html.escape(who.actor)}.</p>{message}
<form method="post" action="{IMPORT_PAGE}" enctype="multipart/form-data">
<input type="hidden" name="{csrf.CSRF_FIELD}" value="{html.escape(token)}">
<label>CSV file <input type="file" name="file" accept=".csv,text/csv" required></label>
<button type="submit">Import</button></form></main></body></html>"""
    response = HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})
    csrf.set_cookie(response, token)
    return response



app = create_app()
