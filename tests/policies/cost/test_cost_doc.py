"""docs/cost.md and the cost section of docs/multi-region.md state only figures the estimator gives:
each sits between markers that `python -m offline.cost_doc` (`make docs`) fills from the program's
offline runs, none is written by hand, and the sentences written around them stay true."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from offline import cost_doc
from offline.cost import estimate_snapshot
from offline.cost_doc import Runs
from offline.engine import Snapshot
from policies.guardrails.budget import DEFAULT_BUDGET_USD
from policies.guardrails.cost import GLOBAL, Estimate, Line, UsageDefaults

# A dollar amount ($4,262, $0.30) or a multiplier as the estimate prints one (x1.47).
HAND_WRITTEN_FIGURE = re.compile(r"\$\d|\bx\d+\.\d+")


@pytest.fixture(scope="module")
def runs(prod: Snapshot, prod_preview: Snapshot, staging: Snapshot, staging_preview: Snapshot,
         prod_multi_region: Snapshot, prod_multi_region_preview: Snapshot) -> Runs:
    """The runs `make docs` records, from the snapshots the suite already has."""
    return Runs(prod=prod, prod_preview=prod_preview, staging=staging, staging_preview=staging_preview,
                multi_region=prod_multi_region, multi_region_preview=prod_multi_region_preview)


@pytest.fixture(scope="module")
def figures(runs: Runs) -> dict[str, str]:
    return cost_doc.figures(runs)


def cost_section(document: str) -> str:
    """multi-region.md's `## Cost` section (the rest of the page is about config, not the estimate)."""
    return document.split("\n## Cost\n", 1)[1].split("\n## ", 1)[0]


# ----------------------------------------------------------------------------------------------
# The figures are the estimator's


@pytest.mark.parametrize("doc", cost_doc.DOCS, ids=lambda path: path.name)
def test_every_figure_of_the_docs_is_what_the_estimator_gives_today(doc: Path,
                                                                    figures: dict[str, str]) -> None:
    # GIVEN the doc as committed, WHEN its markers are filled from today's program and estimator
    document = doc.read_text()

    # THEN nothing changes (run `make docs` when this fails)
    assert cost_doc.with_figures(document, figures, name=doc.name) == document, \
        f"{doc.name}: stale cost figures: run `make docs`"
    assert cost_doc.figure_names(document), f"{doc.name} has no generated figures"


def test_no_dollar_amount_or_multiplier_is_written_by_hand() -> None:
    # GIVEN the hand-written prose: the docs without their generated figures
    prose = {"cost.md": cost_doc.without_figures(cost_doc.DOCS[0].read_text()),
             "multi-region.md": cost_section(cost_doc.without_figures(cost_doc.DOCS[1].read_text()))}

    # THEN no amount or multiplier is left: each one is generated
    for name, text in prose.items():
        assert HAND_WRITTEN_FIGURE.findall(text) == [], f"{name}: generate it (<!--cost:...--> markers)"


def test_every_figure_the_generator_renders_is_used(figures: dict[str, str]) -> None:
    used = {name for doc in cost_doc.DOCS for name in cost_doc.figure_names(doc.read_text())}
    assert set(figures) - used == set(), "a figure no doc shows: remove it from offline/cost_doc.py"


def test_a_stale_figure_is_caught_and_an_unknown_name_is_an_error(figures: dict[str, str]) -> None:
    document = "prod costs <!--cost:prod.total-->$4,231<!--/cost--> a month"
    assert cost_doc.with_figures(document, figures) == \
        f"prod costs <!--cost:prod.total-->{figures['prod.total']}<!--/cost--> a month"

    with pytest.raises(cost_doc.CostDocError, match=r"cost\.md: <!--cost:prod\.totl--> names no figure"):
        cost_doc.with_figures("<!--cost:prod.totl--><!--/cost-->", figures, name="cost.md")


def test_a_table_stands_on_lines_of_its_own(figures: dict[str, str]) -> None:
    filled = cost_doc.with_figures("Per tier:\n\n<!--cost:prod.tiers--><!--/cost-->\n", figures)
    assert f"<!--cost:prod.tiers-->\n\n{figures['prod.tiers']}\n\n<!--/cost-->" in filled
    assert figures["prod.tiers"].startswith("| tier |")


def test_the_figures_name_their_mode_and_source(runs: Runs, figures: dict[str, str]) -> None:
    # prod's headline is update mode; what `make preview` shows is the preview mode's
    assert figures["prod.total"] == f"${estimate_snapshot(runs.prod).total:,.0f}"
    assert figures["prod.total.preview"] == f"${estimate_snapshot(runs.prod_preview).total:,.0f}"
    assert figures["budget"] == f"${DEFAULT_BUDGET_USD:,}"


# ----------------------------------------------------------------------------------------------
# The sentences around the figures stay true


def estimates(*snapshots: Snapshot) -> tuple[Estimate, ...]:
    return tuple(estimate_snapshot(s) for s in snapshots)


def test_prod_preview_and_update_differ_in_the_web_tier_by_its_traces_only(runs: Runs) -> None:
    # "all of the difference is in the web tier"; "only the services differ ..., and only by X-Ray"
    update, preview = estimates(runs.prod, runs.prod_preview)
    assert {t: round(v, 6) for t, v in update.by_tier().items() if t != "web"} == \
        {t: round(v, 6) for t, v in preview.by_tier().items() if t != "web"}

    def untraced(estimate: Estimate) -> float:
        return sum(line.monthly for line in estimate.lines if not cost_doc.is_traced(line))

    assert untraced(update) == pytest.approx(untraced(preview))
    # "The edge's global column is CloudFront and its web ACL"
    assert {line.type.split("/")[0] for line in update.lines if line.region == GLOBAL} == \
        {"aws:cloudfront", "aws:wafv2"}


def hourly(lines: list[Line]) -> float:
    """What capacity costs: the charges per instance-, node-, task- or proxy-hour."""
    return sum(line.monthly for line in lines if "hour" in line.unit)


def test_staging_and_the_data_tier_are_capacity(runs: Runs) -> None:
    # "Its largest costs are capacity that runs whatever the traffic"
    staging, prod = estimates(runs.staging, runs.prod)
    for driver in staging.top(cost_doc.STAGING_DRIVERS):
        lines = [line for line in staging.lines if line.urn == driver.urn]
        assert hourly(lines) >= 0.9 * driver.monthly, driver.name
    # "the data tier is mostly capacity"
    data = [line for line in prod.lines if line.tier == "data"]
    assert hourly(data) >= 0.75 * sum(line.monthly for line in data)


def test_the_read_paths_consumers_take_product_updated(runs: Runs, figures: dict[str, str]) -> None:
    table = figures["prod.consumers"]
    for consumer in ("search-indexer", "cache-invalidator"):
        assert f"| `{consumer}` | `product.updated` |" in table
    assert re.search(r"\| `recommendations` \| [^|]*`product\.updated`", table)


def test_the_second_regions_sentences(runs: Runs) -> None:
    off, on, off_preview, on_preview = estimates(runs.prod, runs.multi_region, runs.prod_preview,
                                                 runs.multi_region_preview)
    # "the same X-Ray upper bound ... adds the same amount to both and so lowers the ratio"
    assert on_preview.total - on.total == pytest.approx(off_preview.total - off.total)
    assert on_preview.total / off_preview.total < on.total / off.total
    # OpenSearch "the largest single addition", then Aurora's instances; the cache is not copied
    before, after = off.by_type(), on.by_type()
    added = sorted(after, key=lambda t: -(after[t] - before.get(t, 0.0)))
    assert added[:2] == [cost_doc.SEARCH, cost_doc.DATABASE_INSTANCE]
    assert after[cost_doc.CACHE] == pytest.approx(before[cost_doc.CACHE])
    # "What replication adds is small": each mechanism named is found, and it is under 1% of the bill
    replication = [line for line in on.lines if cost_doc.is_replication(line)]
    assert {line.type.split("/")[0] for line in replication} == \
        {"aws:rds", "aws:dynamodb", "aws:s3", "aws:route53"}
    assert sum(line.monthly for line in replication) < 0.01 * on.total


def test_the_busier_the_shop_and_the_heavier_its_pages_the_lower_the_multiplier(runs: Runs) -> None:
    def multiplier(**change: Any) -> float:
        return (estimate_snapshot(runs.multi_region, **change).total
                / estimate_snapshot(runs.prod, **change).total)

    by_traffic = [multiplier(traffic=f) for f in sorted((*cost_doc.TRAFFIC_FACTORS, 1.0))]
    assert by_traffic == sorted(by_traffic, reverse=True)
    sizes = sorted((*cost_doc.RESPONSE_KB, UsageDefaults().response_kb))
    by_response = [multiplier(usage=UsageDefaults(response_kb=kb)) for kb in sizes]
    assert by_response == sorted(by_response, reverse=True)


def test_the_budget_sentences(runs: Runs) -> None:
    budget = DEFAULT_BUDGET_USD
    prod, prod_preview, on, on_preview = estimates(runs.prod, runs.prod_preview, runs.multi_region,
                                                   runs.multi_region_preview)
    # "Prod is within the budget in both modes"; "prod with the second Region (over it in both)"
    assert prod.total <= prod_preview.total <= budget < on.total <= on_preview.total
    # "Staging has the same budget and uses a small part of it"
    assert estimate_snapshot(runs.staging_preview).total < 0.25 * budget
    # "the preview warns while the update-mode estimate is still well under"
    growth = cost_doc.traffic_growth_to(budget, runs.prod_preview)
    assert growth is not None and growth > 1
    assert estimate_snapshot(runs.prod_preview, traffic=growth).total > budget
    assert estimate_snapshot(runs.prod_preview, traffic=growth - 0.01).total <= budget
    assert estimate_snapshot(runs.prod, traffic=growth).total < 0.9 * budget


def test_the_command_checks_writes_and_leaves_every_doc_alone_on_a_bad_marker(
        runs: Runs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the command, recording the suite's runs instead of its own, and two docs: one stale
    monkeypatch.setattr(Runs, "record", classmethod(lambda cls: runs))
    stale, fresh = tmp_path / "stale.md", tmp_path / "fresh.md"
    stale.write_text("prod: <!--cost:prod.total-->$1<!--/cost-->\n")
    fresh.write_text("no figures\n")

    # THEN --check fails naming the stale doc and writes nothing; without it the figure is written
    assert cost_doc.main(["--check", str(stale), str(fresh)]) == 1
    assert "stale.md: the cost figures are stale" in capsys.readouterr().err
    assert stale.read_text() == "prod: <!--cost:prod.total-->$1<!--/cost-->\n"
    assert cost_doc.main([str(stale), str(fresh)]) == 0
    assert cost_doc.main(["--check", str(stale), str(fresh)]) == 0

    # AND a marker naming no figure is an error that leaves every doc as it was
    stale.write_text("prod: <!--cost:prod.total-->$1<!--/cost-->\n")
    fresh.write_text("<!--cost:nothing--><!--/cost-->\n")
    assert cost_doc.main([str(stale), str(fresh)]) == 2
    assert "fresh.md: <!--cost:nothing--> names no figure" in capsys.readouterr().err
    assert stale.read_text() == "prod: <!--cost:prod.total-->$1<!--/cost-->\n"
