"""Runtime settings, read once from the environment when a handler or the service starts.

Every name is documented in docs/checkout.md. Nothing here is a secret: the database password is
an IAM auth token minted per connection, and the payment provider's key is fetched from Secrets
Manager by ARN.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigurationError(RuntimeError):
    """A setting the code path needs is missing or malformed."""


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, kw_only=True)
class Settings:
    # PostgreSQL: DATABASE_URL wins (local runs, tests); otherwise host/port/db/user with IAM auth.
    database_url: str = ""
    db_host: str = ""
    db_port: int = 5432
    db_name: str = "shop"
    db_user: str = "shop_app"
    db_iam_auth: bool = True
    db_sslmode: str = "verify-full"
    db_sslrootcert: str = ""
    db_pool_max_size: int = 10
    region: str = ""
    # Events and per-user state.
    event_bus_name: str = ""
    idempotency_table: str = ""
    carts_table: str = ""
    sessions_table: str = ""
    # Email.
    ses_from_address: str = ""
    ses_configuration_set: str = ""
    # Payment provider.
    stripe_secret_arn: str = ""
    stripe_api_base: str = ""
    payment_timeout_seconds: float = 10.0
    # Accounts: sign-in links point at the shop's public address.
    public_base_url: str = ""
    # The admin service: the ALB that authenticates staff (OIDC) and signs their claims.
    alb_arn: str = ""
    alb_public_keys_url: str = ""
    """Where the ALB's signing keys are served; empty: the Region's public-key endpoint."""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    admin_roles_claim: str = ""
    admin_editor_group: str = ""
    admin_viewer_group: str = ""
    # The storefront's read path (docs/storefront.md): the product cache and the search domain.
    cache_host: str = ""
    cache_port: int = 6379
    cache_user: str = ""
    cache_name: str = ""
    """The replication group id: an ElastiCache IAM auth token is signed for it."""
    cache_tls: bool = True
    cache_ca_file: str = ""
    search_endpoint: str = ""
    """Host name (or https://host:port URL) of the OpenSearch domain; requests are SigV4-signed."""
    search_sigv4: bool = True
    # Behaviour.
    relay_after_commit: bool = True
    abandoned_cart_after_hours: int = 24
    stranded_checkout_after_seconds: int = 120

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def number(name: str, default: float) -> float:
            raw = env.get(name, "")
            try:
                return float(raw) if raw else default
            except ValueError as error:
                raise ConfigurationError(f"{name}={raw!r} is not a number") from error

        return cls(
            database_url=env.get("DATABASE_URL", ""),
            db_host=env.get("PGHOST", ""),
            db_port=int(number("PGPORT", 5432)),
            db_name=env.get("PGDATABASE", "shop"),
            db_user=env.get("PGUSER", "shop_app"),
            db_iam_auth=_flag(env.get("DB_IAM_AUTH", "true")),
            db_sslmode=env.get("PGSSLMODE", "verify-full"),
            db_sslrootcert=env.get("PGSSLROOTCERT", ""),
            db_pool_max_size=int(number("DB_POOL_MAX_SIZE", 10)),
            region=env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", "")),
            event_bus_name=env.get("EVENT_BUS_NAME", ""),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
            carts_table=env.get("CARTS_TABLE", ""),
            sessions_table=env.get("SESSIONS_TABLE", ""),
            ses_from_address=env.get("SES_FROM_ADDRESS", ""),
            ses_configuration_set=env.get("SES_CONFIGURATION_SET", ""),
            stripe_secret_arn=env.get("STRIPE_SECRET_ARN", ""),
            stripe_api_base=env.get("STRIPE_API_BASE", ""),
            payment_timeout_seconds=number("PAYMENT_TIMEOUT_SECONDS", 10.0),
            public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/"),
            alb_arn=env.get("ALB_ARN", ""),
            alb_public_keys_url=env.get("ALB_PUBLIC_KEYS_URL", "").rstrip("/"),
            oidc_issuer=env.get("OIDC_ISSUER", ""),
            oidc_client_id=env.get("OIDC_CLIENT_ID", ""),
            admin_roles_claim=env.get("ADMIN_ROLES_CLAIM", ""),
            admin_editor_group=env.get("ADMIN_EDITOR_GROUP", ""),
            admin_viewer_group=env.get("ADMIN_VIEWER_GROUP", ""),
            cache_host=env.get("CACHE_HOST", ""),
            cache_port=int(number("CACHE_PORT", 6379)),
            cache_user=env.get("CACHE_USER", ""),
            cache_name=env.get("CACHE_NAME", ""),
            cache_tls=_flag(env.get("CACHE_TLS", "true")),
            cache_ca_file=env.get("CACHE_CA_FILE", ""),
            search_endpoint=env.get("SEARCH_ENDPOINT", ""),
            search_sigv4=_flag(env.get("SEARCH_SIGV4", "true")),
            relay_after_commit=_flag(env.get("RELAY_AFTER_COMMIT", "true")),
            abandoned_cart_after_hours=int(number("ABANDONED_CART_AFTER_HOURS", 24)),
            stranded_checkout_after_seconds=int(number("STRANDED_CHECKOUT_AFTER_SECONDS", 120)),
        )

    def require(self, field: str) -> str:
        """The value of a string setting this code path cannot run without."""
        value = getattr(self, field)
        if not value:
            raise ConfigurationError(f"{field.upper()} is not set: see docs/checkout.md")
        return str(value)
