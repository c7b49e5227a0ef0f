"""What the stack states about its own usage, as tags on the resources it describes.

The policy pack's cost estimate (policies/guardrails/cost/usage.py) prices requests and stored GB
from these tags, never from this program's config, so it prices any stack that tags its resources
the same way. The pack cannot import the program: tests/policies/cost/test_usage_tags.py ties the
tag names.
"""

from __future__ import annotations

from components.config import ServiceSpec

REQUESTS_PER_SECOND_TAG = "usage:requests-per-second"
"""On an ECS service: the average requests per second it answers, all its Regions together."""
REQUESTS_PER_TASK_TAG = "usage:requests-per-task"
"""On an ECS service: the requests per second one task serves."""
STORED_GB_TAG = "usage:stored-gb"
"""On a database cluster or a bucket: the GB it holds."""


def service_usage_tags(spec: ServiceSpec, traffic_percent: int) -> dict[str, str]:
    """A service's traffic: its `baselineRps`, of which the stack receives `traffic_percent`."""
    return {REQUESTS_PER_SECOND_TAG: f"{spec.baseline_rps * traffic_percent / 100:g}",
            REQUESTS_PER_TASK_TAG: f"{spec.rps_per_task:g}"}


def stored_gb_tags(gb: int | None) -> dict[str, str] | None:
    """The GB a store holds (None: it does not say, and the estimate assumes its default)."""
    return None if gb is None else {STORED_GB_TAG: str(gb)}
