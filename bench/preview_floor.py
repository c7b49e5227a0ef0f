"""The floor of `python -m offline.preview`: everything it does except the program's and the pack's work.

    python -m bench.preview_floor [--stack prod]

Interpreter start, `import pulumi, pulumi_aws`, an empty program under the same mocks and stack config,
and the policy pack started as the engine starts it (handshake, info, config) and sent the empty
stack. Prints the phases' seconds as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

STARTED = time.perf_counter()

import pulumi  # noqa: E402, F401 - what the floor measures
import pulumi_aws  # noqa: E402, F401

IMPORTED = time.perf_counter()

from offline.analyzer import PolicyPackProcess  # noqa: E402
from offline.engine import run_program  # noqa: E402

EMPTY_PROGRAM = Path(__file__).resolve().parent / "floor_program" / "__main__.py"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.preview_floor")
    parser.add_argument("--stack", default="prod")
    args = parser.parse_args()
    program_started = time.perf_counter()
    snapshot = run_program(args.stack, preview=True, program=EMPTY_PROGRAM)
    pack_started = time.perf_counter()
    with PolicyPackProcess.for_snapshot(snapshot) as pack:
        report = pack.analyze(snapshot)
    done = time.perf_counter()
    print(json.dumps({"importSeconds": IMPORTED - STARTED, "programSeconds": pack_started - program_started,
                      "packSeconds": done - pack_started, "resources": report.resources,
                      "policies": len(pack.policies)}))


if __name__ == "__main__":
    main()
