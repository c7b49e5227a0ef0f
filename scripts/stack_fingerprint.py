"""Every resource of the stacks, as the offline engine records them: for a refactoring that must not
change a URN, an input, an output, a parent, a provider or a dependency.

    .venv/bin/python -m scripts.stack_fingerprint dump build/fingerprint-before.json
    ... refactor ...
    .venv/bin/python -m scripts.stack_fingerprint dump build/fingerprint-after.json
    .venv/bin/python -m scripts.stack_fingerprint diff build/fingerprint-before.json \
        build/fingerprint-after.json

`diff` prints one line per resource added, removed or changed (with the changed keys), and exits 1
when anything differs. The runs: prod and staging in update and preview mode, and prod with the
second Region on (what `offline.cost` compares).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RUNS: dict[str, dict[str, Any]] = {
    "prod": {"stack": "prod"},
    "prod-preview": {"stack": "prod", "preview": True},
    "staging": {"stack": "staging"},
    "staging-preview": {"stack": "staging", "preview": True},
    "prod-multi-region": {"stack": "prod", "multi_region": True},
}


def _runs() -> dict[str, dict[str, Any]]:
    from offline.cost import MULTI_REGION_OVERRIDES
    from offline.engine import run_program

    result: dict[str, dict[str, Any]] = {}
    for label, run in RUNS.items():
        overrides = MULTI_REGION_OVERRIDES if run.get("multi_region") else None
        snapshot = run_program(run["stack"], preview=bool(run.get("preview")), overrides=overrides)
        resources = {r.urn: {"inputs": r.inputs, "outputs": r.outputs, "parent": r.parent,
                             "provider": r.provider, "dependencies": sorted(r.dependencies),
                             "propertyDependencies": {k: sorted(v) for k, v
                                                      in r.property_dependencies.items()}}
                     for r in snapshot}
        result[label] = {"resources": resources, "outputs": snapshot.outputs,
                         "warnings": list(snapshot.warnings)}
    return result


def _changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for part in ("inputs", "outputs"):
        for key in sorted(set(before[part]) | set(after[part])):
            old, new = before[part].get(key), after[part].get(key)
            if old == new:
                continue
            if isinstance(old, dict | None) and isinstance(new, dict | None):  # tags: name the keys
                old, new = old or {}, new or {}
                inner = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                keys.append(f"{part}.{key}[{', '.join(inner)}]")
            else:
                keys.append(f"{part}.{key}")
    keys += [part for part in ("parent", "provider", "dependencies", "propertyDependencies")
             if before[part] != after[part]]
    return keys


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for label in sorted(set(before) | set(after)):
        if label not in before or label not in after:
            lines.append(f"{label}: only in {'after' if label in after else 'before'}")
            continue
        old, new = before[label]["resources"], after[label]["resources"]
        lines += [f"{label}: - {urn}" for urn in sorted(set(old) - set(new))]
        lines += [f"{label}: + {urn}" for urn in sorted(set(new) - set(old))]
        for urn in sorted(set(old) & set(new)):
            changed = _changed_keys(old[urn], new[urn])
            if changed:
                lines.append(f"{label}: ~ {urn}: {', '.join(changed)}")
        for part in ("outputs", "warnings"):
            if before[label][part] != after[label][part]:
                lines.append(f"{label}: stack {part} differ")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    dump = commands.add_parser("dump", help="record every resource of the runs into FILE")
    dump.add_argument("file", type=Path)
    compare = commands.add_parser("diff", help="compare two recordings")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        args.file.parent.mkdir(parents=True, exist_ok=True)
        args.file.write_text(json.dumps(_runs(), indent=1, sort_keys=True, default=str))
        return 0
    lines = diff(json.loads(args.before.read_text()), json.loads(args.after.read_text()))
    print("\n".join(lines) if lines else "identical: every URN, input, output, parent, provider and "
                                         "dependency of every run")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
