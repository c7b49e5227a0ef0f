"""Helpers for asserting on the program's resources (plain functions: import them)."""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Iterable
from functools import cache

from offline.engine import Resource


@cache
def accepts_tags(type_token: str) -> bool:
    """Whether the pulumi-aws resource of `type_token` takes `tags` (so AWS lets it be tagged)."""
    if not type_token.startswith("aws:"):
        return False
    module, _, class_name = type_token.split(":", 1)[1].partition(":")
    package = module.split("/")[0]
    try:
        cls = getattr(importlib.import_module(f"pulumi_aws.{package}"), class_name)
    except (ImportError, AttributeError):
        return False
    return "tags" in inspect.signature(cls._internal_init).parameters


def taggable(resources: Iterable[Resource]) -> list[Resource]:
    return [r for r in resources if r.custom and accepts_tags(r.type)]


def default_tags(provider: Resource) -> dict[str, str]:
    """A provider's default tags (provider inputs reach the engine JSON-encoded)."""
    value = provider.inputs.get("defaultTags") or {}
    value = json.loads(value) if isinstance(value, str) else value
    return dict(value.get("tags") or {})
