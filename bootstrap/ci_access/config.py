"""The bootstrap stack's typed config, read once and validated (bootstrap/Pulumi.yaml declares it)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from .github import ISSUER_HOST, REPOSITORY
from .permissions import StackInventory

INVENTORY_FILE = Path(__file__).resolve().parent.parent / "stack-inventory.json"
SESSION_LIMITS = (3600, 43_200)  # what IAM allows for a role's MaxSessionDuration


class ConfigError(pulumi.RunError):
    """A config mistake. A RunError, so the CLI prints the one line and no traceback."""


@dataclass(frozen=True, kw_only=True)
class BootstrapConfig:
    repository: str
    stacks: tuple[StackInventory, ...]
    github_oidc_provider_arn: str | None
    deploy_session_seconds: int
    pulumi_organization: str | None

    @classmethod
    def load(cls) -> BootstrapConfig:
        config = pulumi.Config()
        return parse(raw={key: config.get(key) for key in
                          ("repository", "stacks", "githubOidcProviderArn", "deploySessionSeconds",
                           "pulumiOrganization")},
                     project=pulumi.get_project(), stack=pulumi.get_stack(),
                     inventory=json.loads(INVENTORY_FILE.read_text()))


def parse(raw: Mapping[str, str | None], *, project: str, stack: str,
          inventory: Mapping[str, Any]) -> BootstrapConfig:
    """Validate the raw strings; a bad value raises ConfigError naming the key and stack file."""
    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"Pulumi.{stack}.yaml: {project}:{key} {problem}")

    repository = (raw.get("repository") or "").strip()
    if not repository:
        raise fail("repository", "is missing: the GitHub repository (owner/name) whose workflows "
                                 "may assume the roles")
    if not REPOSITORY.fullmatch(repository):
        raise fail("repository", f"= {repository!r} is not allowed: must be owner/name of a GitHub "
                                 "repository, e.g. example-org/ecommerce")

    known = inventory.get("stacks") or {}
    if not raw.get("stacks"):
        raise fail("stacks", f"is missing: the stacks deployed to this account, some of "
                             f"{', '.join(sorted(known))}")
    try:
        names = json.loads(str(raw["stacks"]))
    except ValueError:
        raise fail("stacks", "must be a list of stack names") from None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise fail("stacks", "must be a non-empty list of stack names")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise fail("stacks", f"names {', '.join(unknown)}, which stack-inventory.json does not "
                             f"describe: the stacks are {', '.join(sorted(known))} (after adding a "
                             "Pulumi.<stack>.yaml, run `python -m offline.inventory`)")

    provider = (raw.get("githubOidcProviderArn") or "").strip() or None
    expected = rf"arn:aws:iam::\d{{12}}:oidc-provider/{re.escape(ISSUER_HOST)}"
    if provider is not None and not re.fullmatch(expected, provider):
        raise fail("githubOidcProviderArn", f"= {provider!r} is not the ARN of an IAM OIDC provider "
                                            f"for {ISSUER_HOST}")

    session_text = (raw.get("deploySessionSeconds") or "").strip()
    if not session_text.isdigit() or not SESSION_LIMITS[0] <= int(session_text) <= SESSION_LIMITS[1]:
        raise fail("deploySessionSeconds", f"= {session_text!r} is not allowed: must be an integer "
                                           f"from {SESSION_LIMITS[0]} to {SESSION_LIMITS[1]}")

    return BootstrapConfig(
        repository=repository,
        stacks=tuple(StackInventory.parse(n, known[n]) for n in dict.fromkeys(names)),
        github_oidc_provider_arn=provider,
        deploy_session_seconds=int(session_text),
        pulumi_organization=(raw.get("pulumiOrganization") or "").strip() or None)
