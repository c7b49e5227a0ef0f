"""Apply to prod what was reviewed: summarize a `pulumi preview --json`, and compare two of them.

    python scripts/reviewed_plan.py summary PREVIEW.json [--title TEXT]   # Markdown on stdout
    python scripts/reviewed_plan.py compare REVIEWED.json CURRENT.json    # exit 1 if they differ

The deploy workflow previews prod before the approval and posts the summary; after the approval it
previews again with the deploy role and runs `pulumi up` only when the changes are the ones that
were reviewed: the same resources, the same operations, the same changed properties.

Why not `pulumi preview --save-plan` / `pulumi up --plan`: update plans are still an experimental
preview of the CLI (hidden behind PULUMI_EXPERIMENTAL for years, "a lot of corner cases" by the
maintainers' own account, and an unknown output of a resource being created is recorded as unknown),
so a plan would fail the update on this stack's many computed values. A diff check of two previews
is what remains, and it says exactly what changed between review and apply.
https://www.pulumi.com/docs/iac/operations/stack-management/update-plans/
https://github.com/pulumi/docs/pull/15698

The document's shape (`steps[].op/urn/diffReasons/replaceReasons/detailedDiff`) is pulumi's
display JSON (pkg/display/json.go).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NO_CHANGE = frozenset({"same", "read", "refresh"})
MAX_ROWS = 200  # a job summary holds 1 MiB; past this many rows the counts still say it all


@dataclass(frozen=True, order=True)
class Change:
    """One planned change: what happens to which resource, and which properties cause it."""

    urn: str
    op: str
    properties: tuple[str, ...]

    @property
    def type(self) -> str:
        parts = self.urn.split("::")
        return parts[2].rsplit("$", 1)[-1] if len(parts) > 2 else ""

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


class PlanError(Exception):
    """The file is not a `pulumi preview --json` document; `str()` says why."""


def changes(document: Mapping[str, Any]) -> list[Change]:
    steps = document.get("steps")
    if not isinstance(steps, list):
        raise PlanError("no `steps` list: not the output of `pulumi preview --json`")
    found = []
    for step in steps:
        if not isinstance(step, Mapping) or not isinstance(step.get("op"), str):
            raise PlanError(f"a step without an `op`: {step!r:.120}")
        if step["op"] in NO_CHANGE:
            continue
        # the detailed diff names each property path and its kind; without it, the top-level keys
        detailed = step.get("detailedDiff") or {}
        properties = ({f"{path} ({diff.get('kind', '?')})" for path, diff in detailed.items()
                       if isinstance(diff, Mapping)}
                      or {*(step.get("diffReasons") or ()), *(step.get("replaceReasons") or ())})
        found.append(Change(urn=str(step.get("urn")), op=step["op"], properties=tuple(sorted(properties))))
    return sorted(found)


def load(path: Path) -> list[Change]:
    try:
        return changes(json.loads(path.read_text()))
    except OSError as error:
        raise PlanError(f"{path}: {error.strerror}") from None
    except ValueError as error:
        raise PlanError(f"{path} is not JSON: {error}") from None


def summary(found: Sequence[Change], title: str) -> str:
    counts = Counter(change.op for change in found)
    lines = [f"### {title}", ""]
    if not found:
        return "\n".join([*lines, "No changes."])
    lines.append(", ".join(f"{n} to {op}" for op, n in sorted(counts.items())) + ".")
    lines += ["", "| operation | type | name | properties |", "|---|---|---|---|"]
    for change in found[:MAX_ROWS]:
        lines.append(f"| {change.op} | `{change.type}` | {change.name} | "
                     f"{', '.join(change.properties) or '-'} |")
    if len(found) > MAX_ROWS:
        lines.append(f"\n... and {len(found) - MAX_ROWS} more (the artifact holds the whole preview).")
    return "\n".join(lines)


def compare(reviewed: Sequence[Change], current: Sequence[Change]) -> list[str]:
    """What the current preview would do that was not reviewed, and what it no longer does."""
    before, after = set(reviewed), set(current)
    return ([f"not reviewed: {c.op} {c.name} ({c.type}) {', '.join(c.properties)}".rstrip()
             for c in sorted(after - before)]
            + [f"reviewed but no longer planned: {c.op} {c.name} ({c.type})" for c in sorted(before - after)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/reviewed_plan.py",
                                     description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("summary", help="Markdown summary of a preview")
    show.add_argument("preview", type=Path)
    show.add_argument("--title", default="pulumi preview")
    check = commands.add_parser("compare", help="exit 1 when the current preview is not the reviewed one")
    check.add_argument("reviewed", type=Path)
    check.add_argument("current", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "summary":
            print(summary(load(args.preview), args.title))
            return 0
        differences = compare(load(args.reviewed), load(args.current))
    except PlanError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if differences:
        print("The changes differ from the reviewed preview; nothing was applied. Re-run the "
              "workflow to review the new preview.", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("The changes are the reviewed ones.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
