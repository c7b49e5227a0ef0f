"""`make preview`: run the program offline and summarise what it would create."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from offline.engine import ProgramError, run_program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.preview",
                                     description="Offline preview of a stack (no CLI, no cloud).")
    parser.add_argument("--stack", default="prod", help="stack name: reads Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    print(f"Offline preview of stack {args.stack}: no diff against deployed state, no provider "
          "validation, computed values unknown.")
    try:
        snapshot = run_program(args.stack, preview=True)
    except ProgramError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for type_, count in sorted(Counter(r.type for r in snapshot).items()):
        print(f"  + {count:4d}  {type_}")
    print(f"{len(snapshot)} resources to create")
    return 0


if __name__ == "__main__":
    sys.exit(main())
