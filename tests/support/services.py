"""The services that the hostile-input property tests, the schema fuzzing and the service log
redaction test run against.

Adding a service is one entry in SERVICES: its name, the module whose `create_app(runtime_factory,
...)` builds its ASGI app, the fixture (tests/support/app_clients.py) that holds its dependencies (its
runtime), any further fixtures it needs, the further arguments of its `create_app`, and how a caller
signs in to it (None when it has no sign-in).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Parts:
    """What a service runs with in a test: its runtime and the further fixtures it named."""
    runtime: Any
    fixtures: Mapping[str, Any] = field(default_factory=dict)


SignIn = Callable[[Parts, str], dict[str, str]]  # (parts, customer id) -> headers of a signed-in caller
AppArguments = Callable[[Parts], dict[str, Any]]  # parts -> create_app's further keyword arguments


def bearer_session(parts: Parts, customer_id: str) -> dict[str, str]:
    """The order API's sign-in: a session token as a bearer token."""
    return {"Authorization": f"Bearer {parts.runtime.sessions.create(customer_id)}"}


def session_cookie(parts: Parts, customer_id: str) -> dict[str, str]:
    """The storefront's sign-in: the same session, in the cookie the account pages set."""
    from shop.userstate import SESSION_COOKIE

    return {"Cookie": f"{SESSION_COOKIE}={parts.runtime.sessions.create(customer_id)}"}


ALB_TOKEN_SECONDS = 3600  # outlives any one test, however loaded the machine


def alb_editor(parts: Parts, _customer_id: str) -> dict[str, str]:
    """The admin's sign-in: a token the ALB signed (tests/support/alb_standin.py) for an editor."""
    from shop.admin.identity import OIDC_DATA_HEADER

    return {OIDC_DATA_HEADER: parts.fixtures["alb"].token(exp=int(time.time()) + ALB_TOKEN_SECONDS)}


def alb_verifier(parts: Parts) -> dict[str, Any]:
    """The admin verifies tokens with the stand-in's key server instead of the Region's."""
    return {"verifier_factory": parts.fixtures["alb"].verifier}


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    runtime: str = "runtime"
    """The fixture that builds the service's runtime (its databases, stores and clients)."""
    needs: tuple[str, ...] = ()
    """Further fixtures the service's app arguments or sign-in use (in `Parts.fixtures`)."""
    app_arguments: AppArguments | None = None
    sign_in: SignIn | None = None

    def create_app(self, parts: Parts) -> Any:
        arguments = self.app_arguments(parts) if self.app_arguments else {}
        return importlib.import_module(self.module).create_app(lambda: parts.runtime, **arguments)

    def headers(self, parts: Parts, customer_id: str) -> dict[str, str]:
        """The headers of a signed-in caller (none for a service without sign-in)."""
        return self.sign_in(parts, customer_id) if self.sign_in else {}


SERVICES = [
    Service("order-api", "shop.order_service.app", sign_in=bearer_session),
    Service("storefront", "shop.storefront.app", runtime="storefront_runtime", sign_in=session_cookie),
    Service("admin", "shop.admin.app", needs=("alb",), app_arguments=alb_verifier, sign_in=alb_editor),
]
