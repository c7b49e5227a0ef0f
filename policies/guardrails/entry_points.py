"""Every internet-facing entry point is behind a WAF (case study: CloudFront with WAF fronts
everything; PCI DSS v4.0 Req 6.4.2: an automated technical solution in front of public-facing web
applications that detects and prevents web-based attacks).

CloudFront distributions (`cloudfront-distribution-require-waf`) and load balancers
(`alb-require-waf-or-cloudfront-only`) have their own policies in `exposure.py`; this one covers the
other services that give code a public address: API Gateway REST, HTTP and WebSocket APIs, Lambda
function URLs, AppSync GraphQL APIs and App Runner services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    MANDATORY,
    Report,
    Res,
    StackGraph,
    as_list,
    is_true,
    is_unknown,
    message,
    pci,
    preview_unknown,
    stack_policy,
)
from .exposure import WAF_ASSOCIATIONS

REST_API = "aws:apigateway/restApi:RestApi"
REST_STAGE = "aws:apigateway/stage:Stage"
REST_DEPLOYMENT = "aws:apigateway/deployment:Deployment"
HTTP_API = "aws:apigatewayv2/api:Api"
HTTP_DOMAIN = "aws:apigatewayv2/domainName:DomainName"
HTTP_MAPPING = "aws:apigatewayv2/apiMapping:ApiMapping"
FUNCTION_URL = "aws:lambda/functionUrl:FunctionUrl"
GRAPHQL_API = "aws:appsync/graphQLApi:GraphQLApi"
APP_RUNNER = "aws:apprunner/service:Service"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
COVERS = (REST_API, REST_STAGE, REST_DEPLOYMENT, HTTP_API, HTTP_DOMAIN, HTTP_MAPPING, FUNCTION_URL,
          GRAPHQL_API, APP_RUNNER, DISTRIBUTION, *WAF_ASSOCIATIONS)
ACL_FIX = "create an aws.wafv2.WebAcl (scope REGIONAL) and an aws.wafv2.WebAclAssociation for it"


def _associated(graph: StackGraph, resource: Res) -> bool:
    return any(graph.refers(a, "resourceArn", resource) for a in graph.of_type(*WAF_ASSOCIATIONS))


def _private_rest_api(api: Res | None) -> Any:
    if api is None:
        return False
    types = api.get("endpointConfiguration", "types")
    return types if is_unknown(types) else "PRIVATE" in as_list(types)


def _check_rest_apis(graph: StackGraph, report: Report) -> None:
    apis = graph.of_type(REST_API)
    stages = [(s, "stage") for s in graph.of_type(REST_STAGE)]
    stages += [(d, "deployment's stage") for d in graph.of_type(REST_DEPLOYMENT)
               if d.props.get("stageName") not in (None, "")]
    for stage, kind in stages:
        api = next((a for a in graph.targets(stage, "restApi") if a.type == REST_API), None) or next(
            (a for a in apis if graph.refers(stage, "restApi", a)), None)
        private = _private_rest_api(api)
        if is_unknown(private) and api is not None:
            report(preview_unknown(api, "endpoint_configuration.types", ACL_FIX), api.urn)
        elif not private and not _associated(graph, stage):
            report(message(stage, f"the REST API {kind} is reachable from the internet without a WAF "
                                  "web ACL", f"{ACL_FIX} (resource_arn=<the stage's arn>), or make the "
                                             "API PRIVATE"), stage.urn)


def _fronting_distributions(graph: StackGraph, api: Res) -> list[Res]:
    """CloudFront distributions with a web ACL whose origins reach `api` (directly, or through a
    custom domain name that an API mapping maps to it)."""
    names = [api] + [d for m in graph.referrers(api, [HTTP_MAPPING], "apiId")
                     for d in graph.of_type(HTTP_DOMAIN) if graph.refers(m, "domainName", d)]
    found = []
    for distribution in graph.of_type(DISTRIBUTION):
        acl = distribution.props.get("webAclId")
        if not (is_unknown(acl) or (isinstance(acl, str) and acl)):
            continue
        if any(graph.refers(distribution, "origins", target) for target in names):
            found.append(distribution)
    return found


def _check_http_apis(graph: StackGraph, report: Report) -> None:
    for api in graph.of_type(HTTP_API):
        protocol = api.props.get("protocolType") or "HTTP"
        kind = "WebSocket API" if protocol == "WEBSOCKET" else "HTTP API"
        disabled = api.props.get("disableExecuteApiEndpoint")
        if is_unknown(disabled):
            report(preview_unknown(api, "disable_execute_api_endpoint", "set it literally"), api.urn)
            continue
        fronted = _fronting_distributions(graph, api)
        if fronted and is_true(disabled):
            continue
        problem = (f"its default execute-api endpoint is still enabled, so it can be called around "
                   f"CloudFront '{fronted[0].name}'" if fronted else
                   "it is reachable from the internet and no CloudFront distribution with a web ACL "
                   "fronts it")
        report(message(api, f"an API Gateway {kind} cannot carry a WAF web ACL, and {problem}",
                       "put it behind a CloudFront distribution that has a web ACL (origin: its custom "
                       "domain) and set disable_execute_api_endpoint=True; or use a REST API with a "
                       "regional web ACL"), api.urn)


def _check_function_urls(graph: StackGraph, report: Report) -> None:
    for url in graph.of_type(FUNCTION_URL):
        auth = url.props.get("authorizationType")
        if is_unknown(auth):
            report(preview_unknown(url, "authorization_type", "set authorization_type='AWS_IAM'"), url.urn)
        elif auth != "AWS_IAM":
            report(message(url, "the function URL accepts unsigned requests from anyone on the internet "
                                "(authorization_type NONE), and a function URL cannot carry a WAF web ACL",
                           "set authorization_type='AWS_IAM' and serve it through CloudFront (with a web "
                           "ACL) using origin access control for Lambda, or put it behind API Gateway "
                           "REST with a web ACL"), url.urn)


def _check_associable(graph: StackGraph, report: Report) -> None:
    """AppSync and App Runner take a regional web ACL directly."""
    for api in graph.of_type(GRAPHQL_API):
        visibility = api.props.get("visibility")
        if is_unknown(visibility):
            report(preview_unknown(api, "visibility", ACL_FIX), api.urn)
        elif visibility != "PRIVATE" and not _associated(graph, api):
            report(message(api, "the GraphQL API is reachable from the internet without a WAF web ACL",
                           f"{ACL_FIX} (resource_arn=<the API's arn>), or set visibility='PRIVATE'"),
                   api.urn)
    for service in graph.of_type(APP_RUNNER):
        public = service.get("networkConfiguration", "ingressConfiguration", "isPubliclyAccessible",
                             default=True)
        if is_unknown(public):
            report(preview_unknown(service, "is_publicly_accessible", ACL_FIX), service.urn)
        elif is_true(public) and not _associated(graph, service):
            report(message(service, "the App Runner service is reachable from the internet without a WAF "
                                    "web ACL", f"{ACL_FIX} (resource_arn=<the service's arn>), or make its "
                                               "ingress private"), service.urn)


def _check_entry_points(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Every internet-facing API entry point has a WAF web ACL, or is only reachable through one.

    Covers: aws:apigateway/restApi:RestApi, aws:apigateway/stage:Stage,
    aws:apigateway/deployment:Deployment (the stage its stage_name creates, pulumi-aws 6 and
    earlier), aws:apigatewayv2/api:Api (HTTP and
    WebSocket), aws:apigatewayv2/domainName:DomainName, aws:apigatewayv2/apiMapping:ApiMapping,
    aws:lambda/functionUrl:FunctionUrl, aws:appsync/graphQLApi:GraphQLApi,
    aws:apprunner/service:Service, aws:cloudfront/distribution:Distribution (as a front),
    aws:wafv2/webAclAssociation:WebAclAssociation, aws:wafregional/webAclAssociation:WebAclAssociation.
    CloudFront and load balancers: `cloudfront-distribution-require-waf`,
    `alb-require-waf-or-cloudfront-only`. A public EC2 instance needs a world-open security group,
    which `security-group-disallow-public-ingress` stops. Not covered: Elastic Beanstalk, Amplify
    Hosting and Lightsail (their load balancers or distributions are not program resources).

    AWS WAF attaches to REST API stages, AppSync APIs and App Runner services, not to HTTP or
    WebSocket APIs or function URLs: those must only be reachable through CloudFront with a web ACL
    (a function URL through origin access control, which needs AWS_IAM authorization).

    Well-built programs: they associate a regional web ACL with each public REST stage, GraphQL API
    and App Runner service, keep private ones private, and serve HTTP APIs and function URLs only
    through CloudFront with a web ACL (execute-api endpoint disabled, function URLs IAM-authorized).
    """
    _check_rest_apis(graph, report)
    _check_http_apis(graph, report)
    _check_function_urls(graph, report)
    _check_associable(graph, report)


api_entry_point_require_waf = stack_policy(
    name="api-entry-point-require-waf",
    description="Internet-facing API Gateway APIs, Lambda function URLs, AppSync APIs and App Runner "
                "services must have a WAF web ACL or be reachable only through CloudFront with one.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_entry_points,
    remediation="Associate a regional WAF web ACL (REST stages, AppSync, App Runner), or serve the "
                "entry point only through CloudFront with a web ACL.",
    framework=pci("6.4.2"), tags=["case-study", "pci-dss", "exposure"],
    antipattern="a public entry point without the WAF that fronts everything", covers=COVERS)

POLICIES = [api_entry_point_require_waf]
