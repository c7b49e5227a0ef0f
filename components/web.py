"""The web tier: an internet-facing ALB that only CloudFront can reach, and one ECS Fargate service
per configured service behind it, sized for the spike.

Reaching the ALB takes two things only CloudFront has: an address in the CloudFront origin-facing
managed prefix list (the security group admits 443 from nothing else) and the secret origin header
(every listener rule requires it; the listener's default answer is 403). Port 80 only redirects.

Each service: its own ECR repository, image (built and pushed by `pulumi up`, or built
elsewhere: `images`), task definition pinned to the image's digest and running the service's
command (`ServiceSpec.command`), task role, execution role and log group; tasks in the private
subnets of every AZ, no public IP, read-only root file system (a scratch volume on /tmp), a
container health check in Python (the image has no curl or wget), a deployment circuit breaker
that rolls back, and target-tracking autoscaling on CPU and on ALB requests per target (see
`web_autoscaling`).

`pulumi up` waits for every service to reach a steady state, and fails when a deployment did not
stick: the provider reports success once a rolled-back deployment is steady (terraform-provider-aws
#20858), so the service's deployed task definition is compared with the one just registered.

Tracing (the APM seam): every task runs an AWS Distro for OpenTelemetry collector sidecar. By
default the app sends OTLP to it on 127.0.0.1:4318 and it exports traces to X-Ray. With an APM
configured, the app container and the sidecar both get `OTEL_EXPORTER_OTLP_ENDPOINT` (the APM's
endpoint) and `OTEL_EXPORTER_OTLP_HEADERS` as a Secrets Manager reference (the secret holds the
vendor's header in OTLP's `name=value` form), so the app's OpenTelemetry SDK exports straight to the
APM with the standard variables, whatever the vendor.

Staff sign-in: a service given an `OidcAuthentication` (the admin) gets an `authenticate-oidc` action
before its forward, so the ALB signs staff in with the company's OpenID Connect provider and hands
the service their claims signed in `x-amzn-oidc-data`; its rule also takes the ALB's callback path.
The service learns the ALB's ARN, the issuer and the client id (ALB_ARN, OIDC_ISSUER,
OIDC_CLIENT_ID) to verify that token. The client secret reaches the ALB only (a secret input).

Secrets reach containers only as Secrets Manager references (`secrets` in the task definition,
fetched by the execution role); a plain environment variable whose name looks like a secret is
refused before any resource is made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ScheduledScaleOut, ServiceSpec
from components.defaults import (
    ALB_OIDC_CALLBACK_PATH,
    ALB_TLS_POLICY,
    ApmSettings,
    Statement,
    assume_role_policy,
    log_group,
    policy_document,
    private_bucket,
)
from components.images import (
    CONTEXT_TAG_PATTERN,
    ImageSettings,
    ServiceImages,
    validate_images,
)
from components.providers import workload_tags
from components.usage import service_usage_tags
from components.web_autoscaling import ServiceScaling, ServiceScalingArgs, capacity

CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
OTEL_COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.45.0"
OTEL_COLLECTOR = "otel-collector"
TRACE_SAMPLE_RATIO = 0.05
FARGATE_CPU_ARCHITECTURE = "ARM64"  # Graviton, like the Lambda functions: CI builds linux/arm64
XRAY_WRITE_POLICY_ARN = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
DEFAULT_ROUTE = "/*"
# Names that say "secret": such a value must come from Secrets Manager, not the environment.
# Names of references to secrets (..._ARN, ..._NAME, ..._ID) are fine.
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|"
                          r"OTLP_HEADERS", re.IGNORECASE)
_REFERENCE_NAME = re.compile(r"_(ARN|NAME|ID)$", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, kw_only=True)
class SecretRef:
    """A Secrets Manager secret (full ARN), or one key of its JSON value."""

    secret_arn: pulumi.Input[str]
    json_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class DedicatedRoute:
    """Paths of a service that get their own target group, so their traffic has its own ALB
    metrics (e.g. `/api/checkout` for the checkout SLO). Matched before the service's own path."""

    service: str
    paths: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class OidcAuthentication:
    """The OpenID Connect provider the ALB signs a service's users in with (authenticate-oidc)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    user_info_endpoint: str
    client_id: str
    client_secret: pulumi.Input[str]
    """Secret: handed to the ALB only."""
    scope: str = "openid email"
    session_timeout_seconds: int = 8 * 3600
    """A working day; the ALB's default is 7 days."""


@dataclass(frozen=True, kw_only=True)
class WebServicesArgs:
    services: Sequence[ServiceSpec]
    spike_factor: int
    """Every service's maximum serves this multiple of its daily average (`ServiceSpec.max_tasks`)."""
    region: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_subnet_ids: Sequence[pulumi.Input[str]]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    """One per AZ: tasks are spread over all of them."""
    certificate_arn: pulumi.Input[str]
    """ACM certificate (in this Region) for the host name CloudFront uses to reach the ALB: an
    ARN, or the output of its validation, so the listener waits until it is issued."""
    origin_header_name: str
    origin_header_value: pulumi.Input[str]
    """Secret: the value CloudFront adds. Requests without it get 403."""
    log_retention_days: int
    logs_kms_key_arn: pulumi.Input[str]
    deletion_protection: bool
    scheduled_scale_outs: Sequence[ScheduledScaleOut] = ()
    apm: ApmSettings | None = None
    client_security_group_ids: Sequence[pulumi.Input[str]] = ()
    """Extra groups every task joins (e.g. the data tier's app client group)."""
    environment: Mapping[str, Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    """Per service name: non-secret variables (endpoints, table names, ARNs)."""
    secrets: Mapping[str, Mapping[str, pulumi.Input[str] | SecretRef]] = field(default_factory=dict)
    """Per service name: variable -> secret ARN (or SecretRef), read by the execution role."""
    task_permissions: Mapping[str, Sequence[Statement]] = field(default_factory=dict)
    """Per service name: what its code may do (each statement naming its resources)."""
    secret_kms_key_arns: Sequence[pulumi.Input[str]] = ()
    """Customer-managed keys that encrypt those secrets (the execution role may decrypt)."""
    dedicated_routes: Mapping[str, DedicatedRoute] = field(default_factory=dict)
    images: ImageSettings = ImageSettings()
    """Where the services' images come from: built from app_code/ (default) or prebuilt."""
    extra_paths: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Per service name: more path patterns its listener rule matches besides its own `path` (the
    order service's account pages); no target group or metrics of their own."""
    authentication: Mapping[str, OidcAuthentication] = field(default_factory=dict)
    """Per service name: users sign in at the ALB before any request reaches the service."""
    extra_certificate_arns: Sequence[pulumi.Input[str]] = ()
    """More certificates for the HTTPS listener (e.g. the shop's own host name, which CloudFront
    sends as Host on the paths where the ALB signs staff in)."""
    traffic_percent: int = 100
    """The share of each service's baselineRps the stack receives: each service states its traffic
    for the cost estimate (`components.usage`)."""


class DeploymentRolledBack(pulumi.RunError):
    """A service's new tasks did not start, and the circuit breaker restored the previous ones."""


def deployed_task_definition(service: str, registered: str, deployed: str) -> str:
    """`deployed`, unless it is not the task definition this update registered: then the
    deployment was rolled back and the update fails, naming the service."""
    if deployed != registered:
        raise DeploymentRolledBack(
            f"{service}: the deployment of {registered} was rolled back by the circuit breaker (its "
            f"tasks did not start or stay healthy); the service still runs {deployed}. See its "
            "stopped tasks and log group (docs/operations.md, Unhealthy targets)")
    return deployed


def _deployed(service: str, arns: list[str]) -> str:
    return deployed_task_definition(service, str(arns[0]), str(arns[1]))


def health_path(spec: ServiceSpec) -> str:
    """`/api/*` -> `/api/health`, `/*` -> `/health`: the service answers 200 there."""
    prefix = spec.path.rstrip("*").rstrip("/")
    return f"{prefix}/health"


def looks_secret(variable: str) -> bool:
    return bool(_SECRET_NAME.search(variable)) and not _REFERENCE_NAME.search(variable)


class WebServices(pulumi.ComponentResource):
    alb_arn: pulumi.Output[str]
    alb_arn_suffix: pulumi.Output[str]
    """The `LoadBalancer` dimension of ALB metrics."""
    alb_dns_name: pulumi.Output[str]
    """Point the origin host name (CNAME or alias) at it."""
    alb_zone_id: pulumi.Output[str]
    alb_security_group_id: pulumi.Output[str]
    listener_arn: pulumi.Output[str]
    """The HTTPS listener."""
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    service_security_group_id: pulumi.Output[str]
    """The app tier's own group: admitted by the data stores."""
    service_names: dict[str, pulumi.Output[str]]
    target_group_arn_suffixes: dict[str, pulumi.Output[str]]
    """Per service: the `TargetGroup` dimension of its ALB metrics."""
    route_target_group_arn_suffixes: dict[str, pulumi.Output[str]]
    """Per dedicated route (e.g. `checkout`)."""
    task_role_arns: dict[str, pulumi.Output[str]]
    task_role_names: dict[str, pulumi.Output[str]]
    """Attach the service's own permissions (tables, bus, secrets it reads) to these."""
    execution_role_names: dict[str, pulumi.Output[str]]
    repository_urls: dict[str, pulumi.Output[str]]
    log_group_names: dict[str, pulumi.Output[str]]
    images: dict[str, pulumi.Output[str]]
    """Per service: the image its task definition runs (`<repository>@sha256:...`)."""
    deployed_task_definitions: dict[str, pulumi.Output[str]]
    """Per service: the task definition it runs after the update (an update that was rolled
    back fails instead)."""
    min_tasks: dict[str, int]
    max_tasks: dict[str, int]
    autoscaling_targets: dict[str, aws.appautoscaling.Target]

    def __init__(self, name: str, args: WebServicesArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        validate_images(args.images, name, args.services)
        super().__init__("ecommerce:web:WebServices", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        images = ServiceImages(args.images, parent=self)
        groups = _security_groups(name, args, self)
        front = _load_balancer(name, args, groups, self)
        cluster = aws.ecs.Cluster(
            name, settings=[{"name": "containerInsights", "value": "enabled"}], opts=child)

        self.service_names, self.target_group_arn_suffixes = {}, {}
        self.route_target_group_arn_suffixes = {}
        self.task_role_arns, self.task_role_names, self.execution_role_names = {}, {}, {}
        self.repository_urls, self.log_group_names = {}, {}
        self.images, self.deployed_task_definitions = {}, {}
        self.min_tasks, self.max_tasks, self.autoscaling_targets = {}, {}, {}
        for index, spec in enumerate(args.services):
            svc = f"{name}-{spec.name}"
            base = _service_base(svc, spec, args, images=images, parent=self)
            routing = _routing(name, index, spec, args, front=front, parent=self)
            running = _task_and_service(svc, spec, args, base=base, routing=routing, front=front,
                                        cluster=cluster, parent=self)
            self.service_names[spec.name] = running.service.name
            self.target_group_arn_suffixes[spec.name] = routing.target_group.arn_suffix
            self.route_target_group_arn_suffixes.update(routing.route_arn_suffixes)
            self.task_role_arns[spec.name] = base.task_role.arn
            self.task_role_names[spec.name] = base.task_role.name
            self.execution_role_names[spec.name] = base.execution_role.name
            self.repository_urls[spec.name] = base.repository.repository_url
            self.log_group_names[spec.name] = base.log_group.name
            self.min_tasks[spec.name], self.max_tasks[spec.name] = running.min_tasks, running.max_tasks
            self.images[spec.name] = base.image
            self.deployed_task_definitions[spec.name] = pulumi.Output.all(
                running.task.arn, running.service.task_definition).apply(
                partial(_deployed, spec.name))
            self.autoscaling_targets[spec.name] = running.scaling.target

        self.alb_arn = front.alb.arn
        self.alb_arn_suffix = front.alb.arn_suffix
        self.alb_dns_name = front.alb.dns_name
        self.alb_zone_id = front.alb.zone_id
        self.alb_security_group_id = groups.alb.id
        self.listener_arn = front.https.arn
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.service_security_group_id = groups.services.id
        self.register_outputs({
            "alb_arn_suffix": self.alb_arn_suffix, "alb_dns_name": self.alb_dns_name,
            "listener_arn": self.listener_arn, "cluster_name": self.cluster_name,
            "service_security_group_id": self.service_security_group_id,
            "service_names": self.service_names, "repository_urls": self.repository_urls,
            "target_group_arn_suffixes": self.target_group_arn_suffixes,
            "task_role_arns": self.task_role_arns, "images": self.images,
            "deployed_task_definitions": self.deployed_task_definitions})


# ----------------------------------------------------------------------------------------------
# The steps of WebServices, each returning what the next ones need


@dataclass(frozen=True)
class _SecurityGroups:
    alb: aws.ec2.SecurityGroup
    """HTTPS from CloudFront's origin-facing addresses only."""
    services: aws.ec2.SecurityGroup
    """The tasks: their ports from the ALB."""


def _security_groups(name: str, args: WebServicesArgs, parent: pulumi.Resource) -> _SecurityGroups:
    child = pulumi.ResourceOptions(parent=parent)
    ports = sorted({s.port for s in args.services})
    cloudfront = aws.ec2.get_managed_prefix_list_output(
        name=CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=parent))
    # Only 443: the prefix list counts ~55 rules against the group's quota of 60.
    alb_sg = aws.ec2.SecurityGroup(
        f"{name}-alb", vpc_id=args.vpc_id, description="ALB: HTTPS from CloudFront only",
        ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
                  "prefix_list_ids": [cloudfront.id],
                  "description": "CloudFront origin-facing addresses"}],
        egress=[{"protocol": "tcp", "from_port": port, "to_port": port,
                 "cidr_blocks": [args.vpc_cidr], "description": "to the service tasks"}
                for port in ports],
        tags={"Name": f"{name}-alb"}, opts=child)
    service_sg = aws.ec2.SecurityGroup(
        f"{name}-services", vpc_id=args.vpc_id, description="ECS tasks: traffic from the ALB",
        ingress=[{"protocol": "tcp", "from_port": port, "to_port": port,
                  "security_groups": [alb_sg.id], "description": "from the ALB"}
                 for port in ports],
        egress=[{"protocol": "tcp", "from_port": 443, "to_port": 443,
                 "cidr_blocks": ["0.0.0.0/0"],
                 "description": "AWS APIs, payment provider, APM (through NAT)"},
                {"protocol": "tcp", "from_port": 0, "to_port": 65535,
                 "cidr_blocks": [args.vpc_cidr], "description": "data stores in the VPC"}],
        tags={"Name": f"{name}-services"}, opts=child)
    return _SecurityGroups(alb=alb_sg, services=service_sg)


@dataclass(frozen=True)
class _Front:
    alb: aws.lb.LoadBalancer
    https: aws.lb.Listener
    """403 unless a listener rule (which requires the origin header) matches."""
    groups: _SecurityGroups


def _load_balancer(name: str, args: WebServicesArgs, groups: _SecurityGroups,
                   parent: pulumi.Resource) -> _Front:
    """The ALB with its access-log bucket, the HTTPS listener and the HTTP one that redirects."""
    child = pulumi.ResourceOptions(parent=parent)
    elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    logs = private_bucket(f"{name}-alb-logs", opts=child, versioned=False,
                          expire_after_days=args.log_retention_days)
    logs_policy = logs.with_policy([{
        "Sid": "AlbAccessLogDelivery", "Effect": "Allow",
        "Principal": {"AWS": elb_account.arn,
                      "Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": pulumi.Output.concat(logs.bucket.arn, "/alb/AWSLogs/*")}])
    alb = aws.lb.LoadBalancer(
        name, load_balancer_type="application", internal=False,
        subnets=list(args.public_subnet_ids), security_groups=[groups.alb.id],
        drop_invalid_header_fields=True, enable_deletion_protection=args.deletion_protection,
        access_logs={"bucket": logs.bucket.bucket, "enabled": True, "prefix": "alb"},
        idle_timeout=60, opts=pulumi.ResourceOptions(parent=parent, depends_on=[logs_policy]))
    https = aws.lb.Listener(
        f"{name}-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
        ssl_policy=ALB_TLS_POLICY, certificate_arn=args.certificate_arn,
        default_actions=[{"type": "fixed-response", "fixed_response": {
            "content_type": "text/plain", "message_body": "Forbidden", "status_code": "403"}}],
        opts=child)
    for cert_index, certificate_arn in enumerate(args.extra_certificate_arns):
        aws.lb.ListenerCertificate(f"{name}-https-{cert_index + 1}", listener_arn=https.arn,
                                   certificate_arn=certificate_arn, opts=child)
    aws.lb.Listener(
        f"{name}-http", load_balancer_arn=alb.arn, port=80, protocol="HTTP",
        default_actions=[{"type": "redirect", "redirect": {
            "port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}],
        opts=child)
    return _Front(alb=alb, https=https, groups=groups)


@dataclass(frozen=True)
class _ServiceBase:
    """A service's image, logs and roles."""

    repository: aws.ecr.Repository
    image: pulumi.Output[str]
    log_group: aws.cloudwatch.LogGroup
    secrets: dict[str, SecretRef]
    execution_role: aws.iam.Role
    task_role: aws.iam.Role


def _service_base(svc: str, spec: ServiceSpec, args: WebServicesArgs, *, images: ServiceImages,
                  parent: pulumi.Resource) -> _ServiceBase:
    child = pulumi.ResourceOptions(parent=parent)
    repo = aws.ecr.Repository(
        svc, image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
        image_tag_mutability_exclusion_filters=[
            {"filter": CONTEXT_TAG_PATTERN, "filter_type": "WILDCARD"}],
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS"}], opts=child)
    aws.ecr.LifecyclePolicy(svc, repository=repo.name, policy=_ECR_LIFECYCLE, opts=child)
    image = images.image(svc, spec, repo)
    logs_group = log_group(
        svc, retention_days=args.log_retention_days, kms_key_arn=args.logs_kms_key_arn,
        log_group_name=f"/ecs/{pulumi.get_project()}-{pulumi.get_stack()}/{spec.name}",
        opts=child)
    secrets = _service_secrets(args, spec.name)
    execution_role = aws.iam.Role(
        f"{svc}-execution", assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
        description=f"ECS pulls {spec.name}'s image, writes its logs, reads its secrets",
        opts=child)
    aws.iam.RolePolicy(
        f"{svc}-execution", role=execution_role.id, opts=child,
        policy=policy_document(_execution_statements(
            repo.arn, logs_group.arn, [s.secret_arn for s in secrets.values()],
            args.secret_kms_key_arns, args.region)))
    task_role = aws.iam.Role(
        f"{svc}-task", assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
        description=f"What {spec.name}'s code may do", opts=child)
    aws.iam.RolePolicyAttachment(f"{svc}-task-xray", role=task_role.name,
                                 policy_arn=XRAY_WRITE_POLICY_ARN, opts=child)
    if args.task_permissions.get(spec.name):
        aws.iam.RolePolicy(f"{svc}-task", role=task_role.id, opts=child,
                           policy=policy_document(args.task_permissions[spec.name]))
    return _ServiceBase(repository=repo, image=image, log_group=logs_group, secrets=secrets,
                        execution_role=execution_role, task_role=task_role)


@dataclass(frozen=True)
class _Routing:
    """How the ALB reaches a service: its target groups and the listener rules in front of them."""

    target_group: aws.lb.TargetGroup
    rules: list[aws.lb.ListenerRule]
    load_balancers: list[aws.ecs.ServiceLoadBalancerArgsDict]
    authentication: OidcAuthentication | None
    route_arn_suffixes: dict[str, pulumi.Output[str]]
    """Per dedicated route of the service: its target group's metric dimension."""


def _routing(name: str, index: int, spec: ServiceSpec, args: WebServicesArgs, *, front: _Front,
             parent: pulumi.Resource) -> _Routing:
    child = pulumi.ResourceOptions(parent=parent)
    svc = f"{name}-{spec.name}"

    def header_rule(rule_name: str, priority: int, paths: Sequence[str],
                    target_group: aws.lb.TargetGroup,
                    authentication: OidcAuthentication | None = None) -> aws.lb.ListenerRule:
        actions: list[aws.lb.ListenerRuleActionArgsDict] = [
            {"type": "forward", "target_group_arn": target_group.arn}]
        if authentication is not None:
            actions = [_authenticate(authentication), {**actions[0], "order": 2}]
            paths = [*paths, ALB_OIDC_CALLBACK_PATH]
        return aws.lb.ListenerRule(
            rule_name, listener_arn=front.https.arn, priority=priority, actions=actions,
            conditions=[{"path_pattern": {"values": list(paths)}},
                        {"http_header": {"http_header_name": args.origin_header_name,
                                         "values": [args.origin_header_value]}}],
            opts=child)

    target_group = _target_group(svc, spec, args.vpc_id, child)
    if spec.path == DEFAULT_ROUTE:
        priority = 50_000  # the ALB's last rule: everything else that carries the header
    else:
        priority = 100 + 10 * index  # config order: list more specific paths first
    authentication = args.authentication.get(spec.name)
    rules = [header_rule(svc, priority, [spec.path, *args.extra_paths.get(spec.name, ())],
                         target_group, authentication)]
    load_balancers: list[aws.ecs.ServiceLoadBalancerArgsDict] = [
        {"target_group_arn": target_group.arn, "container_name": spec.name,
         "container_port": spec.port}]
    suffixes: dict[str, pulumi.Output[str]] = {}
    for route_index, (route_name, route) in enumerate(args.dedicated_routes.items()):
        if route.service != spec.name:
            continue
        route_group = _target_group(f"{name}-{route_name}", spec, args.vpc_id, child)
        rules.append(header_rule(f"{name}-{route_name}", 1 + route_index, route.paths,
                                 route_group))
        load_balancers.append({"target_group_arn": route_group.arn,
                               "container_name": spec.name, "container_port": spec.port})
        suffixes[route_name] = route_group.arn_suffix
    return _Routing(target_group=target_group, rules=rules, load_balancers=load_balancers,
                    authentication=authentication, route_arn_suffixes=suffixes)


@dataclass(frozen=True)
class _Running:
    task: aws.ecs.TaskDefinition
    service: aws.ecs.Service
    scaling: ServiceScaling
    min_tasks: int
    max_tasks: int


def _task_and_service(svc: str, spec: ServiceSpec, args: WebServicesArgs, *, base: _ServiceBase,
                      routing: _Routing, front: _Front, cluster: aws.ecs.Cluster,
                      parent: pulumi.Resource) -> _Running:
    """The task definition, the service running it in every AZ, and its autoscaling."""
    child = pulumi.ResourceOptions(parent=parent)
    task = aws.ecs.TaskDefinition(
        svc, family=f"{pulumi.get_project()}-{pulumi.get_stack()}-{spec.name}",
        cpu=str(spec.cpu), memory=str(spec.memory), network_mode="awsvpc",
        requires_compatibilities=["FARGATE"],
        runtime_platform={"operating_system_family": "LINUX",
                          "cpu_architecture": FARGATE_CPU_ARCHITECTURE},
        execution_role_arn=base.execution_role.arn, task_role_arn=base.task_role.arn,
        volumes=[{"name": "tmp"}],
        container_definitions=_container_definitions(
            spec, image=base.image,
            log_group_name=base.log_group.name, region=args.region, apm=args.apm,
            environment={**args.environment.get(spec.name, {}),
                         **_verification_env(front.alb.arn, routing.authentication)},
            secrets=base.secrets),
        tags=workload_tags(spec.name), opts=child)
    minimum, maximum = capacity(spec, args.spike_factor)
    service = aws.ecs.Service(
        svc, cluster=cluster.arn, task_definition=task.arn, desired_count=minimum,
        launch_type="FARGATE", platform_version="LATEST",
        network_configuration={
            "subnets": list(args.private_subnet_ids), "assign_public_ip": False,
            "security_groups": [front.groups.services.id, *args.client_security_group_ids]},
        load_balancers=routing.load_balancers,
        deployment_circuit_breaker={"enable": True, "rollback": True},
        wait_for_steady_state=True,
        deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
        health_check_grace_period_seconds=60, availability_zone_rebalancing="ENABLED",
        enable_execute_command=False, enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        tags={**workload_tags(spec.name), **service_usage_tags(spec, args.traffic_percent)},
        # Autoscaling owns the running count; the target group must be on the ALB first.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=routing.rules,
                                    ignore_changes=["desired_count"]))
    scaling = ServiceScaling(svc, ServiceScalingArgs(
        spec=spec, spike_factor=args.spike_factor, cluster_name=cluster.name,
        service_name=service.name, alb_arn_suffix=front.alb.arn_suffix,
        target_group_arn_suffix=routing.target_group.arn_suffix,
        scheduled_scale_outs=tuple(args.scheduled_scale_outs)), opts=child)
    return _Running(task=task, service=service, scaling=scaling, min_tasks=minimum, max_tasks=maximum)


# ----------------------------------------------------------------------------------------------
# Pieces


_ECR_LIFECYCLE = json.dumps({"rules": [
    {"rulePriority": 1, "description": "Untagged layers go after 14 days",
     "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                   "countUnit": "days", "countNumber": 14},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "Keep the newest 200 images (rollbacks reach far back)",
     "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 200},
     "action": {"type": "expire"}}]})


def _validate(name: str, args: WebServicesArgs) -> None:
    names = [s.name for s in args.services]
    if not names:
        raise ValueError(f"{name}: at least one service is needed")
    if len(set(names)) != len(names):
        raise ValueError(f"{name}: service names repeat: {names}")
    if [s.path for s in args.services].count(DEFAULT_ROUTE) != 1:
        raise ValueError(f"{name}: exactly one service must take the default route {DEFAULT_ROUTE}")
    if len(args.private_subnet_ids) < 2:
        raise ValueError(f"{name}: tasks need private subnets in at least two AZs")
    for service, paths in args.extra_paths.items():
        if len(paths) + 1 + (service in args.authentication) > 4:
            raise ValueError(f"{name}: {service} matches more than 4 paths (the ALB allows 5 condition "
                             "values and the origin header takes one)")
    for kind, per_service in (("environment", args.environment), ("secrets", args.secrets),
                              ("extra_paths", args.extra_paths),
                              ("task_permissions", args.task_permissions),
                              ("authentication", args.authentication)):
        unknown = set(per_service) - set(names)
        if unknown:
            raise ValueError(f"{name}: {kind} names unknown services {sorted(unknown)}")
    _validate_environment(name, args)
    _validate_routes(name, args, names)


def _validate_environment(name: str, args: WebServicesArgs) -> None:
    """Plain variables are not secrets, have valid names and leave the web tier's own alone."""
    for service, variables in args.environment.items():
        for variable in variables:
            if not _ENV_NAME.fullmatch(variable):
                raise ValueError(f"{name}: {service} environment variable {variable!r} is not "
                                 "a valid name")
            if looks_secret(variable):
                raise ValueError(f"{name}: {service} environment variable {variable} looks like a "
                                 "secret: pass it in `secrets` as a Secrets Manager ARN")
            if variable.startswith(("OTEL_", "UVICORN_")) or \
                    variable in ("PORT", "SERVICE_NAME", *_VERIFICATION_ENV):
                raise ValueError(f"{name}: {service} environment variable {variable} is set by "
                                 "the web tier")
        overlap = set(variables) & set(args.secrets.get(service, {}))
        if overlap:
            raise ValueError(f"{name}: {service} sets {sorted(overlap)} both as environment and "
                             "as secret")


def _validate_routes(name: str, args: WebServicesArgs, names: Sequence[str]) -> None:
    for route_name, route in args.dedicated_routes.items():
        if route.service not in names:
            raise ValueError(f"{name}: dedicated route {route_name} names unknown service "
                             f"{route.service}")
        if route_name in names:
            raise ValueError(f"{name}: dedicated route {route_name} has a service's name")
        if not route.paths or len(route.paths) > 4:
            raise ValueError(f"{name}: dedicated route {route_name} needs 1 to 4 paths (the "
                             "ALB allows 5 condition values and the origin header takes one)")


_VERIFICATION_ENV = ("ALB_ARN", "OIDC_ISSUER", "OIDC_CLIENT_ID")


def _authenticate(auth: OidcAuthentication) -> aws.lb.ListenerRuleActionArgsDict:
    """Sign the user in with the provider (redirect, code exchange, session cookie) before forwarding."""
    return {"type": "authenticate-oidc", "order": 1, "authenticate_oidc": {
        "issuer": auth.issuer, "authorization_endpoint": auth.authorization_endpoint,
        "token_endpoint": auth.token_endpoint, "user_info_endpoint": auth.user_info_endpoint,
        "client_id": auth.client_id, "client_secret": auth.client_secret, "scope": auth.scope,
        "on_unauthenticated_request": "authenticate",
        "session_timeout": auth.session_timeout_seconds}}


def _verification_env(alb_arn: pulumi.Output[str],
                      auth: OidcAuthentication | None) -> dict[str, pulumi.Input[str]]:
    """What the service needs to verify the ALB's signed claims (shop.admin.identity)."""
    if auth is None:
        return {}
    return dict(zip(_VERIFICATION_ENV, (alb_arn, auth.issuer, auth.client_id), strict=True))


def _service_secrets(args: WebServicesArgs, service: str) -> dict[str, SecretRef]:
    secrets = {variable: ref if isinstance(ref, SecretRef) else SecretRef(secret_arn=ref)
               for variable, ref in args.secrets.get(service, {}).items()}
    if args.apm is not None:
        secrets["OTEL_EXPORTER_OTLP_HEADERS"] = SecretRef(secret_arn=args.apm.api_key_secret_arn)
    return secrets


def _target_group(name: str, spec: ServiceSpec, vpc_id: pulumi.Input[str],
                  opts: pulumi.ResourceOptions) -> aws.lb.TargetGroup:
    return aws.lb.TargetGroup(
        name, port=spec.port, protocol="HTTP", target_type="ip", vpc_id=vpc_id,
        deregistration_delay=30,
        health_check={"enabled": True, "path": health_path(spec), "protocol": "HTTP",
                      "matcher": "200", "interval": 15, "timeout": 5, "healthy_threshold": 2,
                      "unhealthy_threshold": 3},
        opts=opts)


def _execution_statements(repository_arn: pulumi.Input[str], log_group_arn: pulumi.Output[str],
                          secret_arns: Sequence[pulumi.Input[str]],
                          kms_key_arns: Sequence[pulumi.Input[str]], region: str,
                          ) -> list[Statement]:
    statements: list[Statement] = [
        # GetAuthorizationToken has no resource to scope to; it only returns a pull token.
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
         "Resource": "*"},
        {"Sid": "PullOwnImage", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage"], "Resource": repository_arn},
        {"Sid": "WriteOwnLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": pulumi.Output.concat(log_group_arn, ":*")},
    ]
    if secret_arns:
        statements.append({"Sid": "ReadOwnSecrets", "Effect": "Allow",
                           "Action": "secretsmanager:GetSecretValue",
                           "Resource": list(secret_arns)})
    if secret_arns and kms_key_arns:
        statements.append({
            "Sid": "DecryptOwnSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": list(kms_key_arns),
            "Condition": {"StringEquals": {
                "kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}}})
    return statements


def _collector_config() -> str:
    """The sidecar's configuration: OTLP in on localhost, traces out to X-Ray."""
    return json.dumps({  # JSON is YAML
        "extensions": {"health_check": {}},
        "receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:4317"},
                                             "http": {"endpoint": "127.0.0.1:4318"}}}},
        "processors": {"resourcedetection": {"detectors": ["env", "ecs"]},
                       "batch/traces": {"timeout": "1s", "send_batch_size": 50}},
        "exporters": {"awsxray": {}},
        "service": {"extensions": ["health_check"], "pipelines": {"traces": {
            "receivers": ["otlp"], "processors": ["resourcedetection", "batch/traces"],
            "exporters": ["awsxray"]}}},
    }, separators=(",", ":"))


def _container_definitions(spec: ServiceSpec, *, image: pulumi.Output[str],
                           log_group_name: pulumi.Output[str], region: str,
                           apm: ApmSettings | None,
                           environment: Mapping[str, pulumi.Input[str]],
                           secrets: Mapping[str, SecretRef]) -> pulumi.Output[str]:
    def logging(prefix: str) -> dict[str, Any]:
        return {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group_name, "awslogs-region": region,
            "awslogs-stream-prefix": prefix, "mode": "non-blocking",
            "max-buffer-size": "25m"}}

    if apm is not None:
        telemetry = {"OTEL_EXPORTER_OTLP_ENDPOINT": apm.otlp_endpoint}
    else:
        telemetry = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    app_env: dict[str, pulumi.Input[str]] = {
        "PORT": str(spec.port), "UVICORN_PORT": str(spec.port), "SERVICE_NAME": spec.name,
        "OTEL_SERVICE_NAME": spec.name, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        # Keep 5% of new traces (and follow the caller's decision): enough to debug a spike,
        # without a trace bill that grows with every Black Friday request.
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": str(TRACE_SAMPLE_RATIO),
        "OTEL_RESOURCE_ATTRIBUTES": f"service.namespace={pulumi.get_project()},"
                                    f"deployment.environment={pulumi.get_stack()}",
        **telemetry, **environment}
    collector_env: dict[str, pulumi.Input[str]] = {"AOT_CONFIG_CONTENT": _collector_config()}
    apm_secrets: dict[str, SecretRef] = {}
    if apm is not None:
        collector_env.update(telemetry)
        apm_secrets = {"OTEL_EXPORTER_OTLP_HEADERS": secrets["OTEL_EXPORTER_OTLP_HEADERS"]}
    app = {
        "name": spec.name, "image": image, "command": list(spec.command), "essential": True,
        "readonlyRootFilesystem": True,
        "portMappings": [{"containerPort": spec.port, "protocol": "tcp", "name": "http"}],
        "environment": _pairs(app_env), "secrets": _secret_refs(secrets),
        "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
        "linuxParameters": {"initProcessEnabled": True},
        "healthCheck": {"command": ["CMD", "python", "-c", _health_check(spec)],
                        "interval": 15, "timeout": 5, "retries": 3, "startPeriod": 30},
        "dependsOn": [{"containerName": OTEL_COLLECTOR, "condition": "START"}],
        "logConfiguration": logging(spec.name),
    }
    collector = {
        "name": OTEL_COLLECTOR, "image": OTEL_COLLECTOR_IMAGE, "essential": False,
        "readonlyRootFilesystem": True, "memoryReservation": 64,
        "environment": _pairs(collector_env), "secrets": _secret_refs(apm_secrets),
        "healthCheck": {"command": ["/healthcheck"], "interval": 15, "timeout": 5,
                        "retries": 3, "startPeriod": 10},
        "logConfiguration": logging(OTEL_COLLECTOR),
    }
    return pulumi.Output.json_dumps([app, collector])


def _health_check(spec: ServiceSpec) -> str:
    """Python (the image's, which has no curl or wget) fetching the health path on the task's own
    PORT; any answer but 2xx, or none within 4 s, exits non-zero."""
    return ("import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + "
            f"os.environ['PORT'] + {health_path(spec)!r}, timeout=4)")


def _pairs(variables: Mapping[str, pulumi.Input[str]]) -> list[dict[str, pulumi.Input[str]]]:
    return [{"name": k, "value": variables[k]} for k in sorted(variables)]


def _secret_refs(secrets: Mapping[str, SecretRef]) -> list[dict[str, pulumi.Input[str]]]:
    refs: list[dict[str, pulumi.Input[str]]] = []
    for variable in sorted(secrets):
        ref = secrets[variable]
        value_from = (pulumi.Output.concat(ref.secret_arn, ":", ref.json_key, "::")
                      if ref.json_key else ref.secret_arn)
        refs.append({"name": variable, "valueFrom": value_from})
    return refs
