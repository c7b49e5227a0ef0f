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
    """The program deploys no CloudFormation template written into it.

    Covers: aws:cloudformation/stack:Stack, aws:cloudformation/stackSet:StackSet. A template_url
    (a vendor's published template, e.g. an integration's role) is not hand-written here and
    passes; a template_body is the template text in the program.

    Well-built programs: they declare their resources in the Pulumi program; a vendor's template is
    referenced by URL.
    """
    if resource.props.get("templateBody") not in (None, ""):
        report(message(resource, "a hand-written CloudFormation template (templateBody) is deployed",
                       "declare the resources in this Pulumi program (typed components, tested, "
                       "refactorable); to adopt existing CloudFormation resources, import them"))


cloudformation_stack_disallow_templates = resource_policy(
    name="cloudformation-stack-disallow-templates",
    description="No hand-written CloudFormation templates (a template body in the program).",
    level=MANDATORY, severity=Severity.MEDIUM, types=STACKS, check=_check,
    remediation="Express the resources as Pulumi resources or components instead of a template.",
    tags=["case-study", "maintainability"],
    antipattern="hand-writing CloudFormation, large templates hard to refactor two years in")

POLICIES = [cloudformation_stack_disallow_templates]
