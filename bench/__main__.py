"""`make bench`: run the benchmarks and write bench/results/<name>.md and <name>.json.

    python -m bench [--only preview,policy,checkout,read,suite] [--quick] [--name latest] [--runs N]

  preview   the offline preview of prod end to end, against its floor (interpreter, imports, an empty
            program under the same mocks, the policy pack's start)
  policy    the policy pack over synthetic stacks of 100, 1,000 and 10,000 resources, against a
            no-op pack over the same requests
  checkout  checkouts per second and latency against a real PostgreSQL and the payment stand-in, at a
            steady rate and in a 20x burst, against raw PostgreSQL doing the same transaction
  read      the storefront's product reads through the cache against PostgreSQL: reads/s warm vs uncached,
            100 concurrent misses on one key, the hit ratio on a Zipf mix, p99 in a 20x burst
  suite     the wall time of `make test` (pytest -n 2 --dist loadfile)

A full run writes bench/results/latest.{md,json}, the checked-in record; `--quick` (tiny sizes, one
repetition: tries the harness) writes quick.*, `--only` partial.*, neither checked in. Record on a
quiet machine (a load average below ~1.5): the results say what the load was.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import machine
from bench.report import Section, write

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("preview", "policy", "checkout", "read", "suite")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated subset of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few runs: try the harness")
    parser.add_argument("--runs", type=int, default=None,
                        help="repetitions per figure (default: per benchmark)")
    parser.add_argument("--name", default=None,
                        help="results file name (default: latest for a full run, else quick or partial)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR,
                        help="results folder (default: bench/results)")
    return parser


def _plan(only: Sequence[str], quick: bool, runs: int | None) -> list[tuple[str, Callable[[], Section]]]:
    plan: list[tuple[str, Callable[[], Section]]] = []
    if "preview" in only:
        from bench import preview

        plan.append(("preview", lambda: preview.run(runs=runs or (1 if quick else 5))))
    if "policy" in only:
        from bench import policy_scale

        sizes = (20, 200) if quick else policy_scale.SIZES
        plan.append(("policy", lambda: policy_scale.run(
            sizes=sizes, runs={s: runs or (1 if quick else policy_scale.RUNS.get(s, 3)) for s in sizes})))
    if "checkout" in only:
        from bench import checkout

        settings = checkout.QUICK if quick else checkout.RECORDED
        plan.append(("checkout", lambda: checkout.run(settings, runs=runs or settings.runs)))
    if "read" in only:
        from bench import read_path

        read_settings = read_path.QUICK if quick else read_path.RECORDED
        plan.append(("read", lambda: read_path.run(read_settings, runs=runs or read_settings.runs)))
    if "suite" in only:
        from bench import suite

        plan.append(("suite", lambda: suite.run(runs=runs or (1 if quick else 3))))
    return plan


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        print(f"error: unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
              file=sys.stderr)
        return 2
    # the checked-in record is a full run; a quick or partial run never overwrites it unless named so
    name = args.name or ("quick" if args.quick else "latest" if set(only) == set(BENCHMARKS) else "partial")
    command = "python -m bench" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    described = machine.describe()
    started = time.perf_counter()
    sections = []
    for key, benchmark in _plan(only, args.quick, args.runs):
        print(f"bench: {key} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        load = [round(x, 2) for x in machine.load_average()]
        section = benchmark()
        section.data["loadAverageBefore"] = load
        sections.append(section)
        print(f"bench: {key} done in {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    described["loadAverageAtEnd"] = [round(x, 2) for x in machine.load_average()]
    described["wallSeconds"] = round(time.perf_counter() - started, 1)
    markdown, document = write(args.out, name, described, sections, command)
    for section in sections:
        for target in section.targets:
            print(f"{'met   ' if target.met else 'MISSED'} {target.name}: {target.measured} "
                  f"(goal {target.goal})", file=sys.stderr)
    print(f"bench: wrote {markdown} and {document}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
