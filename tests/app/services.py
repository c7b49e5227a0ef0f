"""The services that the hostile-input property tests and the schema fuzzing run against.

Adding a service is one line in SERVICES: its name, the module whose `create_app(runtime_factory)`
builds its ASGI app, and the headers of a signed-in caller (None when it has no sign-in).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Auth = Callable[[Any, str], dict[str, str]]  # (runtime, customer id) -> headers


def bearer_session(runtime: Any, customer_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.sessions.create(customer_id)}"}


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    auth: Auth | None = None

    def create_app(self, runtime: Any) -> Any:
        return importlib.import_module(self.module).create_app(lambda: runtime)


SERVICES = [
    Service("order-api", "shop.order_service.app", auth=bearer_session),
]
