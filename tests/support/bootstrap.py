"""A pytest plugin (tests/conftest.py loads it): bootstrap/'s program under the mock engine, its
policy config, the workflows; and the helpers its tests import."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import yaml

from offline.engine import PROJECT_DIR, Resource, Snapshot, run_program

BOOTSTRAP_DIR = PROJECT_DIR / "bootstrap"
BOOTSTRAP_STACK = "main"
WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"

RunBootstrap = Callable[[Mapping[str, Any]], Snapshot]
"""The `run_bootstrap_with` fixture: the bootstrap stack with config overrides (full keys)."""


def run_bootstrap(stack: str = BOOTSTRAP_STACK, overrides: Mapping[str, Any] | None = None,
                  preview: bool = True) -> Snapshot:
    return run_program(stack, preview=preview, overrides=overrides,
                       program=BOOTSTRAP_DIR / "__main__.py", project_dir=BOOTSTRAP_DIR)


@pytest.fixture(scope="session")
def bootstrap() -> Snapshot:
    """The bootstrap stack in preview mode, as `pulumi preview` in bootstrap/ would run it."""
    return run_bootstrap()


@pytest.fixture(scope="session")
def bootstrap_policy_config() -> dict[str, Any]:
    return dict(json.loads((BOOTSTRAP_DIR / "policy-config.json").read_text()))


def documents(snapshot: Snapshot, *types: str, key: str = "policy") -> dict[str, dict[str, Any]]:
    """Resource name -> its (literal) policy document."""
    return {r.name: json.loads(r.inputs[key]) for r in snapshot.of_type(*types)}


def role(snapshot: Snapshot, name: str) -> Resource:
    return snapshot.named(name)


def trust_subjects(resource: Resource) -> set[str]:
    document = json.loads(resource.inputs["assumeRolePolicy"])
    (statement,) = document["Statement"]
    return set(statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"])


def load_workflow(name: str) -> dict[str, Any]:
    workflow = yaml.safe_load((WORKFLOWS_DIR / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on:` as True
    return dict(workflow)


@pytest.fixture
def run_bootstrap_with() -> RunBootstrap:
    """Run the bootstrap stack with config overrides (full keys)."""
    return lambda overrides: run_bootstrap(overrides=overrides)
