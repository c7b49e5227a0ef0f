"""The estimate reads a stack's usage from its resources (`usage:*` tags) and the budget policy's
config, never from a program's config format: it prices a stack that is not this program the same
way (docs/cost.md)."""

from __future__ import annotations

import math

import pytest

from components import usage as program_usage
from offline.cost import resources_of
from offline.engine import Snapshot
from policies.guardrails.cost import PriceTable, UsageDefaults, estimate
from policies.guardrails.cost import usage as pack_usage
from tests.support.policy_pack import Analyze, Program, the_violation

POLICY = "stack-monthly-budget"
TABLE = PriceTable.load()
# Another team's stack: one Fargate service (0.5 vCPU, 1 GB, x86) with two tasks, nothing of this
# project's config (its Pulumi.test.yaml sets aws:region only).
SERVICE = '''
cluster = aws.ecs.Cluster("apps")
task = aws.ecs.TaskDefinition("api", family="api", cpu="512", memory="1024", network_mode="awsvpc",
                              requires_compatibilities=["FARGATE"], container_definitions=json.dumps(
                                  [{"name": "api", "image": "nginx", "essential": True}]))
aws.ecs.Service("api", cluster=cluster.arn, task_definition=task.arn, desired_count=2,
                launch_type="FARGATE", tags=TAGS)
'''


def another_stack(program: Program, tags: dict[str, str], *, preview: bool = False) -> Snapshot:
    return program(f"TAGS = {tags!r}\n" + SERVICE, preview=preview)


def fargate_tasks(snapshot: Snapshot, usage: UsageDefaults | None = None) -> float:
    """The tasks the estimate prices the service at (its vCPU-hours / 0.5 vCPU / the month)."""
    cost = estimate(resources_of(snapshot), region="us-east-1", usage=usage)
    [vcpu] = [line for line in cost.lines if line.item.startswith("Fargate vCPU-hours")]
    return vcpu.quantity / 0.5 / TABLE.hours


def test_the_program_writes_the_tags_the_pack_reads() -> None:
    # The pack cannot import the program (it is published on its own): the names are tied here.
    assert (program_usage.REQUESTS_PER_SECOND_TAG, program_usage.REQUESTS_PER_TASK_TAG,
            program_usage.STORED_GB_TAG) == pack_usage.USAGE_TAGS


def test_a_service_of_another_stack_is_sized_by_the_traffic_it_states(program: Program) -> None:
    # GIVEN another stack's service that states 100 requests/s, of which one task serves 12
    stated = another_stack(program, {pack_usage.REQUESTS_PER_SECOND_TAG: "100",
                                     pack_usage.REQUESTS_PER_TASK_TAG: "12"})

    # THEN its estimate runs the tasks that traffic needs (more than the two it asks for), and the
    # requests are the ones stated
    assert fargate_tasks(stated) == math.ceil(100 / 12)
    cost = estimate(resources_of(stated), region="us-east-1")
    assert [s.rps for s in cost.usage.services] == [100.0]
    assert cost.usage.origin_requests == pytest.approx(100 * TABLE.hours * 3600)


def test_a_stack_that_states_nothing_is_priced_by_the_policy_config(program: Program) -> None:
    # GIVEN the same service without usage tags
    silent = another_stack(program, {"team": "payments"})

    # THEN it runs its desired count, and its traffic is the model's (the budget policy's config)
    assert fargate_tasks(silent) == 2
    assumed = UsageDefaults(requests_per_second=3.0, requests_per_order=100)
    cost = estimate(resources_of(silent), region="us-east-1", usage=assumed)
    assert cost.usage.origin_rps == 3.0
    assert cost.usage.orders == pytest.approx(3.0 * TABLE.hours * 3600 / 100)


def test_the_budget_policy_config_sets_the_usage_model(program: Program, analyze: Analyze) -> None:
    # GIVEN another stack whose service states no traffic, and a budget of $1
    silent = another_stack(program, {"team": "payments"}, preview=True)

    # WHEN the pack assumes 2 requests/s for it, THEN the violation counts the requests of that
    report = analyze(silent, {POLICY: {"monthlyBudgetUsd": 1, "assumedRequestsPerSecond": 2}})
    requests = 2 * TABLE.hours * 3600
    assert f"{requests:,.0f} origin requests/month" in the_violation(report, POLICY, None).message


def test_the_program_states_its_services_traffic_and_stored_gb(staging: Snapshot) -> None:
    # GIVEN staging, which receives 1% of the services' baselineRps and holds 20 GB in Aurora
    by_name = {r.name: r.inputs["tags"] for r in staging.of_type("aws:ecs/service:Service")}
    # THEN each service states what it receives and what one task serves ...
    assert by_name["web-storefront"][pack_usage.REQUESTS_PER_SECOND_TAG] == "0.6"  # 60 req/s x 1%
    assert by_name["web-storefront"][pack_usage.REQUESTS_PER_TASK_TAG] == "100"
    [cluster] = staging.of_type("aws:rds/cluster:Cluster")
    assert cluster.inputs["tags"][pack_usage.STORED_GB_TAG] == "20"
    # ... and that is what the estimate prices
    cost = estimate(resources_of(staging), region="us-east-1")
    assert cost.usage.origin_rps == pytest.approx(0.81)
    assert cost.usage.database_gb == 20
