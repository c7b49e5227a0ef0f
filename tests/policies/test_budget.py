"""`stack-monthly-budget` flags a stack whose estimated monthly cost exceeds its budget, names the top
cost drivers, can be raised to mandatory, and decides at preview as at update (docs/cost.md)."""

from __future__ import annotations

from offline.cost import estimate_snapshot
from offline.engine import Snapshot
from policies.guardrails.budget import DEFAULT_BUDGET_USD
from policies.guardrails.cost import money, short_type
from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICY = "stack-monthly-budget"
# Three NAT gateways: about $110 a month of hours, public IPv4 and processing at the fallback rate.
NATS = '''
for zone in ("a", "b", "c"):
    eip = aws.ec2.Eip(f"nat-{zone}", domain="vpc")
    aws.ec2.NatGateway(f"nat-{zone}", subnet_id=f"subnet-0{zone}", allocation_id=eip.id)
'''
# An Aurora instance whose class is computed by another resource: unknown at preview.
COMPUTED_CLASS = '''
queue = aws.sqs.Queue("sizing", sqs_managed_sse_enabled=True)
aws.rds.ClusterInstance("db", cluster_identifier="orders", engine="aurora-postgresql",
                        instance_class=queue.name.apply(lambda _: "db.r6g.large"))
'''


def test_prod_is_within_the_default_budget(prod_preview: Snapshot, analyze: Analyze) -> None:
    # GIVEN prod at preview, whose estimate is below the default budget
    assert estimate_snapshot(prod_preview).total < DEFAULT_BUDGET_USD

    # THEN the policy has nothing to say (and could run on the preview's unknowns)
    report = analyze(prod_preview)
    assert violations_of(report, POLICY) == []
    assert report.cannot_run == ()


def test_over_budget_names_the_total_and_the_top_cost_drivers(prod_preview: Snapshot,
                                                              analyze: Analyze) -> None:
    # GIVEN prod and a budget below its estimate
    estimate = estimate_snapshot(prod_preview)
    report = analyze(prod_preview, {POLICY: {"monthlyBudgetUsd": 1000, "topCostDrivers": 3}})

    # THEN one advisory stack violation states the estimate, the budget, the price date and the three
    # most expensive resources, and how to fix it
    violation = the_violation(report, POLICY, None)
    assert violation.level == "advisory" and violation not in report.mandatory
    assert f"estimated cost is {money(estimate.total)}/month" in violation.message
    assert "above the monthly budget of $1,000" in violation.message
    assert "list prices as of January 2025" in violation.message
    top = estimate.top(4)
    for driver in top[:3]:
        assert f"{driver.name} ({short_type(driver.type)}, {driver.region}) {money(driver.monthly)}" \
            in violation.message
    assert f"{top[3].name} ({short_type(top[3].type)}" not in violation.message
    assert "Fix:" in violation.message and "monthlyBudgetUsd" in violation.message


def test_raising_it_to_mandatory_blocks(prod_preview: Snapshot, analyze: Analyze) -> None:
    raised = analyze(prod_preview, {POLICY: {"enforcementLevel": "mandatory", "monthlyBudgetUsd": 1000}})
    violation = the_violation(raised, POLICY, None)
    assert violation.level == "mandatory" and violation in raised.mandatory

    # and a budget above the estimate lets the same stack through, mandatory or not
    assert violations_of(analyze(prod_preview, {POLICY: {"enforcementLevel": "mandatory",
                                                         "monthlyBudgetUsd": 100_000}}), POLICY) == []


def test_a_small_stack_passes_and_fails_by_its_budget(program: Program, analyze: Analyze,
                                                      preview: bool) -> None:
    # GIVEN three NAT gateways (a stack of another project: no services in its config)
    snapshot = program(NATS, preview=preview)

    # THEN a budget above their cost passes, one below it fails naming a gateway, in both modes
    assert violations_of(analyze(snapshot, {POLICY: {"monthlyBudgetUsd": 1000}}), POLICY) == []
    violation = the_violation(analyze(snapshot, {POLICY: {"monthlyBudgetUsd": 50}}), POLICY, None)
    assert "nat-a (ec2:NatGateway, us-east-1)" in violation.message


def test_a_size_unknown_at_preview_is_left_out_and_said(program: Program, analyze: Analyze) -> None:
    # GIVEN an instance whose class is computed, previewed with a zero budget
    report = analyze(program(COMPUTED_CLASS, preview=True), {POLICY: {"monthlyBudgetUsd": 0}})

    # THEN the policy still runs at its own level and says its estimate is a lower bound
    violation = the_violation(report, POLICY, None)
    assert "1 resources could not be priced, so it is a lower bound" in violation.message
    assert report.cannot_run == ()
