"""Results of a benchmark run: sections with tables and targets, written as markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool
    limit: str = ""
    """When missed: what limits it (from profiling)."""

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "goal": self.goal, "measured": self.measured, "met": self.met,
                "limit": self.limit}


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    def markdown(self) -> str:
        lines = [f"| {' | '.join(self.headers)} |", f"|{'|'.join(' --- ' for _ in self.headers)}|"]
        lines += [f"| {' | '.join(row)} |" for row in self.rows]
        return (f"{self.caption}\n\n" if self.caption else "") + "\n".join(lines)


@dataclass
class Section:
    key: str
    title: str
    method: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def markdown(self) -> str:
        parts = [f"## {self.title}", self.method.strip()]
        parts += [table.markdown() for table in self.tables]
        if self.notes:
            parts.append("\n".join(f"- {note}" for note in self.notes))
        if "loadAverageBefore" in self.data:
            load = ", ".join(f"{x:.2f}" for x in self.data["loadAverageBefore"])
            parts.append(f"Load average (1, 5, 15 min) when this benchmark started: {load}.")
        return "\n\n".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "targets": [t.as_json() for t in self.targets], **self.data}


def render_markdown(machine: dict[str, Any], sections: Sequence[Section], command: str) -> str:
    load_start = ", ".join(f"{x:.2f}" for x in machine["loadAverageAtStart"])
    load_end = ", ".join(f"{x:.2f}" for x in machine.get("loadAverageAtEnd", ()))
    head = [
        "# Benchmarks",
        f"Measured by `{command}` (see [bench/](../) for how; rerun it to refresh this file).",
        Table(("Machine", ""), (
            ("CPU", machine["cpu"]),
            ("Cores", str(machine["cores"])),
            ("Memory", f"{machine['memoryGiB']} GiB"),
            ("Python", machine["python"]),
            ("Platform", machine["platform"]),
            ("Date (UTC)", machine["date"]),
            ("Commit", f"`{machine['commit']}`" + (" (with uncommitted changes in the tree)"
                                                   if machine.get("uncommittedChanges") else "")),
            ("Load average (1, 5, 15 min)", f"{load_start} at the start; {load_end} at the end (the "
                                            "benchmarks' own processes included)"),
            ("Wall time of the run", f"{machine.get('wallSeconds', 0):.0f} s"),
        )).markdown(),
    ]
    targets = [t for s in sections for t in s.targets]
    if targets:
        head.append(Table(("Target", "Goal", "Measured", "Met"), tuple(
            (t.name, t.goal, t.measured, "yes" if t.met else "**no**") for t in targets),
            caption="### Targets").markdown())
        missed = [t for t in targets if not t.met and t.limit]
        if missed:
            head.append("Where a target is missed, what limits it:\n\n" + "\n".join(
                f"- **{t.name}**: {t.limit}" for t in missed))
    return "\n\n".join([*head, *(s.markdown() for s in sections)]) + "\n"


def write(directory: Path, name: str, machine: dict[str, Any], sections: Sequence[Section],
          command: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    markdown_path, json_path = directory / f"{name}.md", directory / f"{name}.json"
    markdown_path.write_text(render_markdown(machine, sections, command))
    document = {"command": command, "machine": machine,
                "benchmarks": {s.key: s.as_json() for s in sections}}
    json_path.write_text(json.dumps(document, indent=2) + "\n")
    return markdown_path, json_path
