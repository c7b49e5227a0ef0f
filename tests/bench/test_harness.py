"""The benchmark harness (bench/) on trivial sizes: it runs end to end and its figures mean what they say.

No timings are asserted here: `make bench` measures, these tests only check the harness itself.
"""

from __future__ import annotations

from collections import Counter

from bench import policy_scale
from bench.stats import Figure, percentile
from bench.synthetic import synthetic_stack


def test_a_synthetic_stack_has_exactly_the_size_asked_and_only_references_inside_itself() -> None:
    # GIVEN synthetic stacks of a few sizes
    for size in (20, 200, 1_000):
        # WHEN one is built
        stack = synthetic_stack(size)

        # THEN it has that many resources, unique URNs, and every parent, provider and dependency exists
        urns = {r.urn for r in stack}
        assert len(stack) == size and len(urns) == size
        root = {r.parent for r in stack if r.parent and r.parent.endswith(f"ecommerce-{stack.stack}")}
        assert all(r.parent in urns | root for r in stack)
        assert all(r.provider_urn in urns for r in stack if r.provider)
        assert all(d in urns for r in stack for d in r.dependencies)
        assert all(set(urns_) <= urns for r in stack for urns_ in r.property_dependencies.values())


def test_a_synthetic_stack_mixes_the_realistic_types_and_is_the_same_every_time() -> None:
    stack = synthetic_stack(200)
    types = Counter(r.type for r in stack)
    for wanted in ("aws:s3/bucket:Bucket", "aws:sqs/queue:Queue", "aws:lambda/function:Function",
                   "aws:ec2/securityGroup:SecurityGroup", "aws:rds/cluster:Cluster", "aws:iam/role:Role",
                   "aws:dynamodb/table:Table", "aws:kms/key:Key"):
        assert types[wanted] > 0, wanted
    assert [r.urn for r in synthetic_stack(200)] == [r.urn for r in stack]


def test_the_policy_benchmark_runs_end_to_end_on_a_tiny_stack() -> None:
    # WHEN the policy benchmark runs on 20 resources, once
    section = policy_scale.run(sizes=(20,), runs={20: 1})

    # THEN the pack, the no-op floor and the same-count no-op pack were each timed on the same stack
    packs = section.data["packs"]
    assert set(packs) == {"pack", "noop", "noop-same-count"}
    assert all(packs[key]["20"]["seconds"]["median"] > 0 for key in packs)
    assert packs["noop"]["20"]["violations"] == 0
    # AND the target compares the pack with the floor per resource
    [target] = section.targets
    assert target.goal == "<= 2x"
    # (the target shows 2 decimals of the recorded 3: at most half a hundredth apart, plus float error)
    assert abs(float(target.measured.removesuffix("x")) - section.data["ratioToNoop"]["20"]) <= 0.005 + 1e-9


def test_percentiles_are_observed_values_by_nearest_rank() -> None:
    latencies = [float(ms) for ms in range(1, 101)]  # 1..100 ms
    assert percentile(latencies, 50) == 50.0
    assert percentile(latencies, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    figure = Figure.of([3.0, 1.0, 2.0], "s")
    assert (figure.median, figure.min, figure.max) == (2.0, 1.0, 3.0)


def test_the_read_path_benchmark_counts_product_queries_in_postgresqls_log_and_draws_a_zipf_mix() -> None:
    from bench import read_path

    # GIVEN the lines PostgreSQL logs for the storefront's product query (extended protocol, prepared)
    lines = ["2026-12-03 LOG:  execute <unnamed>: SELECT sku, name, description, category, price_cents, "
             "currency, stock, active, version FROM products WHERE sku = $1",
             "2026-12-03 LOG:  execute _pg3_0: SELECT sku, name FROM products WHERE sku = $1",
             "2026-12-03 DETAIL:  parameters: $1 = 'SKU-00001'",
             "2026-12-03 LOG:  execute <unnamed>: SELECT slug, name FROM categories WHERE slug = $1"]
    # THEN exactly the product queries count
    assert [bool(read_path._PRODUCT_QUERY.search(line)) for line in lines] == [True, True, False, False]
    # AND the Zipf mix is reproducible, within the catalog, and skewed (the top product is the most read)
    settings = read_path.QUICK
    mix = read_path.zipf(settings, 2000, seed=1)
    assert mix == read_path.zipf(settings, 2000, seed=1)
    assert set(mix) <= {read_path.sku(i) for i in range(settings.products)}
    counts = Counter(mix).most_common()
    assert counts[0][1] > 10 * counts[len(counts) // 2][1]


def test_a_slow_suite_is_explained_by_its_own_test_time_folder_by_folder() -> None:
    from bench.suite import where_the_time_goes

    # GIVEN the steps pytest timed, from two folders
    steps = [(30.0, "call", "tests/app/test_a.py::test_one"),
             (10.0, "setup", "tests/app/test_b.py::test_two"),
             (20.0, "call", "tests/components/test_c.py::test_three[prod]"),
             (0.2, "call", "tests/x.py::t")]
    # WHEN the limit is written
    limit = where_the_time_goes(steps)
    # THEN it totals them, per worker, and names each folder's share, biggest first
    assert "60 s of setup, calls and teardown over 2 workers (~30 s each" in limit
    assert "by folder: tests/app 40 s, tests/components 20 s;" in limit
