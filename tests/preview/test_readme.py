"""The README's preview sample is what `make preview` prints for prod today, abridged by rule."""

from __future__ import annotations

import re

import pytest

from offline import readme
from offline.engine import PROJECT_DIR
from offline.render import PreviewResult, render_text


@pytest.fixture(scope="module")
def prod_text(prod_result: PreviewResult) -> str:
    return render_text(prod_result)


def test_the_readme_sample_is_the_current_offline_preview(prod_text: str) -> None:
    # GIVEN the README and what `make preview` prints for prod now
    document = readme.README.read_text()

    # THEN the generated block is exactly the abridged preview (run `make docs` when this fails)
    assert readme.with_sample(document, prod_text) == document, "stale: run `make docs`"


def test_the_sample_carries_the_programs_counts(prod_text: str, prod_result: PreviewResult) -> None:
    sample = readme.sample(prod_text)
    snapshot = prod_result.snapshot
    assert snapshot is not None and prod_result.policies is not None

    total = len(snapshot) + 1  # the stack itself
    assert f"+ {total} to create (the stack and {total - 1} resources)" in sample
    count = len(prod_result.policies.policies)
    assert f"passed ({count} of {count})" in sample
    tiers = dict(re.findall(r"^    (\w+)\s+(\d+)$", sample.split("By tier:")[1], re.M))
    assert sum(map(int, tiers.values())) == len([r for r in snapshot if r.type != "pulumi:pulumi:Stack"])


def test_a_stale_number_is_caught(prod_text: str) -> None:
    document = readme.README.read_text()
    stale = re.sub(r"\+ \d+ to create", "+ 348 to create", document)

    assert readme.with_sample(stale, prod_text) != stale


def test_the_sample_keeps_a_whole_consumer_and_never_cuts_an_output_in_two(prod_text: str) -> None:
    sample = readme.sample(prod_text)
    tree = sample.split("\n\n")[1].splitlines()
    consumer = next(i for i, line in enumerate(tree) if readme.SAMPLE_COMPONENT in line)
    assert tree[-2].lstrip(" +│").startswith("└─")  # its last child, then the ellipsis
    assert all("│  " in line for line in tree[consumer + 1:-1])
    outputs = sample.split("Outputs:")[1].split("\n\n")[0].splitlines()
    assert outputs[-1] == readme.ELLIPSIS and not outputs[-2].startswith("        [")


def test_make_docs_regenerates_everything_generated() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    target = makefile.split("\ndocs:", 1)[1].split("\n\n", 1)[0]
    for module in ("offline.readme", "offline.diagram", "offline.inventory", "offline.policy_docs",
                   "offline.cost_doc"):
        assert f"-m {module}" in target
