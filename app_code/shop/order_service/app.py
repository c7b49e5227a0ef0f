"""The order API's ASGI app (bootstrap version): `uvicorn shop.order_service.app:app`."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="order-api")


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
