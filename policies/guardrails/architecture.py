"""Architecture choices of the case study, advisory by default (each can be raised to mandatory):
the relational catalog stays out of DynamoDB, multi-Region waits for a named trigger, and an APM
arrives before AWS-native observability stops scaling (~20 services).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    ADVISORY,
    Report,
    Res,
    StackGraph,
    as_list,
    config_value,
    has_keyword,
    message,
    number,
    parse_json,
    resource_policy,
    stack_config,
    stack_policy,
    string_list,
)

TABLE = "aws:dynamodb/table:Table"
TAGS = ["case-study", "architecture"]


def _check_catalog(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    keywords = config["catalogKeywords"]
    hits = [n for n in resource.names(config["workloadTagKeys"]) if has_keyword(n, keywords)]
    if hits:
        report(message(resource, f"'{hits[0]}' puts the product catalog in DynamoDB; the catalog is "
                                 "relational and admin-edited",
                       "keep products in Aurora (the source of truth), cache hot reads in "
                       "ElastiCache and search them in OpenSearch; DynamoDB is for per-user state "
                       "(carts, sessions)"))


dynamodb_catalog_disallow = resource_policy(
    name="dynamodb-catalog-disallow",
    description="The relational product catalog does not belong in a DynamoDB table.",
    level=ADVISORY, severity=Severity.MEDIUM, types=[TABLE], check=_check_catalog,
    remediation="Model products in Aurora PostgreSQL; front it with ElastiCache and OpenSearch.",
    config={"catalogKeywords": string_list("Name or workload-tag tokens that mark a catalog table.",
                                           ["product", "catalog", "inventory", "sku"]),
            "workloadTagKeys": string_list("Tags whose values name the workload.",
                                           ["workload", "service", "component"])},
    tags=TAGS, antipattern="the relational product catalog in single-table DynamoDB")


# ----------------------------------------------------------------------------------------------

TRIGGERS = ["residency-contract", "eu-latency-slo-breach", "region-outage-cost-case"]


def _is_regional(resource: Res, config: Mapping[str, Any]) -> bool:
    if not resource.type.startswith("aws:") or resource.type.startswith("aws:index/"):
        return False
    service = resource.service
    if service in config["globalServices"]:
        return False
    if resource.region == config["edgeRegion"]:
        if service in config["edgeServices"]:
            return False  # CloudFront's certificate, WAF and its logs live in us-east-1
        name = resource.props.get("name")
        if service == "cloudwatch" and isinstance(name, str) and name.startswith("aws-waf-logs-"):
            return False
    return True


def _check_regions(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    settings = stack_config()
    default_region = settings.get("aws:region")
    regions: dict[str, list[Res]] = {}
    for resource in graph.resources:
        if not _is_regional(resource, config):
            continue
        region = resource.region if resource.region is not None else default_region
        if isinstance(region, str) and region:  # a computed Region is not counted
            regions.setdefault(region, []).append(resource)
    if len(regions) < 2:
        return
    allowed = config["allowedTriggers"]
    named = [config_value(settings, k) for k in config["triggerConfigKeys"]]
    tags = dict(graph.stack_tags)
    for resource in graph.resources:
        tags.update({k: v for k, v in resource.tags.items() if isinstance(v, str)})
    named += [tags.get(k) for k in config["triggerTagKeys"]]
    triggers = [t for t in named if t]
    if any(t in allowed for t in triggers):
        return
    summary = ", ".join(f"{region} ({len(items)})" for region, items in sorted(regions.items()))
    why = (f"the named trigger {triggers[0]!r} is not one of {', '.join(allowed)}" if triggers
           else "no trigger is named")
    where = " or ".join([*(f"the stack config {k}" for k in config["triggerConfigKeys"][:1]),
                         *(f"the {k} tag" for k in config["triggerTagKeys"][:1])]) or "stack config"
    report(message(None, f"the stack spans {len(regions)} Regions: {summary}, and {why}",
                   "stay single-Region with Multi-AZ and CloudFront until a trigger applies; then "
                   f"name the trigger in {where} and keep its reference"), None)


multi_region_require_trigger = stack_policy(
    name="multi-region-require-trigger",
    description="Resources in more than one Region need a named business trigger (residency contract, "
                "EU latency breaching the SLO, or a Region-outage cost case).",
    level=ADVISORY, severity=Severity.MEDIUM, check=_check_regions,
    remediation="Remove the second Region, or name the trigger in stack config or tags.",
    config={"allowedTriggers": string_list("The business triggers that justify a second Region.",
                                           TRIGGERS),
            "triggerConfigKeys": string_list("Stack config keys (any namespace) naming the trigger.",
                                             ["multiRegionTrigger"]),
            "triggerTagKeys": string_list("Stack or resource tags naming the trigger.",
                                          ["multi-region-trigger"]),
            "globalServices": string_list("Services that are global, not Regional.",
                                          ["iam", "cloudfront", "route53", "organizations", "budgets",
                                           "shield", "globalaccelerator", "costexplorer", "cur"]),
            "edgeRegion": {"type": "string", "default": "us-east-1",
                           "description": "Where CloudFront's certificates and web ACLs live."},
            "edgeServices": string_list("Services whose resources in edgeRegion serve CloudFront.",
                                        ["acm", "wafv2"])},
    tags=TAGS, antipattern="going multi-Region on day one for a six-engineer team",
    covers=("(every regional resource)",))


# ----------------------------------------------------------------------------------------------

FUNCTION = "aws:lambda/function:Function"
SERVICE = "aws:ecs/service:Service"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"


def _apm_signals(resource: Res, config: Mapping[str, Any]) -> bool:
    variables = set(config["apmEnvironmentVariables"])
    markers = [m.lower() for m in config["apmMarkers"]]
    if resource.type == FUNCTION:
        env = resource.get("environment", "variables")
        if isinstance(env, Mapping) and variables & set(env):
            return True
        layers = resource.props.get("layers")
        return any(isinstance(a, str) and any(m in a.lower() for m in markers) for a in as_list(layers))
    containers = parse_json(resource.props.get("containerDefinitions"))
    for container in containers if isinstance(containers, list) else []:
        if not isinstance(container, Mapping):
            continue
        names = {e.get("name") for e in as_list(container.get("environment")) if isinstance(e, Mapping)}
        names |= {e.get("name") for e in as_list(container.get("secrets")) if isinstance(e, Mapping)}
        image = container.get("image")
        if variables & names or (isinstance(image, str) and any(m in image.lower() for m in markers)):
            return True
    return False


def _check_apm(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    workloads = graph.of_type(FUNCTION, SERVICE)
    threshold = number(config["maxWorkloadsWithoutApm"]) or 20
    if len(workloads) <= threshold:
        return
    settings = stack_config()
    if any(config_value(settings, k) for k in config["apmConfigKeys"]):
        return
    if any(_apm_signals(r, config) for r in graph.of_type(FUNCTION, TASK_DEFINITION)):
        return
    report(message(None, f"{len(workloads)} services and functions run on AWS-native observability "
                         f"only (more than {int(threshold)}): cross-service incidents get hard to "
                         "trace",
                   "adopt an APM: export OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT) from every "
                   "service and function, e.g. set the stack's apmOtlpEndpoint"), None)


observability_require_apm_at_scale = stack_policy(
    name="observability-require-apm-at-scale",
    description="Past ~20 services and functions, an APM must be configured.",
    level=ADVISORY, severity=Severity.LOW, check=_check_apm,
    remediation="Export traces to an APM (OpenTelemetry) from every service and function.",
    config={"maxWorkloadsWithoutApm": {"type": "integer", "minimum": 1, "default": 20,
                                       "description": "ECS services + Lambda functions before an APM "
                                                      "is expected."},
            "apmConfigKeys": string_list("Stack config keys (any namespace) that configure an APM.",
                                         ["apmOtlpEndpoint"]),
            "apmEnvironmentVariables": string_list(
                "Environment variables that show an APM is wired in.",
                ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "DD_API_KEY",
                 "DD_API_KEY_SECRET_ARN", "NEW_RELIC_LICENSE_KEY", "DT_TENANT", "HONEYCOMB_API_KEY"]),
            "apmMarkers": string_list("Layer ARN or sidecar image fragments of APM agents.",
                                      ["datadog", "newrelic", "dynatrace", "honeycomb", "lumigo",
                                       "elastic-apm", "opentelemetry-collector"])},
    tags=TAGS, antipattern="staying on AWS-native observability past ~20 services",
    covers=("aws:ecs/service:Service", "aws:lambda/function:Function",
            "aws:ecs/taskDefinition:TaskDefinition"))


POLICIES = [dynamodb_catalog_disallow, multi_region_require_trigger, observability_require_apm_at_scale]
