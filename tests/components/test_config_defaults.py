"""Every default is written once, on the typed config objects (components/config.py). The CLI needs
Pulumi.yaml to carry a copy (a declared key without a default is required there), and the config
reference restates them for people: both copies are held to the typed objects here."""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, fields
from typing import Any

import pytest
import yaml

from components.config import (
    CONFIG_DEFAULTS,
    CONFIG_OBJECTS,
    DEFAULT_CONSUMERS,
    DEFAULT_SERVICES,
    ConsumerSpec,
    ServiceSpec,
    parse_stack_config,
)
from offline.engine import PROJECT_DIR, stack_config

SCHEMA: dict[str, dict[str, Any]] = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
REFERENCE = (PROJECT_DIR / "docs" / "config.md").read_text()
REQUIRED = "(required)"


def _setting_keys() -> set[str]:
    return {item.metadata["key"] for cls in CONFIG_OBJECTS for item in fields(cls) if "key" in item.metadata}


def _table_defaults(after: str = "", column: int = 2) -> dict[str, str]:
    """The rows of the first table of docs/config.md after the text `after` (each name and its
    default `column`, as written); without `after`, the rows of every table."""
    text = REFERENCE[REFERENCE.index(after):] if after else REFERENCE
    rows: dict[str, str] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > column and re.fullmatch(r"`[A-Za-z0-9]+`", cells[0]):
            rows.setdefault(cells[0].strip("`"), cells[column])
        elif rows and not line.startswith("|") and after:
            break  # the end of the first table
    return rows


def _as_written(value: Any) -> str:
    """A default as the reference writes it: `""`, `"99.95"` (a string that looks like a number),
    `[]`, `per-az`, 90, false."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    if value == "" or re.fullmatch(r"[\d.]+", value):
        return f'`"{value}"`'
    return f"`{value}`"


def test_every_pulumi_yaml_key_is_a_setting_of_a_typed_object_and_back() -> None:
    assert set(SCHEMA) == _setting_keys()


@pytest.mark.parametrize("key", sorted(SCHEMA))
def test_pulumi_yaml_carries_the_typed_default(key: str) -> None:
    # GIVEN the key's declaration, WHEN its typed object has a default (or may be left unset)
    declared = SCHEMA[key].get("default", MISSING)
    if key in ("services", "consumers"):
        return  # lists of specs: the next test parses them
    # THEN Pulumi.yaml's default is that default in config form; without one the key is required
    assert declared == CONFIG_DEFAULTS.get(key, MISSING)


def test_the_spec_lists_pulumi_yaml_declares_are_the_typed_default_specs() -> None:
    # GIVEN prod's config with Pulumi.yaml's default lines for services and consumers
    values, _ = stack_config("prod", overrides={
        "ecommerce:services": SCHEMA["services"]["default"],
        "ecommerce:consumers": SCHEMA["consumers"]["default"]})
    # WHEN it is parsed, THEN the specs are the typed defaults
    config = parse_stack_config(values, stack="prod")
    assert config.web.services == DEFAULT_SERVICES
    assert config.events.consumers == DEFAULT_CONSUMERS
    # AND a stack without the keys gets the same (the reader falls back to the typed objects)
    del values["ecommerce:services"], values["ecommerce:consumers"]
    fallback = parse_stack_config(values, stack="prod")
    assert (fallback.web.services, fallback.events.consumers) == (DEFAULT_SERVICES, DEFAULT_CONSUMERS)


@pytest.mark.parametrize("key", sorted(set(SCHEMA) - {"services", "consumers"}))
def test_the_config_reference_states_the_typed_default(key: str) -> None:
    written = _table_defaults().get(key)
    assert written is not None, f"docs/config.md has no row for {key}"
    expected = REQUIRED if key not in CONFIG_DEFAULTS else _as_written(CONFIG_DEFAULTS[key])
    assert written.split(" (")[0] == expected, key


@pytest.mark.parametrize(("key", "spec"), [("services", ServiceSpec), ("consumers", ConsumerSpec)])
def test_the_config_reference_states_each_spec_settings_default(key: str, spec: type) -> None:
    rows = _table_defaults(f"`{key}` is a list", column=1)
    for item in fields(spec):
        setting = item.metadata.get("key")
        if setting is None or item.default == "":
            continue  # the name, and settings whose default is derived from it (path, app, handler)
        written = rows.get(setting)
        assert written is not None, f"docs/config.md has no row for the {key} setting {setting}"
        expected = REQUIRED if item.default in (MISSING, ()) else _as_written(item.default)
        assert written.strip("`") == expected.strip("`"), (key, setting)


@pytest.mark.parametrize(("key", "spec"), [("services", ServiceSpec), ("consumers", ConsumerSpec)])
def test_pulumi_yaml_describes_every_setting_of_a_spec_line(key: str, spec: type) -> None:
    description = SCHEMA[key]["description"]
    settings = [item.metadata["key"] for item in fields(spec) if "key" in item.metadata]
    assert [s for s in settings if f"{s}=" not in description] == []
