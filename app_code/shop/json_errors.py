"""The JSON error answers the two JSON APIs share (the order service's and the admin's).

`ApiError` is raised by a route for an answer it decides itself; `install` registers that handler
and the ones for a database that cannot be reached (503 with Retry-After) and a body that fails
validation (422, the reasons without the submitted values). Each body is `{"error", "message", ...}`.
"""

from __future__ import annotations

from typing import Any

import psycopg
from aws_lambda_powertools import Logger
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from shop.web_guard import without_input


class ApiError(Exception):
    """An answer a route decides: its status, error code, message and any further fields."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def install(app: FastAPI, logger: Logger) -> None:
    """Answer ApiError, an unreachable database and a failed validation as JSON, on `app`."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse({"error": error.code, "message": error.message, **error.extra},
                            status_code=error.status)

    @app.exception_handler(psycopg.OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(_: Request, error: Exception) -> JSONResponse:
        logger.warning("database unavailable", error=type(error).__name__)
        return JSONResponse({"error": "service_unavailable", "message": "try again shortly"},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "message": "the request failed validation",
                             "details": without_input(list(error.errors()))}, status_code=422)
