"""Pricers of Fargate services (with their X-Ray traces), ECS clusters (Container Insights), ECR
repositories and Lambda functions."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from ...common import Res, as_list, number, parse_json
from ..context import FUNCTION, TASK_DEFINITION, Pricer, PricingContext, Unpriceable
from ..result import Charge
from ..usage import (
    ECR_BASE_GB,
    ECR_DEFAULT_IMAGES,
    ECR_GB_PER_IMAGE,
    ECS_SERVICE,
    INSIGHTS_CLUSTER_METRICS,
    INSIGHTS_GB_PER_TASK,
    INSIGHTS_SERVICE_METRICS,
    XRAY_RATE,
    XRAY_RESERVOIR_PER_SECOND,
)


def _ecs_service(resource: Res, ctx: PricingContext) -> list[Charge]:
    launch = resource.props.get("launchType")
    strategies = resource.props.get("capacityProviderStrategies")
    providers = [s.get("capacityProvider") for s in as_list(strategies) if isinstance(s, Mapping)]
    if launch not in (None, "FARGATE") or any(p not in ("FARGATE", "FARGATE_SPOT") for p in providers):
        raise Unpriceable("EC2 capacity for ECS is not modelled (its instances would be priced)")
    tasks_defs = ctx.targets(resource, "taskDefinition", TASK_DEFINITION)
    if not tasks_defs:
        raise Unpriceable("its task definition is not in the stack")
    task = tasks_defs[0]
    cpu, memory = number(task.props.get("cpu")), number(task.props.get("memory"))
    if not cpu or not memory:
        raise Unpriceable("the task definition's cpu or memory is not known")
    platform = task.props.get("runtimePlatform")
    arch = "arm64" if isinstance(platform, Mapping) and platform.get("cpuArchitecture") == "ARM64" \
        else "x86_64"
    requests, spec = ctx.service_requests(resource)
    tasks = number(resource.props.get("desiredCount")) or 1.0
    for target in ctx.referrers(resource, ["aws:appautoscaling/target:Target"], "resourceId"):
        tasks = max(tasks, number(target.props.get("minCapacity")) or 0.0)
    if spec is not None and spec.rps_per_task:
        tasks = max(tasks, math.ceil(requests / ctx.usage.seconds / spec.rps_per_task))
    charges = [Charge(f"Fargate vCPU-hours ({tasks:g} tasks x {cpu / 1024:g} vCPU, {arch})",
                      tasks * cpu / 1024 * ctx.hours, "fargate.vcpuHour", variant=arch),
               Charge(f"Fargate GB-hours ({tasks:g} tasks x {memory / 1024:g} GB)",
                      tasks * memory / 1024 * ctx.hours, "fargate.gbHour", variant=arch)]
    storage = number(resource.get("ephemeralStorage", "sizeInGib")) or \
        number(task.get("ephemeralStorage", "sizeInGib")) or 20.0
    if storage > 20:
        charges.append(Charge("ephemeral storage GB-hours above 20 GB", tasks * (storage - 20) * ctx.hours,
                              "fargate.ephemeralGbHour"))
    share, sampler = _trace_share(task, ctx)
    if share:
        charges.append(Charge(f"X-Ray traces recorded ({share:.0%} of requests sampled)",
                              requests * share / 1e6, "xray.traceMillion"))
    if share == 1.0 and sampler in (None, SAMPLER_COMPUTED) and requests:
        price, _column = ctx.prices.unit_price("xray.traceMillion", ctx.region(resource))
        traced = ctx.fully_traced if sampler is None else ctx.sampler_computed
        traced[f"{resource.name} ({ctx.region(resource)})"] = requests / 1e6 * price
    return charges


def _trace_share(task: Res, ctx: PricingContext) -> tuple[float, str | None]:
    """(share of a service's requests traced to X-Ray, the sampler its containers set): when an
    X-Ray exporter runs beside them, their OpenTelemetry sampler decides (the SDK's default,
    parentbased_always_on, samples every request)."""
    containers = parse_json(task.props.get("containerDefinitions"))
    if isinstance(containers, list):
        text = json.dumps(containers)
        if "aws-otel-collector" not in text and "xray" not in text.lower():
            return 0.0, None
        env: dict[str, str] = {}
        for container in containers:
            for pair in as_list(container.get("environment") if isinstance(container, Mapping) else None):
                if isinstance(pair, Mapping) and isinstance(pair.get("name"), str):
                    env[pair["name"]] = str(pair.get("value"))
        sampler = env.get("OTEL_TRACES_SAMPLER")
        return _sampler_share(sampler, env.get("OTEL_TRACES_SAMPLER_ARG")), sampler
    # Computed container definitions (preview): the task role's X-Ray write access tells that it
    # traces; its sampler is not known yet, so every request is priced (an upper bound).
    for role in ctx.targets(task, "taskRoleArn", "aws:iam/role:Role"):
        for attachment in ctx.referrers(role, ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
                                        "role"):
            arn = attachment.props.get("policyArn")
            if isinstance(arn, str) and "XRay" in arn:
                return 1.0, SAMPLER_COMPUTED
    return 0.0, None


SAMPLER_COMPUTED = "(computed)"


def _sampler_share(sampler: str | None, argument: str | None) -> float:
    if sampler in (None, "", "always_on", "parentbased_always_on"):
        return 1.0
    if sampler in ("always_off", "parentbased_always_off"):
        return 0.0
    ratio = number(argument)
    return min(max(ratio, 0.0), 1.0) if ratio is not None else 1.0


def _ecs_cluster(resource: Res, ctx: PricingContext) -> list[Charge]:
    settings = [s for s in as_list(resource.props.get("settings")) if isinstance(s, Mapping)]
    if not any(s.get("name") == "containerInsights" and s.get("value") in ("enabled", "enhanced")
               for s in settings):
        return []
    services = ctx.referrers(resource, [ECS_SERVICE], "cluster") or \
        ctx.in_region(ctx.region(resource), ECS_SERVICE)
    tasks = sum(number(s.props.get("desiredCount")) or 1.0 for s in services)
    metrics = INSIGHTS_CLUSTER_METRICS + INSIGHTS_SERVICE_METRICS * len(services)
    return [Charge(f"Container Insights metrics ({len(services)} services)", metrics,
                   "cloudwatch.metricMonth"),
            Charge("Container Insights performance log GB", tasks * INSIGHTS_GB_PER_TASK, "logs.ingestGb")]


def _ecr_repository(resource: Res, ctx: PricingContext) -> list[Charge]:
    images = ECR_DEFAULT_IMAGES
    for policy in ctx.referrers(resource, ["aws:ecr/lifecyclePolicy:LifecyclePolicy"], "repository"):
        document = parse_json(policy.props.get("policy"))
        for rule in as_list(document.get("rules") if isinstance(document, Mapping) else None):
            selection = rule.get("selection") if isinstance(rule, Mapping) else None
            if isinstance(selection, Mapping) and selection.get("countType") == "imageCountMoreThan":
                images = int(number(selection.get("countNumber")) or images)
    return [Charge(f"image storage GB ({images} images kept)", ECR_BASE_GB + ECR_GB_PER_IMAGE * images,
                   "ecr.storageGb")]


def _function(resource: Res, ctx: PricingContext) -> list[Charge]:
    invocations, milliseconds = ctx.function_invocations(resource)
    memory = number(resource.props.get("memorySize")) or 128.0
    architectures = resource.props.get("architectures")
    arch = "arm64" if isinstance(architectures, list) and "arm64" in architectures else "x86_64"
    charges = [Charge("invocations, millions", invocations / 1e6, "lambda.requestMillion"),
               Charge(f"GB-seconds ({memory:g} MB x {milliseconds:g} ms, {arch})",
                      invocations * milliseconds / 1000 * memory / 1024, "lambda.gbSecond", variant=arch)]
    if resource.get("tracingConfig", "mode") == "Active":
        reservoir = XRAY_RESERVOIR_PER_SECOND * ctx.usage.seconds
        traces = min(invocations, reservoir) + XRAY_RATE * max(invocations - reservoir, 0.0)
        charges.append(Charge("X-Ray traces recorded (1/s, then 5%), millions", traces / 1e6,
                              "xray.traceMillion"))
    return charges


PRICERS: Mapping[str, Pricer] = {
    ECS_SERVICE: _ecs_service,
    "aws:ecs/cluster:Cluster": _ecs_cluster,
    "aws:ecr/repository:Repository": _ecr_repository,
    FUNCTION: _function,
}
