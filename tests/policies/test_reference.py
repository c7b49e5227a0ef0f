"""The pack documents itself: docs/policies.md's reference is what the pack says, every mandatory
policy lists what it covers and why a well-built program cannot trip it, and every threshold or
scope a policy reads is in its config schema. A policy added to the pack is picked up by these
tests as it is: they enumerate the pack, not a list."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from offline import policy_docs
from offline.analyzer import PolicyInfo

POLICIES, REFERENCE = policy_docs.pack_reference()
MANDATORY = [p for p in POLICIES if p.level == "mandatory"]


def test_the_docs_reference_is_what_the_pack_says() -> None:
    # GIVEN the reference section generated from the running pack
    generated = policy_docs.render(POLICIES, REFERENCE)

    # THEN docs/policies.md holds exactly that (run `python -m offline.policy_docs --write`)
    document = policy_docs.DOCS.read_text()
    assert policy_docs.replace_section(document, generated) == document
    for policy in POLICIES:
        assert f"| [`{policy.name}`](#{policy.name}) | {policy.level} |" in document


@pytest.mark.parametrize("policy", MANDATORY, ids=[p.name for p in MANDATORY])
def test_a_mandatory_policy_says_what_it_covers_and_why_a_good_program_passes(policy: PolicyInfo) -> None:
    entry = REFERENCE.get(policy.name)
    assert entry is not None, f"{policy.name} is not built with resource_policy/stack_policy"
    doc = inspect.getdoc(entry.check) or ""

    # THEN the check's docstring lists every resource type the policy covers ...
    assert entry.covers, policy.name
    missing = [t for t in entry.covers if policy_docs.is_type(t) and t.rstrip("/:") not in doc]
    assert missing == [], f"{policy.name}: its docstring does not list {missing}"
    # ... and says why a well-built program cannot trip it
    assert re.search(r"^Well-built programs: \S", doc, re.MULTILINE), policy.name


def _config_reads(check: Any) -> set[str]:
    """The config keys a check (and the helpers of its module it calls) reads: config["key"]."""
    source = inspect.getsource(inspect.getmodule(check))  # type: ignore[arg-type]
    return set(re.findall(r'config\["([A-Za-z]+)"\]', source))


@pytest.mark.parametrize("policy", POLICIES, ids=[p.name for p in POLICIES])
def test_every_threshold_or_scope_is_in_the_config_schema(policy: PolicyInfo) -> None:
    # GIVEN a policy's config schema
    schema = policy.config_schema

    # THEN each property is typed, described and has the default the CLI sends
    for key, spec in schema.items():
        assert spec.get("type") and spec.get("description") and "default" in spec, (policy.name, key)
    # and what its module reads from config is declared by it (or by a sibling policy of the module)
    entry = REFERENCE.get(policy.name)
    if entry is not None:
        siblings = {k for p in POLICIES if (e := REFERENCE.get(p.name)) is not None
                    and inspect.getmodule(e.check) is inspect.getmodule(entry.check)
                    for k in p.config_schema}
        assert _config_reads(entry.check) <= siblings, policy.name
