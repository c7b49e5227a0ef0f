"""The floor of `python -m offline.preview`, and where the preview's own time goes.

    python -m bench.preview_floor [--stack prod]               the floor
    python -m bench.preview_floor [--stack prod] --breakdown   the preview's parts, one by one

The floor: interpreter start, `import pulumi, pulumi_aws`, an empty program under the same mocks and
stack config, and the policy pack started as the engine starts it (handshake, info, config) and sent
the empty stack. The breakdown runs the real program twice in one process (the first run also
imports the pulumi_aws modules and components it uses; the second only registers the resources),
times the engine's own recording work again on what it recorded, then what `make preview` adds (the
cost estimate), then starts the pack and has it analyze the stack; last, it imports the pulumi_aws
modules the program used in a fresh interpreter (what the provider package costs by itself). Prints
the phases' seconds as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

import pulumi  # noqa: E402, F401 - what the floor measures
import pulumi_aws  # noqa: E402, F401

IMPORTED = time.perf_counter()

from offline.analyzer import PolicyPackProcess  # noqa: E402
from offline.engine import run_program  # noqa: E402

EMPTY_PROGRAM = Path(__file__).resolve().parent / "floor_program" / "__main__.py"


def floor(stack: str) -> dict[str, Any]:
    program_started = time.perf_counter()
    snapshot = run_program(stack, preview=True, program=EMPTY_PROGRAM)
    pack_started = time.perf_counter()
    with PolicyPackProcess.for_snapshot(snapshot) as pack:
        report = pack.analyze(snapshot)
    done = time.perf_counter()
    return {"importSeconds": IMPORTED - STARTED, "programSeconds": pack_started - program_started,
            "packSeconds": done - pack_started, "resources": report.resources, "policies": len(pack.policies)}


def breakdown(stack: str) -> dict[str, Any]:
    started = time.perf_counter()
    from offline.preview import preview_of

    imported = time.perf_counter()
    run_program(stack, preview=True)
    first = time.perf_counter()
    snapshot = run_program(stack, preview=True)
    second = time.perf_counter()
    recording = _recording_seconds(snapshot)
    replayed = time.perf_counter()
    preview_of(snapshot, policies=False)  # what the preview adds besides the pack (the cost estimate)
    extras = time.perf_counter()
    with PolicyPackProcess.for_snapshot(snapshot) as pack:
        pack_started = time.perf_counter()
        pack.analyze(snapshot)
        analyzed = time.perf_counter()
    modules = _provider_modules()
    return {"importSeconds": IMPORTED - STARTED, "previewImportSeconds": imported - started,
            "firstProgramSeconds": first - imported, "secondProgramSeconds": second - first,
            "recordingSeconds": recording, "extrasSeconds": extras - replayed,
            "packStartSeconds": pack_started - extras, "packAnalyzeSeconds": analyzed - pack_started,
            "providerImportSeconds": _import_seconds(modules), "providerModules": len(modules),
            "resources": len(snapshot)}


def _recording_seconds(snapshot: Any) -> float:
    """The engine's own work for each registration (offline/engine.py RecordingMonitor: the request's
    and the answer's Structs as plain Python, the program line), done again and timed."""
    from offline.engine import PROJECT_DIR, plain, source_location

    started = time.perf_counter()
    for resource in snapshot:
        plain(resource.request.object)
        plain(resource.output_struct)
        source_location(resource.request, PROJECT_DIR)
    return time.perf_counter() - started


def _provider_modules() -> list[str]:
    """The pulumi_aws modules the program's run imported (the package loads its modules lazily)."""
    return sorted(name for name, module in sys.modules.items()
                  if name.startswith("pulumi_aws.") and type(module).__name__ != "_LazyModule")


def _import_seconds(modules: list[str]) -> float:
    """Seconds to import `modules` in a fresh interpreter that has imported pulumi and pulumi_aws."""
    code = ("import time, pulumi, pulumi_aws, importlib; t = time.perf_counter(); "
            f"[importlib.import_module(m) for m in {modules!r}]; print(time.perf_counter() - t)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=300)
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.preview_floor")
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--breakdown", action="store_true", help="time the preview's parts instead")
    args = parser.parse_args()
    print(json.dumps(breakdown(args.stack) if args.breakdown else floor(args.stack)))


if __name__ == "__main__":
    main()
