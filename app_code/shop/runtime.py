"""The process-wide dependencies a handler or the service uses, built lazily from Settings.

Nothing connects at import: a Lambda's cold start reads the environment, the first invocation opens
the connection and the AWS clients, and later invocations reuse them.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import boto3

from shop.db import Database
from shop.settings import Settings
from shop.userstate import CartStore, SessionStore

if TYPE_CHECKING:  # imported where used, so a consumer's cold start never loads the payment client
    from opensearchpy import OpenSearch

    from shop.accounts.service import AccountService
    from shop.cache import ReadCache
    from shop.checkout import CheckoutService
    from shop.outbox import AfterCommitPublisher, OutboxRelay
    from shop.payments import PaymentGateway


AwsService = Literal["dynamodb", "events", "secretsmanager", "ses", "sqs"]
"""The services reached through AwsClients: the shop's, and SQS, which its tests set up queues on."""


class AwsClients:
    """One boto3 client (or resource) per service, created on first use and then reused."""

    def __init__(self, region: str = "") -> None:
        self._region = region or None
        self._clients: dict[str, Any] = {}
        self._resources: dict[str, Any] = {}

    def client(self, service: AwsService) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self._region)
        return self._clients[service]

    def resource(self, service: Literal["dynamodb"]) -> Any:
        if service not in self._resources:
            self._resources[service] = boto3.resource(service, region_name=self._region)
        return self._resources[service]


class Runtime:
    def __init__(self, settings: Settings, *, db_max_size: int | None = None,
                 aws: AwsClients | None = None) -> None:
        self.settings = settings
        self.aws = aws or AwsClients(settings.region)
        self._db_max_size = db_max_size

    def _client(self, service: AwsService) -> Any:
        return self.aws.client(service)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings, max_size=self._db_max_size)

    @cached_property
    def events(self) -> Any:
        return self._client("events")

    @cached_property
    def ses(self) -> Any:
        return self._client("ses")

    @cached_property
    def dynamodb(self) -> Any:
        return self.aws.resource("dynamodb")

    @cached_property
    def carts(self) -> CartStore:
        return CartStore(self.dynamodb.Table(self.settings.require("carts_table")))

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.dynamodb.Table(self.settings.require("sessions_table")))

    @cached_property
    def accounts(self) -> AccountService:
        from shop.accounts.service import AccountService, LinkMailer

        mailer = LinkMailer(self.ses, from_address=self.settings.require("ses_from_address"),
                            configuration_set=self.settings.ses_configuration_set)
        return AccountService(self.db, self.sessions, self.carts, mailer,
                              base_url=self.settings.require("public_base_url"))

    @cached_property
    def gateway(self) -> PaymentGateway:
        from shop.payments import StripeGateway, stripe_api_key_from_secret

        api_key = stripe_api_key_from_secret(self.settings.require("stripe_secret_arn"),
                                             secretsmanager=self._client("secretsmanager"))
        return StripeGateway.create(api_key, api_base=self.settings.stripe_api_base,
                                    timeout_seconds=self.settings.payment_timeout_seconds)

    @cached_property
    def relay(self) -> OutboxRelay:
        from shop.outbox import OutboxRelay

        return OutboxRelay(self.db, self.events, self.settings.require("event_bus_name"))

    @cached_property
    def publisher(self) -> AfterCommitPublisher:
        """The order service's publishing right after a commit (one per process: it batches)."""
        from shop.outbox import AfterCommitPublisher

        return AfterCommitPublisher(self.relay)

    @cached_property
    def checkout(self) -> CheckoutService:
        from shop.checkout import CheckoutService

        return CheckoutService(self.db, self.carts, self.gateway)

    @cached_property
    def search(self) -> OpenSearch:
        """The search domain's client (SEARCH_ENDPOINT, SigV4)."""
        from shop.search.client import connect

        client = connect(self.settings)
        if client is None:
            self.settings.require("search_endpoint")
        assert client is not None
        return client

    @cached_property
    def read_cache(self) -> ReadCache:
        """Cache-aside over the product cache (CACHE_HOST); without one, reads go to the database."""
        from shop.cache import ReadCache, connect

        return ReadCache(connect(self.settings))

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
        if "search" in self.__dict__:
            self.search.close()
        if "read_cache" in self.__dict__:
            self.read_cache.close()
