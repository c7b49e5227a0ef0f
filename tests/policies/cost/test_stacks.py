"""The cost estimate of this project's stacks (docs/cost.md): every billable resource type is priced
from the dated price table or listed free, the estimate is split per tier and per Region, traffic
comes from what the resources state (`usage:*` tags the program sets from its config), and the
second Region multiplies prod by 1.4x to 1.9x."""

from __future__ import annotations

import json
import re

import pytest

from offline.cost import (
    MULTI_REGION_OVERRIDES,
    CostReport,
    estimate_snapshot,
    resources_of,
)
from offline.engine import Snapshot, run_program
from offline.preview import preview_of
from offline.render import render_json, render_markdown, render_text
from policies.guardrails.common import Res
from policies.guardrails.cost import (
    GLOBAL,
    PRICERS,
    PRICES_FILE,
    Comparison,
    Estimate,
    Line,
    PriceTable,
    estimate,
    expression_fires,
)

PRIMARY = "us-east-1"
SECONDARY = MULTI_REGION_OVERRIDES["ecommerce:secondaryRegion"]
TABLE = PriceTable.load()
TIERS = {"security", "network", "edge", "web", "data", "events", "observability"}


@pytest.fixture(scope="module")
def prod_cost(prod: Snapshot) -> Estimate:
    return estimate_snapshot(prod)


@pytest.fixture(scope="module")
def multi_region_cost(prod_multi_region: Snapshot) -> Estimate:
    return estimate_snapshot(prod_multi_region)


def lines_of(cost: Estimate, name: str, type_: str, region: str | None = None) -> list[Line]:
    return [line for line in cost.lines if line.name == name and line.type == type_
            and (region is None or line.region == region)]


# ----------------------------------------------------------------------------------------------
# Coverage: a new billable type cannot slip in unpriced


@pytest.mark.parametrize("stack", ["prod", "staging", "prod_multi_region"])
def test_every_resource_type_of_the_stacks_is_priced_or_listed_free(stack: str,
                                                                    request: pytest.FixtureRequest) -> None:
    # GIVEN a stack as the program registers it (prod, staging, prod with the second Region)
    snapshot: Snapshot = request.getfixturevalue(stack)

    # WHEN it is estimated
    cost = estimate_snapshot(snapshot)

    # THEN every AWS resource type is priced or explicitly free, and every resource got a price
    types = {r.type for r in snapshot.custom()}
    unknown = sorted(t for t in types if t not in PRICERS and t not in TABLE.free)
    assert unknown == [], f"price these types in cost/pricers/ or list them free in prices.json: {unknown}"
    assert [(u.name, u.type, u.reason) for u in cost.unpriced] == []
    assert cost.notes == () or all("is not in the price table" not in n for n in cost.notes)


def test_a_new_type_without_a_price_is_reported_not_ignored(prod: Snapshot) -> None:
    # GIVEN prod plus a resource type the table does not know
    stray = Res(type="aws:ec2/instance:Instance", name="bastion", urn="urn:pulumi:prod::ecommerce::"
                "aws:ec2/instance:Instance::bastion", props={"instanceType": "t3.micro"},
                provider={"region": PRIMARY})

    # WHEN it is estimated
    cost = estimate([*resources_of(prod), stray], region=PRIMARY)

    # THEN it is listed as unpriced, with what to do, and the rest is still priced
    [unpriced] = cost.unpriced
    assert (unpriced.name, unpriced.type) == ("bastion", "aws:ec2/instance:Instance")
    assert "PRICERS" in unpriced.reason and "prices.json" in unpriced.reason
    assert cost.total == pytest.approx(estimate_snapshot(prod).total)


def test_no_type_is_both_priced_and_free_and_gateway_endpoints_are_free(prod_cost: Estimate) -> None:
    assert set(PRICERS) & set(TABLE.free) == set()
    # the S3 and DynamoDB gateway endpoints are priced types that cost nothing
    assert prod_cost.free.get("aws:ec2/vpcEndpoint:VpcEndpoint") == 2
    assert not [line for line in prod_cost.lines if line.type == "aws:ec2/vpcEndpoint:VpcEndpoint"]


def test_the_price_table_is_dated_sourced_and_has_every_region_column() -> None:
    data = json.loads(PRICES_FILE.read_text())
    assert re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", data["asOf"])
    assert "AWS Price List" in data["source"] and "aws.amazon.com" in data["source"]
    assert {"us-east-1", "eu-west-1", "eu-central-1"} <= set(data["regions"])
    for key, entry in data["prices"].items():
        columns = set(entry) - {"unit"}
        # a Regional price has a column per Region; a global one (CloudFront, Route 53) one column
        assert columns in ({GLOBAL}, set(data["regions"])), key
        sizes = [set(entry[c]) for c in columns if isinstance(entry[c], dict)]
        assert all(s == sizes[0] for s in sizes), f"{key}: every Region prices the same sizes"


# ----------------------------------------------------------------------------------------------
# What the estimate says


def test_every_tier_of_prod_costs_something_and_the_parts_add_up(prod: Snapshot,
                                                                 prod_cost: Estimate) -> None:
    # GIVEN the tiers prod's components belong to
    tiers = {r.type.split(":")[1] for r in prod if r.type.startswith("ecommerce:")}
    assert tiers == TIERS

    # THEN each has a positive monthly cost, and tiers, Regions and lines sum to the same total
    by_tier = prod_cost.by_tier()
    assert set(by_tier) == TIERS
    assert all(amount > 0 for amount in by_tier.values()), by_tier
    assert sum(by_tier.values()) == pytest.approx(prod_cost.total)
    assert sum(prod_cost.by_region().values()) == pytest.approx(prod_cost.total)
    assert set(prod_cost.by_region()) == {PRIMARY, GLOBAL}


def test_capacity_is_priced_from_what_the_resources_declare(prod: Snapshot, prod_cost: Estimate) -> None:
    # GIVEN prod's Aurora instances and NAT gateways
    price = TABLE.unit_price("rds.auroraInstanceHour", PRIMARY, "db.r6g.large")[0]
    instances = prod.of_type("aws:rds/clusterInstance:ClusterInstance")
    assert len(instances) == 3

    # THEN each instance costs its class's hourly rate for a month, each NAT gateway its hours
    for instance in instances:
        [line] = lines_of(prod_cost, instance.name, instance.type)
        assert line.monthly == pytest.approx(730 * price)
    nat_hours = [line for line in prod_cost.lines if line.item == "NAT gateway-hours"]
    assert len(nat_hours) == 2 and all(line.quantity == 730 for line in nat_hours)
    # the cache is Valkey: 20% below the Redis OSS node price
    [cache] = lines_of(prod_cost, "cache", "aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache.unit_price == pytest.approx(0.8 * TABLE.unit_price("elasticache.nodeHour", PRIMARY,
                                                                    "cache.r7g.large")[0])


def test_traffic_scales_request_charges_not_capacity(prod: Snapshot, prod_cost: Estimate) -> None:
    # GIVEN prod, WHEN its stack config says twice the traffic arrives (its services state it)
    doubled = estimate_snapshot(run_program("prod", overrides={"ecommerce:usageTrafficPercent": 200}))

    # THEN CloudFront requests double, while the NAT gateways' and Aurora instances' hours do not
    def quantity(cost: Estimate, item: str, type_: str) -> float:
        return sum(line.quantity for line in cost.lines if line.item.startswith(item) and line.type == type_)

    requests = ("HTTPS requests", "aws:cloudfront/distribution:Distribution")
    assert quantity(doubled, *requests) == pytest.approx(2 * quantity(prod_cost, *requests))
    hours = ("NAT gateway-hours", "aws:ec2/natGateway:NatGateway")
    assert quantity(doubled, *hours) == quantity(prod_cost, *hours)
    assert doubled.total > prod_cost.total
    # and scaling the snapshot's stated traffic (docs/cost.md's sensitivity) prices the same stack
    assert estimate_snapshot(prod, traffic=2.0).total == pytest.approx(doubled.total)


def test_preview_and_update_estimate_the_same_but_for_trace_sampling(
        prod_preview: Snapshot, prod_cost: Estimate) -> None:
    # The policy runs at preview, where ids and ARNs are unknown: sizes are literal config.
    preview = estimate_snapshot(prod_preview)
    assert preview.total - _xray(preview) == pytest.approx(prod_cost.total - _xray(prod_cost), rel=1e-6)
    # The sampler sits in container definitions, computed at preview: X-Ray is priced as if every
    # request were traced there, an upper bound that `pulumi up` (update mode) narrows.
    assert _xray(preview) >= _xray(prod_cost) > 0


def test_staging_costs_less_than_prod(staging: Snapshot, prod_cost: Estimate) -> None:
    staging_cost = estimate_snapshot(staging)
    assert 0 < staging_cost.total < prod_cost.total
    # one NAT gateway instead of one per AZ, smaller search and cache nodes
    assert staging_cost.by_tier()["network"] < prod_cost.by_tier()["network"]
    assert staging_cost.by_tier()["data"] < prod_cost.by_tier()["data"]


def test_a_region_missing_from_the_table_is_priced_at_the_fallback_and_says_so() -> None:
    nat = Res(type="aws:ec2/natGateway:NatGateway", name="nat", urn="urn:pulumi:x::ecommerce::"
              "aws:ec2/natGateway:NatGateway::nat", props={}, provider={"region": "ap-southeast-2"})
    cost = estimate([nat], region="ap-southeast-2")
    assert {line.price_column for line in cost.lines} == {TABLE.fallback_region}
    assert cost.notes == ("ap-southeast-2 is not in the price table: priced at us-east-1 rates",)


@pytest.mark.parametrize(("expression", "per_month"), [
    ("rate(1 minute)", 43_800), ("rate(5 minutes)", 8_760), ("rate(1 hour)", 730), ("rate(1 day)", 730 / 24),
    ("cron(0 * * * ? *)", 730), ("cron(30 0 * * ? *)", 730 / 24), ("cron(0/15 * * * ? *)", 2_920),
    ("cron(0 9 ? * MON-FRI *)", 730 / 24 * 5 / 7), ("at(2026-11-27T00:00:00)", 0),
])
def test_schedules_fire_as_their_expression_says(expression: str, per_month: float) -> None:
    assert expression_fires(expression, 730) == pytest.approx(per_month)


# ----------------------------------------------------------------------------------------------
# The second Region


def test_the_second_region_doubles_regional_capacity_not_the_edge(
        prod_cost: Estimate, multi_region_cost: Estimate) -> None:
    on = multi_region_cost.by_tier_and_region()
    # THEN the secondary Region runs its own network, web, data and event tiers
    for tier in ("network", "web", "data", "events"):
        assert on[tier].get(SECONDARY, 0) > 0, tier
    # the edge (CloudFront and its web ACL) is global: priced once, the same with the switch on;
    # Route 53's health checks are what the switch adds there
    def edge(cost: Estimate) -> float:
        return sum(line.monthly for line in cost.lines if line.region == GLOBAL
                   and line.type.startswith(("aws:cloudfront/", "aws:wafv2/")))

    assert edge(multi_region_cost) == pytest.approx(edge(prod_cost))
    added = multi_region_cost.by_region()[GLOBAL] - prod_cost.by_region()[GLOBAL]
    assert added == pytest.approx(sum(line.monthly for line in multi_region_cost.lines
                                      if line.type.startswith("aws:route53/")))
    # traffic is split between the Regions, not copied: the CloudFront requests are the same
    def requests(cost: Estimate) -> float:
        return sum(line.quantity for line in cost.lines if line.item.startswith("HTTPS requests"))

    assert requests(multi_region_cost) == pytest.approx(requests(prod_cost))


def test_replication_is_priced_where_it_happens(multi_region_cost: Estimate) -> None:
    def items(name: str, type_: str, region: str) -> set[str]:
        return {line.item for line in lines_of(multi_region_cost, name, type_, region)}

    # Aurora Global Database: the secondary cluster pays replicated write I/Os
    assert any("replicated write I/Os" in i for i in items("database", "aws:rds/cluster:Cluster", SECONDARY))
    # DynamoDB global tables: carts are written as replicated writes in both Regions ...
    carts = [line for line in multi_region_cost.lines if line.name == "user-state-carts"]
    assert {line.region for line in carts if "rWRU" in line.item} == {PRIMARY, SECONDARY}
    # ... while sessions stay regional: a table per Region, no replicated writes
    sessions = [line for line in multi_region_cost.lines if line.name == "user-state-sessions"]
    assert {line.region for line in sessions} == {PRIMARY, SECONDARY}
    assert not [line for line in sessions if "rWRU" in line.item]
    # S3 replication: inter-Region transfer and PUTs into the replica's Region
    replication = [line for line in multi_region_cost.lines
                   if line.type == "aws:s3/bucketReplicationConfig:BucketReplicationConfig"]
    assert {line.region for line in replication} == {PRIMARY, SECONDARY}


def test_prod_with_the_second_region_costs_1_4_to_1_9_times_one_region(
        prod_cost: Estimate, multi_region_cost: Estimate) -> None:
    # GIVEN prod with multiRegion off and on, WHEN both are estimated
    ratio = multi_region_cost.total / prod_cost.total

    # THEN the second Region costs what the case study says (docs/cost.md explains why)
    assert 1.4 <= ratio <= 1.9, f"x{ratio:.2f}"


def _xray(cost: Estimate) -> float:
    return sum(line.monthly for line in cost.lines if line.type == "aws:ecs/service:Service"
               and line.item.startswith("X-Ray"))


# ----------------------------------------------------------------------------------------------
# make preview


def test_make_preview_shows_the_estimate_in_text_json_and_markdown(prod_preview: Snapshot) -> None:
    # GIVEN the offline preview of prod (policies skipped: this is about cost)
    result = preview_of(prod_preview, policies=False)
    assert result.cost is not None and result.cost.estimate is not None
    total = result.cost.estimate.total

    # THEN the text, the JSON document and the pull-request comment carry the same estimate
    text = render_text(result)
    assert f"Estimated monthly cost: ${total:,.0f}" in text
    assert "top cost drivers:" in text and "as of January 2025" in text
    document = json.loads(render_json(result))["cost"]
    assert document["monthlyTotal"] == round(total, 2)
    assert set(document["byTier"]) == TIERS and set(document["byRegion"]) == {PRIMARY, GLOBAL}
    assert document["usage"]["originRequestsPerMonth"] > 0 and document["prices"]["asOf"]
    markdown = render_markdown(result)
    assert f"#### Estimated monthly cost: ${total:,.0f}" in markdown
    assert "make preview ARGS=--cost-compare" in text  # how to see the multiplier


def test_the_comparison_shows_the_multiplier(prod_cost: Estimate, multi_region_cost: Estimate,
                                             prod_preview: Snapshot) -> None:
    comparison = Comparison(off=prod_cost, on=multi_region_cost, secondary_region=SECONDARY)
    result = preview_of(prod_preview, policies=False, cost=CostReport(prod_cost, comparison))
    text, markdown = render_text(result), render_markdown(result)
    shown = f"x{comparison.multiplier:.2f}"
    assert f"second Region ({SECONDARY}):" in text and shown in text and shown in markdown
    assert json.loads(render_json(result))["cost"]["multiRegion"]["multiplier"] == \
        round(comparison.multiplier, 3)
