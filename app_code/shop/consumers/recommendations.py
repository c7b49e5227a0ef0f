"""The recommendations consumer of order.placed (bootstrap version)."""

from __future__ import annotations

from typing import Any

from shop.consumers._batch import make_handler


def _effect(envelope: dict[str, Any]) -> None:
    if envelope.get("detail-type") is None:
        raise ValueError("not an EventBridge envelope")


handler = make_handler("recommendations", _effect)
