"""Container platform: ECS Fargate, not Kubernetes (case study: EKS was considered and rejected)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import MANDATORY, Report, Res, message, resource_policy, string_list

KUBERNETES_PREFIXES = ("aws:eks/", "eks:", "kubernetes:", "pulumi:providers:kubernetes",
                       "pulumi:providers:eks")


def _check_eks(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    """No Kubernetes: EKS, pulumi-eks or any Kubernetes provider or resource.

    Covers: aws:eks/ (every EKS type), eks: (pulumi-eks components), kubernetes: (every Kubernetes
    resource), pulumi:providers:kubernetes, pulumi:providers:eks.

    Well-built programs: for this team they run containers on ECS Fargate; an approved exception is
    named in allowedResources.
    """
    if resource.name in config["allowedResources"] or resource.urn in config["allowedResources"]:
        return
    report(message(
        resource, "Kubernetes (EKS, pulumi-eks or a Kubernetes provider/resource) adds cluster "
                  "upgrades, node management and networking this team of six cannot carry",
        "run the workload as an ECS Fargate service (aws.ecs.Service with launch_type FARGATE) "
        "behind the ALB; an approved exception is listed by name in this policy's "
        "allowedResources config"))


eks_disallow = resource_policy(
    name="eks-disallow",
    description="EKS clusters, pulumi-eks components and Kubernetes resources are not allowed: "
                "ECS Fargate is the container platform.",
    level=MANDATORY, severity=Severity.HIGH, check=_check_eks, prefixes=KUBERNETES_PREFIXES,
    remediation="Replace the cluster and its workloads with ECS Fargate services; if an exception "
                "is approved, add the resource's logical name to allowedResources.",
    config={"allowedResources": string_list(
        "Logical names (or URNs) of approved Kubernetes/EKS resources.", [])},
    tags=["case-study", "operational-simplicity"],
    antipattern="adopting EKS for 'Kubernetes-native' credibility")

POLICIES = [eks_disallow]
