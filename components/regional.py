"""One Region of the shop: its keys, network, data stores, event flow and web tier.

`build_region` composes the tiers for one Region from the stack's typed config, the same way for
the primary Region and, when multiRegion is on, the secondary Region (docs/multi-region.md). The
edge (CloudFront and WAF) is global and built once by `components.stack`; it hands every Region's
ALB the secret origin header (`OriginAccess`).

What differs in the secondary Region, and why:
- the Aurora cluster is the global database's SECONDARY (readers only, writes forwarded);
- carts are the primary's global table (a replica); sessions and idempotency records are its own;
- no cache (nor its cache-invalidator consumer): the case study's second Region has none, and
  its readers are in-Region;
- SES sends from the same domain with a MAIL FROM domain of its own (`mail-<region>`), whose MX
  record names that Region's feedback endpoint;
- the ALB uses `secondaryOriginCertificateArn`, a certificate of that Region.

The schema migrations run once, in the writer Region, before that Region's database clients
(components/migrations.py); every client gets its database endpoint through the migrations' gate,
so the ordering holds for whatever uses the database. The secondary Region's clients wait for the
primary's migrations while the primary writes; after a failover (`databaseWriterRegion` is the
secondary) the migrator runs in the secondary and the primary's clients, built first, are not
ordered after it (they read through write forwarding, and DDL is the writer's).

What follows the database's writer (`databaseWriterRegion`: the primary Region, unless a global
failover or switchover moved it): in the writer Region the app connects to the cluster endpoint,
the functions to the proxy's default endpoint, and the scheduled jobs run; in the other Region the
app uses the reader endpoint and the functions the proxy's read-only endpoint (their writes are
forwarded), and the jobs exist but are disabled, since they write to the one writer database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_aws as aws

from components.alerting import AlarmTopic, AlarmTopicArgs
from components.cache import ProductCache, ProductCacheArgs
from components.config import ADMIN_SERVICE, ConfigError, StackConfig
from components.consumers import QueueConsumer, QueueConsumerArgs
from components.data_clients import DataClients, DataClientsArgs
from components.data_common import Protection, ReplicaRegion, arn_in_region
from components.database import (
    GlobalMembership,
    GlobalRole,
    RelationalDatabase,
    RelationalDatabaseArgs,
)
from components.defaults import ACCOUNT_PAGE_PATHS, ApmSettings
from components.dns import ValidatedCertificate, ValidatedCertificateArgs
from components.email import Email, EmailArgs
from components.events import EventBus, EventBusArgs, Publisher
from components.images import ImageSettings
from components.keys import EncryptionKeys, EncryptionKeysArgs
from components.lambda_code import (
    SEARCH_READ_ACTIONS,
    SEARCH_WRITE_ACTIONS,
    Access,
    CacheRef,
    CodeBundle,
    DatabaseAccess,
    FunctionBase,
    FunctionBaseArgs,
    FunctionSettings,
    TableRef,
    cache_access,
    database_access,
    database_user,
    payment_secret_access,
    powertools_layer_arn,
    search_access,
    table_access,
)
from components.migrations import SchemaMigrations, SchemaMigrationsArgs
from components.network import Network, NetworkArgs, SubnetRole
from components.providers import Tier, TierProviders
from components.schedules import ScheduledJobs, ScheduledJobsArgs
from components.search import SearchDomain, SearchDomainArgs
from components.user_state import GlobalTables, UserStateTables, UserStateTablesArgs
from components.web import DedicatedRoute, OidcAuthentication, WebServices, WebServicesArgs

CACHE_CONSUMERS = frozenset({"cache-invalidator"})
"""Consumers that keep the product cache current: built only in a Region that has the cache."""
DATABASE_FREE_CONSUMERS = frozenset({"search-indexer", "cache-invalidator"})
"""Consumers whose events carry all they need: no database user, no database access."""
SEARCH_WRITERS = frozenset({"search-indexer", "recommendations"})
"""Consumers that write search documents."""


class RegionRole(StrEnum):
    PRIMARY = "primary"  # the writer Region: every stack has one
    SECONDARY = "secondary"  # the triggered second Region (multiRegion)


@dataclass(frozen=True, kw_only=True)
class RegionContext:
    """Where a regional stack is built, and what every tier of it shares."""

    cfg: StackConfig
    region: str
    providers: TierProviders
    account_id: str
    role: RegionRole = RegionRole.PRIMARY
    parent: pulumi.Resource | None = None
    """The secondary Region's components sit under its `SecondaryRegion` (their own URNs)."""

    def provider(self, tier: Tier) -> aws.Provider:
        return self.providers.get(tier, self.region)

    def opts(self, tier: Tier) -> pulumi.ResourceOptions:
        """Options for a component of `tier` in this Region: its children inherit the provider."""
        return pulumi.ResourceOptions.merge(self.providers.opts(tier, self.region),
                                            pulumi.ResourceOptions(parent=self.parent))


@dataclass(frozen=True, kw_only=True)
class GlobalData:
    """How a Region's stores take part in the multi-Region data; empty when single-Region."""

    replicas: Sequence[ReplicaRegion] = ()
    """PRIMARY: the other Regions (global database secondaries, global table replicas)."""
    membership: GlobalMembership | None = None
    """SECONDARY: the global database its cluster joins."""
    global_tables: GlobalTables | None = None
    """SECONDARY: the primary's global tables, replicated into this Region."""
    migrations: SchemaMigrations | None = None
    """SECONDARY: the writer Region's migrations, which this Region's database clients wait for."""


@dataclass(frozen=True, kw_only=True)
class OriginAccess:
    """The secret header CloudFront adds: every Region's ALB requires it."""

    header_name: str
    header_value: pulumi.Input[str]
    public_base_url: pulumi.Input[str]
    """https://<the shop's host name>: where sign-in links point (PUBLIC_BASE_URL)."""
    edge_certificate_arn: pulumi.Input[str] | None = None
    """CloudFront's certificate for the shop's host name (an ACM certificate in us-east-1)."""
    edge_certificate_region: str = "us-east-1"


@dataclass(frozen=True, kw_only=True)
class RegionalStack:
    """What one Region is made of (the components, for wiring and exports)."""

    region: str
    keys: EncryptionKeys
    alarms: AlarmTopic
    network: Network
    data_clients: DataClients
    database: RelationalDatabase
    user_state: UserStateTables
    cache: ProductCache | None
    """None in the secondary Region."""
    search: SearchDomain
    bus: EventBus
    email: Email
    consumers: dict[str, QueueConsumer]
    jobs: ScheduledJobs
    web: WebServices
    migrations: SchemaMigrations | None = None
    """The schema migrations this Region's database clients wait for (None: a secondary Region
    after a failover; see the module's docstring)."""

    @property
    def product_cache(self) -> ProductCache:
        """The cache, which only the primary Region has."""
        if self.cache is None:
            raise ValueError(f"{self.region} has no product cache (a secondary Region)")
        return self.cache


# Sign-in creates and ends sessions and points them at the shopper's cart (shop.userstate).
SESSION_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


def regional_keys(ctx: RegionContext) -> EncryptionKeys:
    """The Region's logs and messaging keys (built before the edge, which may reuse them)."""
    return EncryptionKeys("keys", EncryptionKeysArgs(account_id=ctx.account_id, region=ctx.region),
                          opts=ctx.opts(Tier.SECURITY))


def _origin_certificate(ctx: RegionContext) -> pulumi.Input[str]:
    """The ALB's certificate for the origin host name: an ACM certificate of its own Region, the
    configured one or, with the stack's zone, one the stack issues (the listener waits for it)."""
    edge = ctx.cfg.edge
    if ctx.role is RegionRole.PRIMARY:
        if edge.origin_certificate_arn:
            return edge.origin_certificate_arn
        if edge.hosted_zone_id is None:  # the config requires one or the other
            raise ValueError(f"{ctx.region}: no origin certificate and no hosted zone")
        return ValidatedCertificate("origin-certificate", ValidatedCertificateArgs(
            domain_name=edge.origin_domain_name, hosted_zone_id=edge.hosted_zone_id),
            opts=ctx.opts(Tier.EDGE)).certificate_arn
    certificate = ctx.cfg.multi_region.secondary_origin_certificate_arn
    if certificate is None:  # the config requires it with multiRegion
        raise ValueError(f"{ctx.region}: no origin certificate for the secondary Region")
    return certificate


def _shop_certificate_here(ctx: RegionContext, origin: OriginAccess) -> list[pulumi.Input[str]]:
    """A certificate for the shop's host name in this Region, for the ALB's listener: CloudFront's
    when it is in this Region (ACM certificates are regional), else, with the stack's zone, one the
    stack issues here."""
    edge = ctx.cfg.edge
    if origin.edge_certificate_arn is not None and origin.edge_certificate_region == ctx.region:
        return [origin.edge_certificate_arn]
    if edge.domain_name and edge.hosted_zone_id and ctx.role is RegionRole.PRIMARY:
        return [ValidatedCertificate("shop-certificate", ValidatedCertificateArgs(
            domain_name=edge.domain_name, hosted_zone_id=edge.hosted_zone_id),
            opts=ctx.opts(Tier.EDGE)).certificate_arn]
    return []


def _zones(ctx: RegionContext) -> tuple[str, ...]:
    cfg = ctx.cfg
    names = aws.get_availability_zones(
        state="available", opts=pulumi.InvokeOptions(provider=ctx.provider(Tier.NETWORK))).names
    if len(names) < cfg.network.az_count:
        raise ConfigError(f"Pulumi.{cfg.stack}.yaml: ecommerce:azCount = {cfg.network.az_count} is "
                          f"not allowed: {ctx.region} has {len(names)} available AZs")
    return tuple(names[: cfg.network.az_count])


def _admin_authentication(ctx: RegionContext) -> dict[str, OidcAuthentication]:
    """Staff sign in at the ALB: the provider from config, the client secret read from Secrets
    Manager (in its own Region) by the program and handed to the ALB only, as a secret."""
    auth = ctx.cfg.admin_auth
    if auth is None or ADMIN_SERVICE not in {s.name for s in ctx.cfg.web.services}:
        return {}
    secret_region = auth.client_secret_arn.split(":")[3]
    secret = aws.secretsmanager.get_secret_version_output(
        secret_id=auth.client_secret_arn,
        opts=pulumi.InvokeOutputOptions(provider=ctx.providers.get(Tier.WEB, secret_region)))
    return {ADMIN_SERVICE: OidcAuthentication(
        issuer=auth.issuer, authorization_endpoint=auth.authorization_endpoint,
        token_endpoint=auth.token_endpoint, user_info_endpoint=auth.user_info_endpoint,
        client_id=auth.client_id, client_secret=pulumi.Output.secret(secret.secret_string),
        scope=auth.scope)}


@dataclass(frozen=True, kw_only=True)
class _DataTier:
    clients: DataClients
    database: RelationalDatabase
    user_state: UserStateTables
    cache: ProductCache | None
    search: SearchDomain


def _data_tier(ctx: RegionContext, keys: EncryptionKeys, network: Network,
               global_data: GlobalData) -> _DataTier:
    """One store per access pattern; the app (ECS) and Lambda tiers attach the client groups, and
    the stores admit only them."""
    cfg = ctx.cfg
    secondary = ctx.role is RegionRole.SECONDARY
    # The app (ECS) and Lambda tiers attach these groups; the stores admit only them.
    data_opts = ctx.opts(Tier.DATA)
    data_clients = DataClients("data-clients", DataClientsArgs(vpc_id=network.vpc_id), opts=data_opts)
    clients = [data_clients.app_security_group_id, data_clients.lambda_security_group_id]
    protection = Protection.RETAIN if cfg.is_prod else Protection.DISPOSABLE
    isolated_subnets = network.subnet_ids[SubnetRole.ISOLATED]
    database = RelationalDatabase("database", RelationalDatabaseArgs(
        vpc_id=network.vpc_id, subnet_ids=isolated_subnets,
        availability_zones=network.availability_zones, client_security_group_ids=clients,
        engine_version=cfg.data.aurora_engine_version, instance_class=cfg.data.aurora_instance_class,
        reader_count=cfg.data.aurora_reader_count, max_readers=cfg.data.aurora_max_readers,
        backup_retention_days=cfg.data.backup_retention_days,
        log_retention_days=cfg.log_retention_days, logs_kms_key_arn=keys.logs_key_arn,
        protection=protection,
        global_role=GlobalRole.SECONDARY if secondary else
        GlobalRole.PRIMARY if global_data.replicas else GlobalRole.NONE,
        secondary_regions=global_data.replicas, membership=global_data.membership,
        stored_gb=cfg.usage.database_gb), opts=data_opts)
    user_state = UserStateTables("user-state", UserStateTablesArgs(
        protection=protection, replicas=global_data.replicas,
        global_tables=global_data.global_tables), opts=data_opts)
    cache = None if secondary else ProductCache("cache", ProductCacheArgs(
        vpc_id=network.vpc_id, subnet_ids=isolated_subnets,
        availability_zones=network.availability_zones,
        client_security_group_ids=clients,  # the storefront reads, the cache-invalidator writes
        node_type=cfg.data.cache_node_type, node_count=cfg.data.cache_node_count,
        log_retention_days=cfg.log_retention_days, logs_kms_key_arn=keys.logs_key_arn,
        protection=protection), opts=data_opts)
    search = SearchDomain("search", SearchDomainArgs(
        account_id=ctx.account_id, vpc_id=network.vpc_id,
        subnet_ids=network.subnet_ids[SubnetRole.PRIVATE],
        availability_zones=network.availability_zones, client_security_group_ids=clients,
        instance_type=cfg.data.search_instance_type, data_nodes=cfg.data.search_data_nodes,
        zone_count=cfg.data.search_zone_count, dedicated_masters=cfg.data.search_dedicated_masters,
        volume_gb=cfg.data.search_volume_gb, log_retention_days=cfg.log_retention_days,
        logs_kms_key_arn=keys.logs_key_arn), opts=data_opts)
    return _DataTier(clients=data_clients, database=database, user_state=user_state, cache=cache,
                     search=search)


def _function_settings(ctx: RegionContext, keys: EncryptionKeys, network: Network,
                       data_clients: DataClients, apm: ApmSettings | None) -> FunctionSettings:
    """What every Lambda function of the Region shares: code, layers, logs, subnets, groups."""
    cfg = ctx.cfg
    events_opts = ctx.opts(Tier.EVENTS)
    function_base = FunctionBase("functions", FunctionBaseArgs(
        vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr), opts=events_opts)
    return FunctionSettings(
        code=CodeBundle.from_directory(), region=ctx.region, account_id=ctx.account_id,
        layers=[powertools_layer_arn(pulumi.InvokeOutputOptions(provider=ctx.provider(Tier.EVENTS))),
                function_base.dependencies_layer_arn],
        logs_kms_key_arn=keys.logs_key_arn, log_retention_days=cfg.log_retention_days,
        private_subnet_ids=network.subnet_ids[SubnetRole.PRIVATE],
        security_group_ids=[function_base.security_group_id, data_clients.lambda_security_group_id],
        apm=apm)


def build_region(ctx: RegionContext, keys: EncryptionKeys, origin: OriginAccess,
                 global_data: GlobalData | None = None) -> RegionalStack:
    """Every tier of one Region, wired together; the cross-tier grants last."""
    cfg = ctx.cfg
    secondary = ctx.role is RegionRole.SECONDARY
    writes_here = ctx.region == (cfg.multi_region.writer_region or cfg.region)
    global_data = global_data or GlobalData()
    if secondary != (global_data.membership is not None and global_data.global_tables is not None):
        raise ValueError(f"{ctx.region}: a secondary Region joins the primary's global database and "
                         "global tables, and only it does")
    # Every alarm of every tier notifies this topic (the observability tier reuses it).
    alarms = AlarmTopic("alarms", AlarmTopicArgs(email=cfg.observability.alarm_email,
                                                 kms_key_arn=keys.messaging_key_arn),
                        opts=ctx.opts(Tier.OBSERVABILITY))
    network = Network("network", NetworkArgs(
        cidr=cfg.network.cidr, availability_zones=_zones(ctx),
        nat_gateways=cfg.network.nat_gateways, flow_log_retention_days=cfg.log_retention_days,
        logs_kms_key_arn=keys.logs_key_arn), opts=ctx.opts(Tier.NETWORK))
    apm = ApmSettings.from_config(cfg.observability.apm_otlp_endpoint,
                                  cfg.observability.apm_api_key_secret_arn)

    # --- data: one store per access pattern -----------------------------------------------------
    data = _data_tier(ctx, keys, network, global_data)
    data_opts, data_clients, database = ctx.opts(Tier.DATA), data.clients, data.database
    user_state, cache, search = data.user_state, data.cache, data.search

    # --- events: the bus, one queue + DLQ + function per consumer, SES, scheduled jobs ----------
    events_opts = ctx.opts(Tier.EVENTS)
    functions = _function_settings(ctx, keys, network, data.clients, apm)
    migrations = SchemaMigrations("migrations", SchemaMigrationsArgs(
        database=database, writer_endpoint=database.cluster_endpoint, port=database.port,
        database_name=database.database_name, master_secret_arn=database.master_secret_arn,
        master_secret_kms_key_arn=database.kms_key_arn, functions=functions),
        opts=data_opts) if writes_here else global_data.migrations
    bus = EventBus("events", EventBusArgs(account_id=ctx.account_id,
                                          archive_retention_days=cfg.events.archive_retention_days),
                   opts=events_opts)
    email = Email("email", EmailArgs(domain=cfg.events.email_domain, region=ctx.region,
                                     account_id=ctx.account_id,
                                     messaging_kms_key_arn=keys.messaging_key_arn,
                                     alarm_topic_arn=alarms.topic_arn,
                                     hosted_zone_id=cfg.edge.hosted_zone_id,
                                     **({"mail_from_subdomain": f"mail-{ctx.region}"}
                                        if secondary else {})), opts=events_opts)
    # The provider's key lives in the stack's Region; a second Region reads its replica there.
    payment_secret_arn = arn_in_region(cfg.payment_secret_arn, ctx.region)
    payment_lookup_secret_arn = arn_in_region(cfg.payment_lookup_secret_arn, ctx.region)
    # Every database client (services, consumers, jobs) reaches the database through this endpoint,
    # released by the migrations: each is ordered after them by the dependency graph.
    proxy_endpoint = database.proxy_endpoint if writes_here else database.proxy_read_only_endpoint
    proxy_access = DatabaseAccess(
        proxy_endpoint=migrations.gate(proxy_endpoint) if migrations else proxy_endpoint,
        proxy_arn=database.proxy_arn, port=database.port, database_name=database.database_name)
    search_writes = search_access(search.domain_arn, search.endpoint, actions=SEARCH_WRITE_ACTIONS)
    consumer_access = {"email": email.sender_access(),  # beyond its queue, idempotency, database
                       **dict.fromkeys(SEARCH_WRITERS, search_writes)}
    if cache is not None and cache.app_user_name is not None and cache.app_user_arn is not None:
        consumer_access["cache-invalidator"] = cache_access(CacheRef(
            host=cache.primary_endpoint, port=cache.port, user_name=cache.app_user_name,
            user_arn=cache.app_user_arn, replication_group_id=cache.replication_group_id,
            replication_group_arn=cache.replication_group_arn))
    consumers = {spec.name: QueueConsumer(spec.name, QueueConsumerArgs(
        spec=spec, bus_name=bus.bus_name, functions=functions,
        messaging_kms_key_arn=keys.messaging_key_arn, alarm_topic_arn=alarms.topic_arn,
        idempotency_table=TableRef(user_state.idempotency_table_name,
                                   user_state.idempotency_table_arn),
        database=None if spec.name in DATABASE_FREE_CONSUMERS else proxy_access,
        access=consumer_access.get(spec.name, Access())),
        opts=events_opts) for spec in cfg.events.consumers
        if cache is not None or spec.name not in CACHE_CONSUMERS}
    jobs = ScheduledJobs("jobs", ScheduledJobsArgs(
        account_id=ctx.account_id, bus_name=bus.bus_name, bus_arn=bus.bus_arn,
        functions=functions, messaging_kms_key_arn=keys.messaging_key_arn,
        alarm_topic_arn=alarms.topic_arn,
        carts_table=TableRef(user_state.carts_table_name, user_state.carts_table_arn),
        database=proxy_access, payment_lookup_secret_arn=payment_lookup_secret_arn, search=search_writes,
        enabled=writes_here), opts=events_opts)

    # --- web: the ALB only CloudFront can reach, and the ECS services behind it ------------------
    service_env: dict[str, pulumi.Input[str]] = {
        "CARTS_TABLE": user_state.carts_table_name,
        "SESSIONS_TABLE": user_state.sessions_table_name,
        "IDEMPOTENCY_TABLE": user_state.idempotency_table_name,
        **({"CACHE_HOST": cache.primary_endpoint, "CACHE_PORT": cache.port.apply(str)}
           if cache else {}),
        **({"CACHE_USER": cache.app_user_name, "CACHE_NAME": cache.replication_group_id}
           if cache and cache.app_user_name else {}),
        "SEARCH_ENDPOINT": search.endpoint, "EVENT_BUS_NAME": bus.bus_name,
        "PUBLIC_BASE_URL": origin.public_base_url}
    web_service_names = {s.name for s in cfg.web.services}
    # Each service logs in to PostgreSQL as its own user through the proxy (IAM, verified TLS);
    # the order service also keeps carts and sessions and charges through the payment provider.
    service_access = {name: database_access(proxy_access, user=database_user(name),
                                            region=ctx.region, account_id=ctx.account_id,
                                            ca_bundle="system")
                      for name in web_service_names}
    if "storefront" in service_access:
        # The storefront reads the catalog from the readers only (the proxy's read-only endpoint),
        # the shopper's session and cart for the cart page, and the search domain.
        read_only = database.proxy_read_only_endpoint
        readers = DatabaseAccess(proxy_endpoint=migrations.gate(read_only) if migrations else read_only,
                                 proxy_arn=database.proxy_arn, port=database.port,
                                 database_name=database.database_name)
        service_access["storefront"] = (
            database_access(readers, user=database_user("storefront"), region=ctx.region,
                            account_id=ctx.account_id, ca_bundle="system")
            + table_access(TableRef(user_state.carts_table_name, user_state.carts_table_arn),
                           env_var="CARTS_TABLE", sid="ReadCarts", actions=("dynamodb:GetItem",))
            + table_access(TableRef(user_state.sessions_table_name, user_state.sessions_table_arn),
                           env_var="SESSIONS_TABLE", sid="ReadSessions", actions=("dynamodb:GetItem",))
            + search_access(search.domain_arn, search.endpoint, actions=SEARCH_READ_ACTIONS))
    if "order-api" in service_access:
        service_access["order-api"] += (
            table_access(TableRef(user_state.carts_table_name, user_state.carts_table_arn),
                         env_var="CARTS_TABLE", sid="Carts",
                         actions=("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"))
            + table_access(TableRef(user_state.sessions_table_name, user_state.sessions_table_arn),
                           env_var="SESSIONS_TABLE", sid="Sessions", actions=SESSION_ACTIONS)
            + payment_secret_access(payment_secret_arn) + email.sender_access())
    authentication = _admin_authentication(ctx)
    if authentication:
        auth = ctx.cfg.admin_auth
        assert auth is not None
        service_access[ADMIN_SERVICE] += Access(environment={
            "ADMIN_ROLES_CLAIM": auth.roles_claim, "ADMIN_EDITOR_GROUP": auth.editor_group,
            "ADMIN_VIEWER_GROUP": auth.viewer_group})
    # CloudFront sends the shop's host name as Host where the ALB signs staff in: the listener
    # needs that certificate too (ACM certificates are regional: attached when in this Region).
    extra_certificates = _shop_certificate_here(ctx, origin) if authentication else []
    web = WebServices("web", WebServicesArgs(
        services=cfg.web.services, spike_factor=cfg.spike_factor,
        images=ImageSettings(source=cfg.web.image_source,
                             prebuilt={i.service: i for i in cfg.web.prebuilt_images}),
        scheduled_scale_outs=cfg.web.scheduled_scale_outs, region=ctx.region,
        vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
        public_subnet_ids=network.subnet_ids[SubnetRole.PUBLIC],
        private_subnet_ids=network.subnet_ids[SubnetRole.PRIVATE],
        certificate_arn=_origin_certificate(ctx),
        origin_header_name=origin.header_name, origin_header_value=origin.header_value,
        log_retention_days=cfg.log_retention_days, logs_kms_key_arn=keys.logs_key_arn,
        deletion_protection=cfg.is_prod, apm=apm,
        client_security_group_ids=[data_clients.app_security_group_id],
        environment={name: {**service_env, **access.environment}
                     for name, access in service_access.items()},
        task_permissions={name: access.statements for name, access in service_access.items()},
        # Checkout gets its own target group: its ALB metrics are the checkout SLO's.
        dedicated_routes={"checkout": DedicatedRoute(
            service="order-api", paths=("/api/checkout", "/api/checkout/*"))}
        if "order-api" in web_service_names else {},
        # The account pages live with the accounts, in the order service (it writes; the storefront
        # behind /* only reads the readers).
        extra_paths={"order-api": ACCOUNT_PAGE_PATHS} if "order-api" in web_service_names else {},
        authentication=authentication, extra_certificate_arns=extra_certificates,
        traffic_percent=cfg.usage.traffic_percent),
        opts=ctx.opts(Tier.WEB))

    # --- cross-tier grants ------------------------------------------------------------------------
    # Only the order service (publishing right after its commit) and the outbox relay put events.
    bus.allow_publishers([
        *([Publisher(name="order-api", role_arn=web.task_role_arns["order-api"],
                     role_name=web.task_role_names["order-api"], detail_types=("order.placed",))]
          if "order-api" in web.task_role_arns else []),
        *(Publisher(name=name, role_arn=arn) for name, arn in jobs.publisher_role_arns.items())])
    # The app tier reads the cache; it, the consumers that write search documents and the reindex
    # job use search.
    if cache is not None:
        cache.allow_roles(web.task_role_names)
    search.allow_roles([*web.task_role_arns.values(),
                        *(c.role_arn for name, c in consumers.items() if name in SEARCH_WRITERS),
                        *(arn for name, arn in jobs.role_arns.items() if name == "search-reindex")])

    return RegionalStack(region=ctx.region, keys=keys, alarms=alarms, network=network,
                         data_clients=data_clients, database=database, user_state=user_state,
                         cache=cache, search=search, bus=bus, email=email, consumers=consumers,
                         jobs=jobs, web=web, migrations=migrations)
