"""Infrastructure as code in a real language (case study: hand-writing CloudFormation from the start
leaves large templates that are hard to refactor two years in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import MANDATORY, Report, Res, message, resource_policy

STACKS = ("aws:cloudformation/stack:Stack", "aws:cloudformation/stackSet:StackSet")


def _check(resource: Res, config: Mapping[str, Any], report: Report) -> None:
    given = [k for k in ("templateBody", "templateUrl") if resource.props.get(k) not in (None, "")]
    if given:
        report(message(resource, f"a hand-written CloudFormation template ({given[0]}) is deployed",
                       "declare the resources in this Pulumi program (typed components, tested, "
                       "refactorable); to adopt existing CloudFormation resources, import them"))


cloudformation_stack_disallow_templates = resource_policy(
    name="cloudformation-stack-disallow-templates",
    description="No hand-written CloudFormation templates (template body or URL).",
    level=MANDATORY, severity=Severity.MEDIUM, types=STACKS, check=_check,
    remediation="Express the resources as Pulumi resources or components instead of a template.",
    tags=["case-study", "maintainability"])

POLICIES = [cloudformation_stack_disallow_templates]
