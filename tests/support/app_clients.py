"""A pytest plugin (tests/conftest.py loads it): the shop's runtime against the stores of
app_stores.py, and what drives it: the order service's API and two signed-in shoppers, the SQS
event source of a consumer (`drain`), each service of tests/support/services.py under uvicorn
(`service`), the storefront, and the admin behind the ALB stand-in's sign-in."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tests.support.alb_standin import AlbStandIn
from tests.support.app_env import ALICE, BOB, REGION
from tests.support.app_stores import Aws, Catalog, Db, aws_clients
from tests.support.services import SERVICES, Parts, Service
from tests.support.stripe_standin import StripeStandIn

# --- the shop's runtime, the API and the handlers ------------------------------------------------


@pytest.fixture
def runtime(db: Db, aws: Aws, stripe_api: StripeStandIn) -> Iterator[Any]:
    """The order service's dependencies against the real server, moto and the stand-in.

    The payment timeout is short (1 s) so that "timeout after charging" resolves quickly, yet long
    enough for a loaded machine to answer ordinary calls to the local stand-in.
    """
    from shop.runtime import Runtime
    from shop.settings import Settings

    settings = replace(Settings.from_env(), stripe_api_base=stripe_api.url, payment_timeout_seconds=1.0,
                       stripe_secret_arn=aws.stripe_secret_arn, db_pool_max_size=40)
    runtime = Runtime(settings, aws=aws_clients())
    yield runtime
    runtime.close()


@pytest.fixture
def api(runtime: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from shop.order_service.app import create_app

    with TestClient(create_app(lambda: runtime), raise_server_exceptions=False) as client:
        yield client


@dataclass
class FakeLambdaContext:
    function_name: str = "shop-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:shop-test"
    aws_request_id: str = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": REGION} for m in messages]}


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def drain(aws: Aws, lambda_context: FakeLambdaContext) -> Callable[..., list[dict[str, Any]]]:
    """Play the Lambda event source mapping for one queue until it is empty.

    Each poll receives up to batch_size messages, invokes the handler, and deletes every message not
    listed in batchItemFailures; failed ones are visible again at once, and SQS moves a message to the
    DLQ once it was received max-receive-count times. Returns the handler's responses.
    """

    def run(consumer: str, handler: Handler, *, batch_size: int = 10,
            max_polls: int = 20) -> list[dict[str, Any]]:
        sqs = aws.client("sqs")
        url = aws.queues[consumer]
        arn = aws.arn(url)
        responses: list[dict[str, Any]] = []
        for _ in range(max_polls):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=batch_size, VisibilityTimeout=0,
                                           AttributeNames=["All"]).get("Messages", [])
            if not messages:
                return responses
            try:
                response = handler(sqs_event(messages, arn), lambda_context)
            except Exception as error:  # an invocation error returns the whole batch to the queue
                response = {"error": repr(error),
                            "batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
            responses.append(response)
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError(f"{consumer} queue did not drain in {max_polls} polls")

    return run


# --- a signed-in customer driving the API ------------------------------------------------------


@dataclass
class Shopper:
    client: Any
    token: str
    customer_id: str
    shipping: dict[str, str] = field(default_factory=lambda: {"country": "DE", "postal_code": "10115"})

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def cart(self, items: dict[str, int]) -> str:
        response = self.client.post("/api/carts", headers=self.headers)
        assert response.status_code == 201, response.text
        cart_id = str(response.json()["cart_id"])
        for sku, quantity in items.items():
            put = self.client.put(f"/api/carts/{cart_id}/items/{sku}", json={"quantity": quantity},
                                  headers=self.headers)
            assert put.status_code == 200, put.text
        return cart_id

    def body(self, cart_id: str, *, key: str | None = None,
             payment_method: str = "pm_card_visa") -> dict[str, Any]:
        return {"cart_id": cart_id, "payment_method": payment_method,
                "idempotency_key": key or f"key-{uuid.uuid4()}", "shipping": self.shipping}

    def checkout(self, cart_id: str, *, key: str | None = None, payment_method: str = "pm_card_visa") -> Any:
        body = self.body(cart_id, key=key, payment_method=payment_method)
        return self.client.post("/api/checkout", json=body, headers=self.headers)


def bearer(token: str) -> dict[str, str]:
    """The header of a caller holding a session token."""
    return {"Authorization": f"Bearer {token}"}


SIGN_IN_LINK = re.compile(r"https://shop\.example\.com/account/sign-in/confirm#token=([A-Za-z0-9_-]+)")


def link_tokens(aws: Aws, to: str) -> list[str]:
    """The sign-in link tokens mailed to `to`, oldest first (moto keeps what SES sent)."""
    tokens = []
    for mail in aws.sent_emails():
        found = SIGN_IN_LINK.search(mail.body)
        if mail.destinations["ToAddresses"] == [to] and found:
            tokens.append(found.group(1))
    return tokens


@pytest.fixture
def alice(api: Any, runtime: Any) -> Shopper:
    return Shopper(api, runtime.sessions.create(ALICE), ALICE)


@pytest.fixture
def bob(api: Any, runtime: Any) -> Shopper:
    return Shopper(api, runtime.sessions.create(BOB), BOB)


# --- the order service served over HTTP by uvicorn --------------------------------------------


@dataclass
class Served:
    url: str
    runtime: Any
    app: Any = None

    def session(self, customer_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.runtime.sessions.create(customer_id)}"}


@contextlib.contextmanager
def serve(app: Any, runtime: Any) -> Iterator[Served]:
    """The app under uvicorn on an ephemeral port, as an ECS service runs it (access log on).

    The listening socket is bound before the server thread starts, so clients can connect at once
    (their connections wait in the backlog until uvicorn accepts them).
    """
    import socket
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=True,
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{sock.getsockname()[1]}", runtime, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def served(runtime: Any) -> Iterator[Served]:
    """The order service under uvicorn."""
    from shop.order_service.app import create_app

    with serve(create_app(lambda: runtime), runtime) as server:
        yield server


@dataclass
class ServiceUnderTest:
    """One service of tests/support/services.py, running under uvicorn with the parts it needs."""
    spec: Service
    served: Served
    parts: Parts

    @property
    def name(self) -> str:
        return self.spec.name

    def signed_in(self, customer_id: str) -> dict[str, str]:
        """The headers of a caller signed in as this customer (or as staff, on the admin)."""
        return self.spec.headers(self.parts, customer_id)


@pytest.fixture(params=SERVICES, ids=lambda service: service.name)
def service(request: pytest.FixtureRequest) -> Iterator[ServiceUnderTest]:
    """Each service of tests/support/services.py under uvicorn, started (lifespan run) before the test,
    with the runtime fixture and the further fixtures its entry names."""
    import httpx

    spec: Service = request.param
    parts = Parts(request.getfixturevalue(spec.runtime),
                  {name: request.getfixturevalue(name) for name in spec.needs})
    with serve(spec.create_app(parts), parts.runtime) as server:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            client.get("/")  # the server has run the app's startup once it answers
        yield ServiceUnderTest(spec, server, parts)


@pytest.fixture
def storefront_runtime(catalog: Catalog, aws: Aws, cache_admin: Any) -> Iterator[Any]:
    """The storefront's dependencies as the stack configures them: the real cache client (TLS, the
    IAM token as the password), the search client (SigV4), the database, DynamoDB (moto)."""
    from shop.runtime import Runtime
    from shop.settings import Settings

    runtime = Runtime(Settings.from_env(), aws=aws_clients())
    yield runtime
    runtime.close()


@pytest.fixture
def storefront(storefront_runtime: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from shop.storefront.app import create_app

    with TestClient(create_app(lambda: storefront_runtime), raise_server_exceptions=False) as client:
        yield client


# --- staff sign-in at the load balancer (the admin service) -------------------------------------


@pytest.fixture(scope="session")
def alb_server() -> Iterator[AlbStandIn]:
    stand_in = AlbStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def alb(alb_server: AlbStandIn) -> AlbStandIn:
    """The ALB stand-in's key server, its request log emptied."""
    alb_server.key_requests.clear()
    return alb_server


@pytest.fixture
def admin(runtime: Any, alb: AlbStandIn) -> Iterator[Any]:
    """The admin app as ECS runs it, with a verifier that fetches keys from the stand-in."""
    from fastapi.testclient import TestClient

    from shop.admin.app import create_app

    with TestClient(create_app(lambda: runtime, alb.verifier), raise_server_exceptions=True) as client:
        yield client


def as_staff(token: str) -> dict[str, str]:
    """The header the ALB adds for a signed-in member of staff."""
    return {"x-amzn-oidc-data": token}
