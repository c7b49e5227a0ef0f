"""What each stack registers and reads, for the CI roles that bootstrap/ creates.

    python -m offline.inventory            # rewrite bootstrap/stack-inventory.json and
                                           # bootstrap/policy-config.json
    python -m offline.inventory --check    # exit 1 when they no longer match the program

The deploy roles may manage only what the stack manages and the preview role may read only what a
preview reads, so both are derived from the program itself: the resource types every stack
registers, the data sources (invokes) it calls, the Regions of its providers, the default tags it
puts on everything, the names of its IAM roles and buckets, and the AWS managed policies it attaches.
The bootstrap program reads the file at `pulumi up` (it cannot run this program there); a test
fails when the file is stale, so the roles cannot silently fall behind the stack.

The second file is the policy config the bootstrap is previewed and deployed with: the pack's
`iam-policy-disallow-wildcards` allows, beyond its defaults, exactly the write actions that IAM
authorizes only on `*` and that the deploy roles need (bootstrap/ci_access/permissions.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from offline.engine import PROJECT_DIR, UNKNOWN, Resource, Snapshot, available_stacks, run_program

INVENTORY_FILE = PROJECT_DIR / "bootstrap" / "stack-inventory.json"
POLICY_CONFIG_FILE = PROJECT_DIR / "bootstrap" / "policy-config.json"
COMMAND = "python -m offline.inventory"
WILDCARD_POLICY = "iam-policy-disallow-wildcards"

# Resources whose physical names the deploy role is scoped to: type -> (name input, prefix input).
# Without either, Pulumi auto-names the resource `<logical name>-<7 random characters>`.
NAMED_TYPES: Mapping[str, tuple[str, str]] = {
    "aws:iam/role:Role": ("name", "namePrefix"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix"),
}
ATTACHMENT_TYPE = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


class InventoryError(Exception):
    """The program registered something the inventory cannot describe; `str()` names it."""


def name_pattern(resource: Resource) -> str:
    """The IAM resource-name pattern that matches the physical name AWS will see."""
    name_key, prefix_key = NAMED_TYPES[resource.type]
    for key, suffix in ((name_key, ""), (prefix_key, "*")):
        value = resource.inputs.get(key)
        if isinstance(value, str) and value != UNKNOWN:
            return value + suffix
        if value == UNKNOWN:
            raise InventoryError(f"{resource.name} ({resource.type}): {key} is computed, so the deploy "
                                 "role cannot be scoped to it; use a literal name or the auto-name")
    return f"{resource.name}-*"


def _default_tags(snapshot: Snapshot) -> dict[str, str]:
    """The tags every aws provider of the stack puts on every resource it serves."""
    common: dict[str, str] | None = None
    for provider in snapshot.of_type("pulumi:providers:aws"):
        raw = provider.inputs.get("defaultTags")
        tags = (json.loads(raw) if isinstance(raw, str) else raw or {}).get("tags") or {}
        current = {k: str(v) for k, v in tags.items()}
        common = current if common is None else {k: v for k, v in common.items() if current.get(k) == v}
    return dict(sorted((common or {}).items()))


def describe(snapshot: Snapshot) -> dict[str, Any]:
    """One stack's entry of the inventory."""
    regions = {snapshot.config.get("aws:region", "us-east-1")}
    regions.update(str(p.inputs["region"]) for p in snapshot.of_type("pulumi:providers:aws")
                   if isinstance(p.inputs.get("region"), str) and p.inputs["region"] != UNKNOWN)
    names: dict[str, list[str]] = {}
    for resource in snapshot.of_type(*NAMED_TYPES):
        names.setdefault(resource.type, []).append(name_pattern(resource))
    attached = set()
    for attachment in snapshot.of_type(ATTACHMENT_TYPE):
        arn = attachment.inputs.get("policyArn")
        if not isinstance(arn, str) or arn == UNKNOWN:
            raise InventoryError(f"{attachment.name}: policyArn is computed, so the deploy role "
                                 "cannot limit which policies it attaches")
        attached.add(arn)
    return {
        "regions": sorted(regions),
        "defaultTags": _default_tags(snapshot),
        "types": sorted({r.type for r in snapshot.custom() if not r.type.startswith("pulumi:")}),
        "invokes": sorted(snapshot.invokes),
        "secretsRead": list(snapshot.secrets_read),
        "names": {t: sorted(set(p)) for t, p in sorted(names.items())},
        "managedPolicyArns": sorted(attached),
    }


def build(stacks: Sequence[str] | None = None) -> dict[str, Any]:
    """The inventory of `stacks` (default: every Pulumi.<stack>.yaml at the repository root)."""
    chosen = list(stacks) if stacks else available_stacks()
    return {
        "generatedBy": COMMAND,
        "stacks": {stack: describe(run_program(stack, preview=True)) for stack in chosen},
    }


def policy_config(inventory: Mapping[str, Any]) -> dict[str, Any]:
    """The pack's defaults plus the `*`-only writes the deploy roles of these stacks need."""
    from bootstrap.ci_access.permissions import StackInventory, wildcard_only_writes
    from policies.guardrails.iam import WILDCARD_RESOURCE_ACTIONS

    needed = {action for stack, entry in inventory["stacks"].items()
              for action in wildcard_only_writes(StackInventory.parse(stack, entry))}
    return {WILDCARD_POLICY: {"allowedWildcardResourceActions": [
        *WILDCARD_RESOURCE_ACTIONS, *sorted(needed - set(WILDCARD_RESOURCE_ACTIONS))]}}


def render(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def generated() -> dict[Path, str]:
    """Each generated file and the text it must hold."""
    inventory = build()
    return {INVENTORY_FILE: render(inventory), POLICY_CONFIG_FILE: render(policy_config(inventory))}


def stale() -> list[Path]:
    return [path for path, text in generated().items()
            if not path.is_file() or path.read_text() != text]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = parser.parse_args(argv)
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"{path.relative_to(PROJECT_DIR)} is stale: run `{COMMAND}`", file=sys.stderr)
        return 1 if outdated else 0
    for path, text in generated().items():
        path.write_text(text)
        print(f"wrote {path.relative_to(PROJECT_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
