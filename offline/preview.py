"""`make preview`: the program and the policy pack, offline, shown like `pulumi preview`.

    python -m offline.preview [--stack prod] [--json | --markdown] [--policy-config FILE]
                              [--no-policies] [--config KEY=VALUE ...] [--diagram DIR]
                              [--sarif FILE]

Runs `__main__.py` under the mock engine in preview mode with the stack's config (Pulumi.yaml
defaults + Pulumi.<stack>.yaml), starts the policy pack in `policies/` the way the engine starts
it, sends it every registered resource, and prints the resource tree, the violations, the outputs
and a summary. Exit status: 0 clean, 1 a mandatory policy failed, 2 the program, its config or the
policy pack failed (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from offline.cost import CostReport, cost_report
from offline.engine import (
    PROJECT,
    PROJECT_DIR,
    ProgramError,
    Snapshot,
    project_name,
    run_program,
    stack_config,
)
from offline.render import (
    PolicyInfo,
    PolicyOutcome,
    PreviewResult,
    Violation,
    render_json,
    render_markdown,
    render_text,
)
from offline.sarif import render_sarif

DEFAULT_PACK = PROJECT_DIR / "policies"


class PolicyPackError(Exception):
    """The policy pack could not be started or did not answer; `str()` is the one line."""


def run_preview(stack: str, *, policies: bool = True, policy_config: Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None, project_dir: Path = PROJECT_DIR,
                pack_dir: Path = DEFAULT_PACK, cost_compare: bool | None = None) -> PreviewResult:
    """Run the program (preview mode) and, unless `policies` is false, the pack on what it made.

    The cost estimate is always shown; `cost_compare` also runs the stack with the second Region
    flipped to show the multiplier (None: only when the stack has multiRegion on).
    """
    started = time.perf_counter()
    pack: _EarlyPack | None = None
    try:
        if policies:  # as the engine does, the pack starts before the program runs, beside it
            config, _ = stack_config(stack, project_dir, overrides)
            pack = _EarlyPack(pack_dir, stack=stack, config=config, policy_config=policy_config or {},
                              project=project_name(project_dir))
        snapshot = run_program(stack, preview=True, overrides=overrides,
                               program=project_dir / "__main__.py", project_dir=project_dir)
    except ProgramError as error:
        if pack is not None:
            pack.stop()
        return PreviewResult(stack=stack, snapshot=None, policies=None, error=str(error),
                             timings={"programSeconds": time.perf_counter() - started})
    compare = cost_compare if cost_compare is not None else \
        snapshot.config.get(f"{PROJECT}:multiRegion") == "true"
    try:
        cost = cost_report(snapshot, compare=compare, project_dir=project_dir, overrides=overrides,
                           policy_config=policy_config)
        result = preview_of(snapshot, policies=policies, policy_config=policy_config, pack_dir=pack_dir,
                            timings={"programSeconds": time.perf_counter() - started}, cost=cost,
                            started_pack=pack)
    finally:
        if pack is not None:
            pack.stop()
    if project_dir.resolve() != PROJECT_DIR.resolve():  # another program: its steps are unknown
        return result
    return with_manual_steps(result, snapshot)


def with_manual_steps(result: PreviewResult, snapshot: Snapshot) -> PreviewResult:
    """`result` with the day-one steps still open for this program's stack (docs/day-one.md)."""
    from components.config import parse_stack_config
    from components.day_one import manual_steps

    steps = manual_steps(parse_stack_config(snapshot.config, stack=snapshot.stack))
    return dataclasses.replace(result, manual_steps=steps)


def preview_of(snapshot: Snapshot, *, policies: bool = True,
               policy_config: Mapping[str, Any] | None = None, pack_dir: Path = DEFAULT_PACK,
               timings: Mapping[str, float] | None = None,
               cost: CostReport | None = None, started_pack: _EarlyPack | None = None) -> PreviewResult:
    """The preview of a recorded snapshot: the pack's verdict on it, unless `policies` is false.

    `started_pack`: the pack already started for this snapshot's stack, config and policy config
    (`run_preview` starts it beside the program); otherwise it is started here."""
    times = dict(timings or {})
    cost = cost if cost is not None else cost_report(snapshot, policy_config=policy_config)
    if not policies:
        return PreviewResult(stack=snapshot.stack, snapshot=snapshot, policies=None,
                             policies_skipped=True, timings=times, cost=cost)
    started = time.perf_counter()
    try:
        outcome: PolicyOutcome | None = analyze(snapshot, pack_dir, policy_config or {}, started_pack)
        error = None
    except PolicyPackError as failure:
        outcome, error = None, f"policy pack {pack_dir.name}: {failure}"
    times["policiesSeconds"] = time.perf_counter() - started
    return PreviewResult(stack=snapshot.stack, snapshot=snapshot, policies=outcome, error=error,
                         timings=times, cost=cost)


def analyze(snapshot: Snapshot, pack_dir: Path, config: Mapping[str, Any],
            started: _EarlyPack | None = None) -> PolicyOutcome:
    """Start the pack as the engine does (or take the one `started`), send it the snapshot, and read
    back its verdict."""
    from offline import analyzer

    try:
        if started is not None:
            with started.ready() as pack:
                report = pack.analyze(snapshot)
        else:
            with analyzer.PolicyPackProcess.for_snapshot(snapshot, pack_dir,
                                                         policy_config=dict(config)) as pack:
                report = pack.analyze(snapshot)
    except analyzer.PolicyPackError as error:
        raise PolicyPackError(str(error)) from None
    return PolicyOutcome(
        pack=pack.name, version=pack.version, location=_location(pack_dir),
        policies=tuple(PolicyInfo(name=p.name, description=p.description, level=p.level,
                                  severity=p.severity, remediation=p.remediation)
                       for p in pack.policies),
        violations=tuple(Violation(policy=v.policy, level=v.level, message=v.message, urn=v.urn,
                                   pack=v.pack, pack_version=v.version, description=v.description)
                         for v in report.violations))


class _EarlyPack:
    """The policy pack, started in a thread of its own while the program runs."""

    def __init__(self, pack_dir: Path, *, stack: str, config: Mapping[str, str],
                 policy_config: Mapping[str, Any], project: str) -> None:
        from offline import analyzer

        self._process = analyzer.PolicyPackProcess(pack_dir, stack=stack, preview=True, config=config,
                                                   policy_config=dict(policy_config), project=project)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="policy-pack-start", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self._process.start()
        except BaseException as failure:  # raised where the pack is used, as if started there
            self._failure = failure

    @contextlib.contextmanager
    def ready(self) -> Iterator[Any]:
        """The started pack, stopped on exit; or the error that starting it raised."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        try:
            yield self._process
        finally:
            self._process.stop()

    def stop(self) -> None:
        self._thread.join()
        self._process.stop()


def _location(pack_dir: Path) -> str:
    try:
        return str(pack_dir.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(pack_dir)


# ----------------------------------------------------------------------------------------------
# Command line


def _config_override(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return (key if ":" in key else f"{PROJECT}:{key}"), value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m offline.preview",
        description="Offline `pulumi preview`: the program and the policy pack under mocks, "
                    "no Pulumi CLI, no cloud credentials.",
        epilog="Exit status: 0 clean, 1 a mandatory policy failed, 2 the program, its config or "
               "the policy pack failed.")
    parser.add_argument("--stack", "-s", default="prod", help="stack name: reads Pulumi.<stack>.yaml "
                        "(default: prod)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a machine-readable document")
    output.add_argument("--markdown", action="store_true", help="print a pull-request comment body")
    parser.add_argument("--policy-config", type=Path, metavar="FILE",
                        help="policy config as JSON, the shape `pulumi preview "
                             "--policy-pack-config` reads")
    parser.add_argument("--no-policies", action="store_true", help="do not run the policy pack")
    parser.add_argument("--policy-pack", type=Path, default=DEFAULT_PACK, metavar="DIR",
                        help="the policy pack's folder (default: policies)")
    parser.add_argument("--config", "-c", type=_config_override, action="append", default=[],
                        metavar="KEY=VALUE", help="override a config value for this run, as "
                        "`pulumi preview -c` does (KEY without a namespace means ecommerce:KEY)")
    parser.add_argument("--cwd", "-C", type=Path, default=PROJECT_DIR, metavar="DIR",
                        help="the project folder: Pulumi.yaml, Pulumi.<stack>.yaml, __main__.py")
    parser.add_argument("--markdown-file", type=Path, metavar="FILE",
                        help="also write the pull-request comment body to FILE (CI)")
    parser.add_argument("--json-file", type=Path, metavar="FILE",
                        help="also write the machine-readable document to FILE (CI)")
    parser.add_argument("--sarif", type=Path, metavar="FILE",
                        help="also write the policy violations as SARIF 2.1.0 to FILE, each at the "
                             "program line that registered its resource (GitHub code scanning)")
    parser.add_argument("--cost-compare", action="store_true",
                        help="also estimate the stack with the second Region flipped (two more program "
                             "runs) and show the multi-Region multiplier; automatic with multiRegion on")
    parser.add_argument("--diagram", type=Path, metavar="DIR",
                        help="also draw this stack's architecture to DIR/diagram.mmd and, with "
                             "Graphviz, DIR/diagram.svg")
    return parser


def _read_policy_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        config = json.loads(path.read_text())
    except OSError as error:
        raise ValueError(f"--policy-config {path}: {error.strerror}") from None
    except ValueError as error:
        raise ValueError(f"--policy-config {path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"--policy-config {path} must hold a JSON object keyed by policy name")
    return config


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        policy_config = _read_policy_config(args.policy_config)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = run_preview(args.stack, policies=not args.no_policies, policy_config=policy_config,
                         overrides=dict(args.config), project_dir=args.cwd,
                         pack_dir=args.policy_pack, cost_compare=True if args.cost_compare else None)
    source_url = github_source_url(os.environ)
    if args.json:
        print(render_json(result))
    elif args.markdown:
        print(render_markdown(result, source_url=source_url))
    else:
        print(render_text(result))
    documents = ((args.markdown_file, lambda r: render_markdown(r, source_url=source_url)),
                 (args.json_file, render_json), (args.sarif, render_sarif))
    for path, render in documents:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(result) + "\n")
    if args.diagram is not None and result.snapshot is not None:
        _write_diagram(result.snapshot, args.diagram)
    if result.error is not None:
        print(f"error: {result.error}", file=sys.stderr)
    return result.exit_code


def github_source_url(environ: Mapping[str, str]) -> str | None:
    """`<server>/<owner>/<repo>/blob/<sha>/` in a GitHub Actions job (the commit checked out), so
    the pull-request comment links each violation to its line; None elsewhere."""
    parts = [environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA")]
    if not all(parts):
        return None
    server, repository, sha = parts
    return f"{server}/{repository}/blob/{sha}/"


def _write_diagram(snapshot: Snapshot, folder: Path) -> None:
    from offline import diagram

    drawing = diagram.build(snapshot)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "diagram.mmd").write_text(diagram.to_mermaid(drawing))
    try:
        (folder / "diagram.svg").write_text(diagram.to_svg(diagram.to_dot(drawing)))
    except diagram.GraphvizMissing as error:
        print(f"note: wrote {folder / 'diagram.mmd'} only: {error}", file=sys.stderr)
        return
    print(f"note: wrote the architecture of {snapshot.stack} to {folder}/diagram.{{mmd,svg}}",
          file=sys.stderr)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
