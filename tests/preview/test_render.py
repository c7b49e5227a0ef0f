"""How a preview result is shown: tiers, the violations table, exit codes."""

from __future__ import annotations

import json

import pytest

from offline.engine import Snapshot
from offline.render import (
    PolicyInfo,
    PolicyOutcome,
    PreviewResult,
    Violation,
    deploy_order,
    render_markdown,
    render_text,
    tier_of,
    to_document,
    tree_rows,
)


def _outcome(snapshot: Snapshot, *levels: str) -> PolicyOutcome:
    """A pack verdict with one violation per level, on real resources of the snapshot."""
    target = snapshot.custom()[0]
    violations = tuple(
        Violation(policy=f"rule-{level}", level=level, urn=target.urn, pack="ecommerce", pack_version="1.0.0",
                  description=f"rule {level} | described",
                  message=f"rule {level} | described\n{target.name} is wrong | fix it\nsecond line")
        for level in levels)
    policies = (*(PolicyInfo(v.policy, v.description, v.level) for v in violations),
                PolicyInfo("clean-rule", "a rule nothing breaks", "mandatory"),
                PolicyInfo("off-rule", "a rule switched off", "disabled"))
    return PolicyOutcome(pack="ecommerce", version="1.0.0", location="policies", policies=policies,
                         violations=violations)


def test_every_resource_has_the_tier_its_provider_tags_it_with(prod_preview: Snapshot) -> None:
    # GIVEN the prod stack: components are typed ecommerce:<tier>:<Name>, providers tag `tier`
    for resource in (r for r in prod_preview.custom() if r.type.startswith("aws:")):
        provider = prod_preview.provider_of(resource)
        assert provider is not None, f"{resource.urn} has no explicit tier provider"
        tag = json.loads(provider.inputs["defaultTags"])["tags"]["tier"]

        # THEN the tier the summary counts it under is the tier tag AWS will see on it
        assert tier_of(prod_preview, resource) == tag, resource.urn


def test_the_tree_holds_every_resource_once_under_its_parent(prod_preview: Snapshot) -> None:
    rows = tree_rows(prod_preview)

    assert sorted(row.urn for row in rows[1:]) == sorted(r.urn for r in prod_preview)
    depth = {row.urn: row.depth for row in rows}
    for resource in prod_preview:
        parent_depth = depth.get(resource.parent or "", 0)
        assert depth[resource.urn] == parent_depth + 1, resource.urn


def test_markdown_puts_the_violations_table_first(prod_preview: Snapshot) -> None:
    # GIVEN a mandatory and an advisory violation on a resource
    result = PreviewResult(stack="prod", snapshot=prod_preview,
                           policies=_outcome(prod_preview, "mandatory", "advisory"))

    # WHEN the pull-request comment is rendered
    body = render_markdown(result)

    # THEN it leads with the failure, then a table with one row per violation, mandatory first,
    # naming the policy and the resource, with pipes escaped and lines joined
    lines = body.splitlines()
    assert lines[0].startswith("### Offline preview of `prod`: ❌ 1 mandatory policy violation")
    header = lines.index("| Level | Policy | Resource | Source | Message |")
    assert header < body.index("<details>")
    rows = lines[header + 2: header + 4]
    target = prod_preview.custom()[0]
    assert rows[0].startswith(f"| **mandatory** | `rule-mandatory` | `{target.name}`")
    assert f"| `{target.source}` |" in rows[0]
    assert rows[1].startswith(f"| advisory | `rule-advisory` | `{target.name}`")
    assert rows[0].endswith(f"| {target.name} is wrong \\| fix it<br>second line |")
    assert "Policies passed (1)" in body and "`clean-rule`" in body
    assert "off-rule" not in body.split("Policies passed")[1]


def test_markdown_links_each_violation_to_the_line_that_registered_its_resource(
        prod_preview: Snapshot) -> None:
    # GIVEN a violation on a resource of the shop, rendered in a GitHub Actions job
    result = PreviewResult(stack="prod", snapshot=prod_preview,
                           policies=_outcome(prod_preview, "mandatory"))
    target = prod_preview.custom()[0]
    assert target.source is not None and target.source.path.startswith("components/")

    # WHEN the comment is rendered with the commit's blob URL
    body = render_markdown(result, source_url="https://github.com/o/shop/blob/abc123/")

    # THEN the violation's row links the file and line of the program
    assert (f"[`{target.source}`](https://github.com/o/shop/blob/abc123/{target.source.path}"
            f"#L{target.source.line})") in body


def test_text_groups_violations_by_resource_and_lists_what_passed(prod_preview: Snapshot) -> None:
    result = PreviewResult(stack="prod", snapshot=prod_preview,
                           policies=_outcome(prod_preview, "mandatory", "advisory"))

    policies = render_text(result).split("Policies:\n", 1)[1].split("\n\n", 1)[0]

    target = prod_preview.custom()[0]
    assert policies.splitlines()[0] == \
        "    ❌ ecommerce@v1.0.0 (local: policies): 1 mandatory, 1 advisory violations"
    assert policies.count(target.name) >= 1
    assert policies.index("[mandatory]  rule-mandatory") < policies.index("[advisory]  rule-advisory")
    assert "passed (1 of 4):\n        ✓ clean-rule" in policies
    assert "disabled: off-rule" in policies


@pytest.mark.parametrize(("levels", "error", "status"), [
    ((), None, 0),
    (("advisory",), None, 0),
    (("mandatory",), None, 1),
    (("advisory", "mandatory"), None, 1),
    ((), "Pulumi.prod.yaml: ecommerce:azCount = 1 is not allowed", 2),
])
def test_exit_status(prod_preview: Snapshot, levels: tuple[str, ...], error: str | None,
                     status: int) -> None:
    result = PreviewResult(stack="prod", snapshot=None if error else prod_preview,
                           policies=None if error else _outcome(prod_preview, *levels), error=error)

    assert result.exit_code == status
    assert to_document(result)["exitCode"] == status


def test_a_failed_program_still_renders_a_comment_with_the_error() -> None:
    result = PreviewResult(stack="prod", snapshot=None, policies=None,
                           error="Pulumi.prod.yaml: ecommerce:azCount = 1 is not allowed")

    body = render_markdown(result)

    assert body.startswith("### Offline preview of `prod`: ❌ the preview failed")
    assert "error: Pulumi.prod.yaml: ecommerce:azCount = 1 is not allowed" in body


def test_a_comment_too_long_for_github_drops_the_tree_but_keeps_the_violations(
        prod_preview: Snapshot, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a stack whose resource tree would not fit in a comment
    monkeypatch.setattr("offline.render.MARKDOWN_LIMIT", 2_000)
    result = PreviewResult(stack="prod", snapshot=prod_preview, policies=_outcome(prod_preview, "mandatory"))

    body = render_markdown(result)

    # THEN the violations and the counts stay, the tree goes
    assert "| **mandatory** | `rule-mandatory` |" in body
    assert "<details><summary>By type</summary>" in body
    assert "<summary>Resources" not in body and "The resource tree is too long" in body


def test_the_preview_shows_each_service_rolling_after_its_image_and_the_migrations(
        prod_result: PreviewResult) -> None:
    # GIVEN the prod preview
    assert prod_result.snapshot is not None
    order = deploy_order(prod_result.snapshot)
    # THEN every service waits, by the dependency graph, for the migration step and its own build
    assert order and all(
        [(s.type, s.name) for s in steps] == [("aws:lambda/invocation:Invocation", "migrations"),
                                              ("docker-build:index:Image", f"{service}-image")]
        for service, steps in order.items())
    text = render_text(prod_result)
    assert "Deploy order (from the dependency graph): each service rolls after" in text
    assert "web-order-api-image (docker-build:index:Image)" in text
