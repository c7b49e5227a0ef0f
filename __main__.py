"""The shop on AWS: loads the stack's typed config, builds the shop and exports its outputs.

The composition lives in components/stack.py (the edge, monitoring) and components/regional.py
(one Region's tiers).
"""

import pulumi

from components.config import StackConfig
from components.stack import build_shop

cfg = StackConfig.load()
shop = build_shop(cfg)
primary = shop.primary

pulumi.export("region", cfg.region)
pulumi.export("vpcId", primary.network.vpc_id)
pulumi.export("availabilityZones", list(primary.network.availability_zones))
pulumi.export("dataAppSecurityGroupId", primary.data_clients.app_security_group_id)
pulumi.export("dataLambdaSecurityGroupId", primary.data_clients.lambda_security_group_id)
pulumi.export("databaseEndpoint", primary.database.cluster_endpoint)
pulumi.export("databaseReaderEndpoint", primary.database.reader_endpoint)
pulumi.export("databaseProxyEndpoint", primary.database.proxy_endpoint)
pulumi.export("databasePort", primary.database.port)
pulumi.export("databaseName", primary.database.database_name)
pulumi.export("databaseClusterArn", primary.database.cluster_arn)
pulumi.export("databaseSecretArn", primary.database.master_secret_arn)
pulumi.export("databaseSecurityGroupId", primary.database.security_group_id)
pulumi.export("cartsTableName", primary.user_state.carts_table_name)
pulumi.export("sessionsTableName", primary.user_state.sessions_table_name)
pulumi.export("idempotencyTableName", primary.user_state.idempotency_table_name)
pulumi.export("cacheEndpoint", primary.product_cache.primary_endpoint)
pulumi.export("cacheReaderEndpoint", primary.product_cache.reader_endpoint)
pulumi.export("cachePort", primary.product_cache.port)
pulumi.export("cacheArn", primary.product_cache.replication_group_arn)
pulumi.export("cacheSecurityGroupId", primary.product_cache.security_group_id)
pulumi.export("searchEndpoint", primary.search.endpoint)
pulumi.export("searchDomainArn", primary.search.domain_arn)
pulumi.export("searchSecurityGroupId", primary.search.security_group_id)
pulumi.export("cdnDomainName", shop.edge.distribution_domain_name)
pulumi.export("cdnDistributionId", shop.edge.distribution_id)
pulumi.export("shopUrl", f"https://{cfg.edge.domain_name}" if cfg.edge.domain_name
              else pulumi.Output.concat("https://", shop.edge.distribution_domain_name))
pulumi.export("staticAssetsBucket", shop.edge.static_bucket_name)
pulumi.export("webAclArn", shop.edge.web_acl_arn)
pulumi.export("albDnsName", primary.web.alb_dns_name)
pulumi.export("originDomainName", cfg.edge.origin_domain_name)
pulumi.export("ecsClusterName", primary.web.cluster_name)
pulumi.export("ecsServiceNames", primary.web.service_names)
pulumi.export("ecrRepositoryUrls", primary.web.repository_urls)
pulumi.export("serviceImages", primary.web.images)
pulumi.export("alarmTopicArn", primary.alarms.topic_arn)
pulumi.export("dashboardName", shop.observability.dashboard_name)
pulumi.export("checkoutSloAlarmArns", shop.observability.slo_alarm_arns)
pulumi.export("eventBusName", primary.bus.bus_name)
pulumi.export("eventBusArn", primary.bus.bus_arn)
pulumi.export("consumerQueueUrls", {name: c.queue_url for name, c in primary.consumers.items()})
pulumi.export("consumerDlqUrls", {name: c.dlq_url for name, c in primary.consumers.items()})
pulumi.export("jobDlqUrls", primary.jobs.dlq_urls)
pulumi.export("emailIdentityArn", primary.email.identity_arn)
pulumi.export("emailFromAddress", primary.email.from_address)
pulumi.export("emailDnsRecords", primary.email.dns_records)
pulumi.export("emailFeedbackTopicArn", primary.email.feedback_topic_arn)

if shop.multi_region is not None:  # docs/multi-region.md
    second = shop.multi_region.secondary
    pulumi.export("secondaryRegion", second.region)
    pulumi.export("globalDatabaseIdentifier", primary.database.global_cluster_identifier)
    pulumi.export("originHealthCheckIds", shop.multi_region.origin_routing.health_check_ids)
    pulumi.export("staticAssetsReplicaBucket", shop.multi_region.static_replica.bucket_name)
    pulumi.export("secondary", {
        "vpcId": second.network.vpc_id, "albDnsName": second.web.alb_dns_name,
        "databaseClusterArn": second.database.cluster_arn,
        "databaseReaderEndpoint": second.database.reader_endpoint,
        "databaseProxyEndpoint": second.database.proxy_endpoint,
        "databaseProxyReadOnlyEndpoint": second.database.proxy_read_only_endpoint,
        "ecrRepositoryUrls": second.web.repository_urls,
        "sessionsTableName": second.user_state.sessions_table_name,
        "idempotencyTableName": second.user_state.idempotency_table_name,
        "searchEndpoint": second.search.endpoint, "eventBusName": second.bus.bus_name,
        "alarmTopicArn": second.alarms.topic_arn, "emailIdentityArn": second.email.identity_arn,
        "emailDnsRecords": second.email.dns_records})
