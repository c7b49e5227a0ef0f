"""Benchmark 5: the wall time of the test suite as `make test` runs it after set-up."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from bench.machine import PROJECT_DIR
from bench.report import Section, Table, Target
from bench.stats import Figure

TARGET_SECONDS = 120.0
TIMEOUT = 1200  # seconds per run; a bound, far above the target
SLOWEST = 10  # steps listed in the results
_SUMMARY = re.compile(r"=+ (.*\d+ (?:passed|failed|error).*) in [\d.]+s")
_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
_DURATION = re.compile(r"^([\d.]+)s (call|setup|teardown)\s+(\S+)", re.MULTILINE)


def command() -> list[str]:
    """The Makefile's test target after set-up, plus --durations for every step's time (no cost)."""
    return [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "--durations=0"]


def where_the_time_goes(steps: list[tuple[float, str, str]], workers: int = 2) -> str:
    """What limits a suite that passes but misses its target: its own test time, folder by folder."""
    folders: dict[str, float] = {}
    for seconds, _, test in steps:
        folder = "/".join(test.split("::")[0].split("/")[:2])
        folders[folder] = folders.get(folder, 0.0) + seconds
    total = sum(folders.values())
    shares = ", ".join(f"{folder} {seconds:.0f} s" for folder, seconds in
                       sorted(folders.items(), key=lambda item: -item[1]) if seconds >= 1)
    return (f"the tests' own time: {total:.0f} s of setup, calls and teardown over {workers} workers "
            f"(~{total / workers:.0f} s each, before collection and start), by folder: {shares}; the "
            "slowest steps are listed below")


def run(*, runs: int = 3) -> Section:
    walls: list[float] = []
    summaries: list[str] = []
    steps: list[tuple[float, str, str]] = []
    failed = False
    failures: list[str] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command(), cwd=PROJECT_DIR, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
        walls.append(time.perf_counter() - started)
        match = _SUMMARY.search(done.stdout)
        summaries.append(match.group(1) if match else f"exit code {done.returncode}")
        failed = failed or done.returncode != 0
        failures += _FAILED.findall(done.stdout)
        steps = [(float(s), phase, test) for s, phase, test in _DURATION.findall(done.stdout)]
    slowest = steps[:SLOWEST]
    wall = Figure.of(walls, "s")
    met = wall.median <= TARGET_SECONDS and not failed
    limit = (f"the suite failed: {', '.join(dict.fromkeys(failures))}" if failed
             else "" if met else where_the_time_goes(steps))
    ratio = wall.median / TARGET_SECONDS
    return Section(
        key="suite", title="5. The test suite's wall time",
        method=f"""
`python -m pytest -n 2 --dist loadfile` (the Makefile's `test` target after set-up; `--durations=0`
added to time every step), in a fresh process from the project folder, {runs} run(s); median
(min-max).
""",
        tables=[Table(("", "Wall time", "Target", "Share of the target", "Outcome"), (
            ("`make test` after set-up", wall.text(1), f"{TARGET_SECONDS:g} s", f"{ratio:.0%}",
             "; ".join(dict.fromkeys(summaries))),)),
                Table(("Slowest steps (last run)", "Phase", "Seconds"), tuple(
                    (f"`{test}`", phase, f"{seconds:.1f}") for seconds, phase, test in slowest))],
        targets=[Target("`make test` wall time after set-up", f"<= {TARGET_SECONDS:g} s",
                        f"{wall.median:.0f} s", met, limit=limit)],
        data={"runs": runs, "wallSeconds": wall.as_json(), "targetSeconds": TARGET_SECONDS,
              "outcomes": summaries, "failed": failed, "failures": list(dict.fromkeys(failures)),
              "slowest": [{"seconds": s, "phase": p, "test": t} for s, p, t in slowest]})
