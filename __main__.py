"""The shop on AWS: composes the tiers from the stack's typed config and exports their outputs."""

import pulumi
import pulumi_aws as aws

from components.alerting import AlarmTopic, AlarmTopicArgs
from components.cache import ProductCache, ProductCacheArgs
from components.config import ConfigError, StackConfig
from components.consumers import QueueConsumer, QueueConsumerArgs
from components.data_clients import DataClients, DataClientsArgs
from components.data_common import Protection
from components.database import RelationalDatabase, RelationalDatabaseArgs
from components.defaults import ApmSettings
from components.edge import Edge, EdgeArgs
from components.email import Email, EmailArgs
from components.events import EventBus, EventBusArgs, Publisher
from components.keys import EncryptionKeys, EncryptionKeysArgs
from components.lambda_code import (
    Access,
    CodeBundle,
    DatabaseAccess,
    FunctionBase,
    FunctionBaseArgs,
    FunctionSettings,
    TableRef,
    powertools_layer_arn,
)
from components.network import Network, NetworkArgs, SubnetRole
from components.observability import (
    EDGE_REGION,
    CheckoutSlo,
    ConsumerMetrics,
    DataMetrics,
    EdgeMetrics,
    JobMetrics,
    Observability,
    ObservabilityArgs,
    ServiceMetrics,
    WebMetrics,
)
from components.providers import Tier, TierProviders
from components.schedules import ScheduledJobs, ScheduledJobsArgs
from components.search import SearchDomain, SearchDomainArgs
from components.user_state import UserStateTables, UserStateTablesArgs
from components.web import DedicatedRoute, WebServices, WebServicesArgs

cfg = StackConfig.load()
providers = TierProviders(environment=cfg.environment.value, region=cfg.region)

account_id = aws.get_caller_identity(
    opts=pulumi.InvokeOptions(provider=providers.get(Tier.SECURITY))).account_id
zone_names = aws.get_availability_zones(
    state="available", opts=pulumi.InvokeOptions(provider=providers.get(Tier.NETWORK))).names
if len(zone_names) < cfg.network.az_count:
    raise ConfigError(f"Pulumi.{cfg.stack}.yaml: ecommerce:azCount = {cfg.network.az_count} is "
                      f"not allowed: {cfg.region} has {len(zone_names)} available AZs")

keys = EncryptionKeys("keys", EncryptionKeysArgs(account_id=account_id, region=cfg.region),
                      opts=providers.opts(Tier.SECURITY))
# Every alarm of every tier notifies this topic (the observability tier reuses it).
alarms = AlarmTopic("alarms", AlarmTopicArgs(email=cfg.observability.alarm_email,
                                             kms_key_arn=keys.messaging_key_arn),
                    opts=providers.opts(Tier.OBSERVABILITY))

network = Network("network", NetworkArgs(
    cidr=cfg.network.cidr, availability_zones=tuple(zone_names[: cfg.network.az_count]),
    nat_gateways=cfg.network.nat_gateways, flow_log_retention_days=cfg.log_retention_days,
    logs_kms_key_arn=keys.logs_key_arn), opts=providers.opts(Tier.NETWORK))

# --- data: one store per access pattern ---------------------------------------------------------
# The app (ECS) and Lambda tiers attach these groups; the stores admit only them.
data_clients = DataClients("data-clients", DataClientsArgs(vpc_id=network.vpc_id),
                           opts=providers.opts(Tier.DATA))
protection = Protection.RETAIN if cfg.is_prod else Protection.DISPOSABLE
isolated_subnets = network.subnet_ids[SubnetRole.ISOLATED]
database = RelationalDatabase("database", RelationalDatabaseArgs(
    vpc_id=network.vpc_id, subnet_ids=isolated_subnets,
    availability_zones=network.availability_zones,
    client_security_group_ids=[data_clients.app_security_group_id,
                               data_clients.lambda_security_group_id],
    engine_version=cfg.data.aurora_engine_version, instance_class=cfg.data.aurora_instance_class,
    reader_count=cfg.data.aurora_reader_count, max_readers=cfg.data.aurora_max_readers,
    backup_retention_days=cfg.data.backup_retention_days,
    log_retention_days=cfg.log_retention_days, logs_kms_key_arn=keys.logs_key_arn,
    protection=protection), opts=providers.opts(Tier.DATA))
user_state = UserStateTables("user-state", UserStateTablesArgs(protection=protection),
                             opts=providers.opts(Tier.DATA))
cache = ProductCache("cache", ProductCacheArgs(
    vpc_id=network.vpc_id, subnet_ids=isolated_subnets,
    availability_zones=network.availability_zones,
    client_security_group_ids=[data_clients.app_security_group_id],
    node_type=cfg.data.cache_node_type, node_count=cfg.data.cache_node_count,
    log_retention_days=cfg.log_retention_days, logs_kms_key_arn=keys.logs_key_arn,
    protection=protection), opts=providers.opts(Tier.DATA))
search = SearchDomain("search", SearchDomainArgs(
    account_id=account_id, vpc_id=network.vpc_id,
    subnet_ids=network.subnet_ids[SubnetRole.PRIVATE],
    availability_zones=network.availability_zones,
    client_security_group_ids=[data_clients.app_security_group_id,
                               data_clients.lambda_security_group_id],
    instance_type=cfg.data.search_instance_type, data_nodes=cfg.data.search_data_nodes,
    zone_count=cfg.data.search_zone_count, dedicated_masters=cfg.data.search_dedicated_masters,
    volume_gb=cfg.data.search_volume_gb, log_retention_days=cfg.log_retention_days,
    logs_kms_key_arn=keys.logs_key_arn), opts=providers.opts(Tier.DATA))

# --- events: the bus, one queue + DLQ + function per consumer, SES, scheduled jobs --------------
events_opts = providers.opts(Tier.EVENTS)
function_base = FunctionBase("functions", FunctionBaseArgs(vpc_id=network.vpc_id,
                                                           vpc_cidr=network.vpc_cidr), opts=events_opts)
functions = FunctionSettings(
    code=CodeBundle.from_directory(), region=cfg.region, account_id=account_id,
    layers=[powertools_layer_arn(pulumi.InvokeOutputOptions(provider=providers.get(Tier.EVENTS))),
            function_base.dependencies_layer_arn],
    logs_kms_key_arn=keys.logs_key_arn, log_retention_days=cfg.log_retention_days,
    private_subnet_ids=network.subnet_ids[SubnetRole.PRIVATE],
    security_group_ids=[function_base.security_group_id, data_clients.lambda_security_group_id],
    apm=ApmSettings.from_config(cfg.observability.apm_otlp_endpoint,
                                cfg.observability.apm_api_key_secret_arn))
bus = EventBus("events", EventBusArgs(account_id=account_id,
                                      archive_retention_days=cfg.events.archive_retention_days),
               opts=events_opts)
email = Email("email", EmailArgs(domain=cfg.events.email_domain, region=cfg.region,
                                 account_id=account_id, messaging_kms_key_arn=keys.messaging_key_arn,
                                 alarm_topic_arn=alarms.topic_arn), opts=events_opts)
database_access = DatabaseAccess(proxy_endpoint=database.proxy_endpoint, proxy_arn=database.proxy_arn,
                                 port=database.port, database_name=database.database_name)
consumer_access = {"email": email.sender_access()}  # beyond its queue, idempotency and database
consumers = {spec.name: QueueConsumer(spec.name, QueueConsumerArgs(
    spec=spec, bus_name=bus.bus_name, functions=functions,
    messaging_kms_key_arn=keys.messaging_key_arn, alarm_topic_arn=alarms.topic_arn,
    idempotency_table=TableRef(user_state.idempotency_table_name, user_state.idempotency_table_arn),
    database=database_access, access=consumer_access.get(spec.name, Access())), opts=events_opts)
    for spec in cfg.events.consumers}
jobs = ScheduledJobs("jobs", ScheduledJobsArgs(
    account_id=account_id, bus_name=bus.bus_name, bus_arn=bus.bus_arn, functions=functions,
    messaging_kms_key_arn=keys.messaging_key_arn, alarm_topic_arn=alarms.topic_arn,
    carts_table=TableRef(user_state.carts_table_name, user_state.carts_table_arn),
    database=database_access), opts=events_opts)

# --- edge and web: CloudFront + WAF in front of an ALB only CloudFront can reach ---------------------
if cfg.region == "us-east-1":
    edge_keys = keys
else:  # WAF logs (and the edge alarm's topic) live in us-east-1 and need keys there
    edge_keys = EncryptionKeys("keys-us-east-1", EncryptionKeysArgs(
        account_id=account_id, region="us-east-1"),
        opts=providers.opts(Tier.SECURITY, region="us-east-1"))
edge_logs_key = edge_keys.logs_key_arn
edge = Edge("edge", EdgeArgs(
    account_id=account_id, origin_domain_name=cfg.edge.origin_domain_name,
    uncached_paths=[s.path for s in cfg.web.services if s.path != "/*"],
    waf_rate_limit=cfg.edge.waf_rate_limit, log_retention_days=cfg.log_retention_days,
    waf_logs_kms_key_arn=edge_logs_key, us_east_1=providers.get(Tier.EDGE, region="us-east-1"),
    domain_name=cfg.edge.domain_name, certificate_arn=cfg.edge.certificate_arn),
    opts=providers.opts(Tier.EDGE))
service_env: dict[str, pulumi.Input[str]] = {
    "PGHOST": database.cluster_endpoint, "PGPORT": database.port.apply(str),
    "PGDATABASE": database.database_name, "CARTS_TABLE": user_state.carts_table_name,
    "SESSIONS_TABLE": user_state.sessions_table_name,
    "IDEMPOTENCY_TABLE": user_state.idempotency_table_name,
    "CACHE_HOST": cache.primary_endpoint, "CACHE_PORT": cache.port.apply(str),
    "SEARCH_ENDPOINT": search.endpoint, "EVENT_BUS_NAME": bus.bus_name}
web_service_names = {s.name for s in cfg.web.services}
web = WebServices("web", WebServicesArgs(
    services=cfg.web.services, image_tag=cfg.web.image_tag, spike_factor=cfg.spike_factor,
    scheduled_scale_outs=cfg.web.scheduled_scale_outs, region=cfg.region,
    vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
    public_subnet_ids=network.subnet_ids[SubnetRole.PUBLIC],
    private_subnet_ids=network.subnet_ids[SubnetRole.PRIVATE],
    certificate_arn=cfg.edge.origin_certificate_arn,
    origin_header_name=edge.origin_verify_header_name,
    origin_header_value=edge.origin_verify_header_value,
    log_retention_days=cfg.log_retention_days, logs_kms_key_arn=keys.logs_key_arn,
    deletion_protection=cfg.is_prod,
    apm=ApmSettings.from_config(cfg.observability.apm_otlp_endpoint,
                                cfg.observability.apm_api_key_secret_arn),
    client_security_group_ids=[data_clients.app_security_group_id],
    environment=dict.fromkeys(web_service_names, service_env),
    # Checkout gets its own target group: its ALB metrics are the checkout SLO's.
    dedicated_routes={"checkout": DedicatedRoute(
        service="order-api", paths=("/api/checkout", "/api/checkout/*"))}
    if "order-api" in web_service_names else {}),
    opts=providers.opts(Tier.WEB))

# --- cross-tier grants -----------------------------------------------------------------------------
# Only the order service (publishing right after its commit) and the outbox relay put events.
bus.allow_publishers([
    *([Publisher(name="order-api", role_arn=web.task_role_arns["order-api"],
                 role_name=web.task_role_names["order-api"], detail_types=("order.placed",))]
      if "order-api" in web.task_role_arns else []),
    *(Publisher(name=name, role_arn=arn) for name, arn in jobs.publisher_role_arns.items())])
# The app tier reads the cache; it and the recommendations consumer (which indexes) use search.
cache.allow_roles(web.task_role_names)
search.allow_roles([*web.task_role_arns.values(),
                    *(c.role_arn for name, c in consumers.items() if name == "recommendations")])

# --- observability: the checkout SLO, tier alarms and the dashboard (after every tier) -------------
# CloudFront's metrics are in us-east-1, and an alarm notifies only a topic of its own Region.
edge_alarms = alarms if cfg.region == EDGE_REGION else AlarmTopic(
    "alarms-us-east-1", AlarmTopicArgs(email=cfg.observability.alarm_email,
                                       kms_key_arn=edge_keys.messaging_key_arn),
    opts=providers.opts(Tier.OBSERVABILITY, region=EDGE_REGION))
observability = Observability("observability", ObservabilityArgs(
    region=cfg.region, alarm_topic_arn=alarms.topic_arn,
    slo=CheckoutSlo(availability_target=cfg.observability.checkout_availability_target,
                    latency_p99_ms=cfg.observability.checkout_latency_p99_ms),
    edge=EdgeMetrics(distribution_id=edge.distribution_id, alarm_topic_arn=edge_alarms.topic_arn),
    web=WebMetrics(
        alb_arn_suffix=web.alb_arn_suffix, cluster_name=web.cluster_name,
        services={name: ServiceMetrics(service_name=web.service_names[name],
                                       target_group_arn_suffix=web.target_group_arn_suffixes[name],
                                       max_tasks=web.max_tasks[name]) for name in web.service_names},
        checkout_target_group_arn_suffix=web.route_target_group_arn_suffixes.get("checkout"),
        payments_log_group_name=web.log_group_names.get("order-api")),
    data=DataMetrics(
        cluster_identifier=database.cluster_identifier,
        writer_instance_identifier=database.writer_instance_identifier,
        table_names={"carts": user_state.carts_table_name, "sessions": user_state.sessions_table_name,
                     "idempotency": user_state.idempotency_table_name},
        cache_node_ids=cache.node_ids, search_domain_name=search.domain_name, account_id=account_id),
    consumers={name: ConsumerMetrics(queue_name=c.queue_name, dlq_name=c.dlq_name,
                                     function_name=c.function_name) for name, c in consumers.items()},
    jobs={name: JobMetrics(dlq_name=jobs.dlq_names[name], function_name=jobs.function_names[name])
          for name in jobs.function_names}),
    opts=providers.opts(Tier.OBSERVABILITY))

pulumi.export("region", cfg.region)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("availabilityZones", list(network.availability_zones))
pulumi.export("dataAppSecurityGroupId", data_clients.app_security_group_id)
pulumi.export("dataLambdaSecurityGroupId", data_clients.lambda_security_group_id)
pulumi.export("databaseEndpoint", database.cluster_endpoint)
pulumi.export("databaseReaderEndpoint", database.reader_endpoint)
pulumi.export("databaseProxyEndpoint", database.proxy_endpoint)
pulumi.export("databasePort", database.port)
pulumi.export("databaseName", database.database_name)
pulumi.export("databaseClusterArn", database.cluster_arn)
pulumi.export("databaseSecretArn", database.master_secret_arn)
pulumi.export("databaseSecurityGroupId", database.security_group_id)
pulumi.export("cartsTableName", user_state.carts_table_name)
pulumi.export("sessionsTableName", user_state.sessions_table_name)
pulumi.export("idempotencyTableName", user_state.idempotency_table_name)
pulumi.export("cacheEndpoint", cache.primary_endpoint)
pulumi.export("cacheReaderEndpoint", cache.reader_endpoint)
pulumi.export("cachePort", cache.port)
pulumi.export("cacheArn", cache.replication_group_arn)
pulumi.export("cacheSecurityGroupId", cache.security_group_id)
pulumi.export("searchEndpoint", search.endpoint)
pulumi.export("searchDomainArn", search.domain_arn)
pulumi.export("searchSecurityGroupId", search.security_group_id)
pulumi.export("cdnDomainName", edge.distribution_domain_name)
pulumi.export("cdnDistributionId", edge.distribution_id)
pulumi.export("shopUrl", f"https://{cfg.edge.domain_name}" if cfg.edge.domain_name
              else pulumi.Output.concat("https://", edge.distribution_domain_name))
pulumi.export("staticAssetsBucket", edge.static_bucket_name)
pulumi.export("webAclArn", edge.web_acl_arn)
pulumi.export("albDnsName", web.alb_dns_name)
pulumi.export("originDomainName", cfg.edge.origin_domain_name)
pulumi.export("ecsClusterName", web.cluster_name)
pulumi.export("ecsServiceNames", web.service_names)
pulumi.export("ecrRepositoryUrls", web.repository_urls)
pulumi.export("alarmTopicArn", alarms.topic_arn)
pulumi.export("dashboardName", observability.dashboard_name)
pulumi.export("checkoutSloAlarmArns", observability.slo_alarm_arns)
pulumi.export("eventBusName", bus.bus_name)
pulumi.export("eventBusArn", bus.bus_arn)
pulumi.export("consumerQueueUrls", {name: c.queue_url for name, c in consumers.items()})
pulumi.export("consumerDlqUrls", {name: c.dlq_url for name, c in consumers.items()})
pulumi.export("jobDlqUrls", jobs.dlq_urls)
pulumi.export("emailIdentityArn", email.identity_arn)
pulumi.export("emailFromAddress", email.from_address)
pulumi.export("emailDnsRecords", email.dns_records)
pulumi.export("emailFeedbackTopicArn", email.feedback_topic_arn)
