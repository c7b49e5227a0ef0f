"""Fixtures for the offline preview: the prod preview with the pack, the command, stack folders."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from offline.engine import PROJECT_DIR, Snapshot
from offline.preview import preview_of, with_manual_steps
from offline.render import PreviewResult

RunPreview = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def prod_result(prod_preview: Snapshot) -> PreviewResult:
    """What `make preview` shows for prod: the harness's preview snapshot, the pack's verdict and the
    day-one steps still open."""
    return with_manual_steps(preview_of(prod_preview), prod_preview)


@pytest.fixture
def run_preview() -> RunPreview:
    """`python -m offline.preview ARGS...` in a fresh interpreter, from the project folder."""

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "offline.preview", *map(str, args)],
                              cwd=PROJECT_DIR, capture_output=True, text=True, timeout=180,
                              check=False)

    return run


@pytest.fixture
def project_copy(tmp_path: Path) -> Callable[..., Path]:
    """A project folder with the real Pulumi.yaml, a stack file and the real (or another) program."""

    def make(stack: str, stack_yaml: str, program: str | None = None) -> Path:
        (tmp_path / "Pulumi.yaml").symlink_to(PROJECT_DIR / "Pulumi.yaml")
        if program is None:
            (tmp_path / "__main__.py").symlink_to(PROJECT_DIR / "__main__.py")
        else:
            (tmp_path / "__main__.py").write_text(program)
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(stack_yaml)
        return tmp_path

    return make
