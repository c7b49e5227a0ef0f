"""The no-op pack: what the SDK and the Analyzer protocol cost when the policies check nothing.

By default one resource policy that does nothing: the floor of the policy pack benchmark. The
benchmark also starts it with as many no-op resource and stack policies as the real pack has
(BENCH_NOOP_RESOURCE_POLICIES, BENCH_NOOP_STACK_POLICIES), to separate what the SDK costs per
policy from what the real policies' checks cost.
"""

import os

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)


def _check_nothing(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    return None


def _check_no_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    return None


RESOURCE_POLICIES = int(os.environ.get("BENCH_NOOP_RESOURCE_POLICIES", "1"))
STACK_POLICIES = int(os.environ.get("BENCH_NOOP_STACK_POLICIES", "0"))

PolicyPack(name="noop", enforcement_level=EnforcementLevel.ADVISORY, policies=[
    *(ResourceValidationPolicy(name=f"noop-{i}", description="Checks nothing.", validate=_check_nothing)
      for i in range(RESOURCE_POLICIES)),
    *(StackValidationPolicy(name=f"noop-stack-{i}", description="Checks nothing.", validate=_check_no_stack)
      for i in range(STACK_POLICIES)),
])
