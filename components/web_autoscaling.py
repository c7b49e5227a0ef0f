"""Autoscaling of one ECS service: sized for the spike, tracking CPU and ALB requests per task,
pre-scaled for known events.

The sizing rule (docs/config.md, `services`):
- minimum = `minTasks` (at least 2, so a service always has tasks in two AZs);
- maximum = `ServiceSpec.max_tasks(spikeFactor)` =
  `max(minTasks, ceil(baselineRps x spikeFactor x 1.25 / rpsPerTask))`: the tasks that serve the
  configured spike (20x the daily average) with 25% headroom for uneven load across tasks and AZs;
- target tracking keeps CPU at 60% and each task at `rpsPerTask` requests per second (the ALB
  metric counts per minute, so the target is `rpsPerTask x 60`); scale-out reacts after 60 s,
  scale-in waits 300 s;
- a scheduled scale-out multiplies the minimum by `minTasksFactor` from `start` to `end` (UTC),
  raising the maximum to match when needed, then restores both.

The same rule applies to every stack: the maximum is a ceiling, not a running cost, and staging
can rehearse the spike (lower `spikeFactor` there to cap it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pulumi
import pulumi_aws as aws

from components.config import ScheduledScaleOut, ServiceSpec

CPU_TARGET_PERCENT = 60.0
SCALE_OUT_COOLDOWN_SECONDS = 60
SCALE_IN_COOLDOWN_SECONDS = 300


def capacity(spec: ServiceSpec, spike_factor: int) -> tuple[int, int]:
    """(minimum, maximum) tasks of a service."""
    return spec.min_tasks, spec.max_tasks(spike_factor)


def requests_per_target_per_minute(spec: ServiceSpec) -> float:
    return spec.rps_per_task * 60


def _at(moment: datetime) -> str:
    return f"at({moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S})"


@dataclass(frozen=True, kw_only=True)
class ServiceScalingArgs:
    spec: ServiceSpec
    spike_factor: int
    cluster_name: pulumi.Input[str]
    service_name: pulumi.Input[str]
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    scheduled_scale_outs: tuple[ScheduledScaleOut, ...] = ()


class ServiceScaling:
    """The scalable target of a service and its policies; children of the caller's component.

    A plain helper rather than a component: the resources belong to the service's tier and
    keep their URNs if this code moves.
    """

    target: aws.appautoscaling.Target

    def __init__(self, name: str, args: ServiceScalingArgs, opts: pulumi.ResourceOptions) -> None:
        spec = args.spec
        minimum, maximum = capacity(spec, args.spike_factor)
        target = aws.appautoscaling.Target(
            name, service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/",
                                             args.service_name),
            min_capacity=minimum, max_capacity=maximum, opts=opts)
        def track(suffix: str, target_value: float,
                  metric: aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgsDict,  # noqa: E501
                  ) -> None:
            aws.appautoscaling.Policy(
                f"{name}-{suffix}", policy_type="TargetTrackingScaling",
                resource_id=target.resource_id, service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                target_tracking_scaling_policy_configuration={
                    "target_value": target_value, "predefined_metric_specification": metric,
                    "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
                    "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS},
                opts=opts)

        track("cpu", CPU_TARGET_PERCENT,
              {"predefined_metric_type": "ECSServiceAverageCPUUtilization"})
        track("requests", requests_per_target_per_minute(spec),
              {"predefined_metric_type": "ALBRequestCountPerTarget",
               "resource_label": pulumi.Output.concat(args.alb_arn_suffix, "/",
                                                      args.target_group_arn_suffix)})
        for event in args.scheduled_scale_outs:
            boosted = minimum * event.min_tasks_factor
            aws.appautoscaling.ScheduledAction(
                f"{name}-{event.name}-start", schedule=_at(event.start), timezone="UTC",
                resource_id=target.resource_id, service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                scalable_target_action={"min_capacity": boosted,
                                        "max_capacity": max(maximum, boosted)},
                opts=opts)
            aws.appautoscaling.ScheduledAction(
                f"{name}-{event.name}-end", schedule=_at(event.end), timezone="UTC",
                resource_id=target.resource_id, service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                scalable_target_action={"min_capacity": minimum, "max_capacity": maximum},
                opts=opts)
        self.target = target
