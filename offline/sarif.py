"""The offline preview's policy violations as SARIF 2.1.0, located at the program line that
registered each resource, for GitHub code scanning (`make preview ARGS="--sarif FILE"`).

One run, the policy pack as the tool, one rule per policy of the pack, one result per violation.
A result's location is the first frame in the program's own files that registered the resource
(`offline.engine.source_location`), relative to the project folder, so that code scanning shows it
on the line of the pull request's diff. A stack-wide violation (a stack policy that names no
resource) is placed at the program's entry point, line 1: there is no better line for it.
Mandatory violations are errors, advisory ones warnings.
"""

from __future__ import annotations

import json
from typing import Any

from offline.engine import SourceLocation
from offline.render import (
    PolicyInfo,
    PreviewResult,
    Violation,
    display_type,
    resource_label,
    source_of,
)

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"  # the base GitHub resolves relative artifact URIs against (the checkout)
ENTRY_POINT = SourceLocation("__main__.py", 1)
_LEVELS = {"mandatory": "error", "advisory": "warning", "remediate": "note"}
# GitHub ranks security results by this number (its documented bands: critical >= 9.0,
# high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9)
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def to_sarif(result: PreviewResult, *, category: str | None = None) -> dict[str, Any]:
    """The SARIF log of `result`'s policy violations (an empty run when the pack did not run)."""
    outcome = result.policies
    policies: tuple[PolicyInfo, ...] = outcome.policies if outcome is not None else ()
    rules = [_rule(policy) for policy in policies]
    index = {policy.name: position for position, policy in enumerate(policies)}
    results = [_result(result, violation, index)
               for violation in (outcome.violations if outcome is not None else ())
               if violation.level in _LEVELS]
    driver: dict[str, Any] = {
        "name": outcome.pack if outcome is not None else "policy pack",
        "rules": rules,
        "informationUri": "https://www.pulumi.com/docs/iac/packages-and-automation/crossguard/",
    }
    if outcome is not None:
        driver["version"] = outcome.version
        driver["semanticVersion"] = outcome.version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"{category or 'offline-preview/' + result.stack}/"},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(result: PreviewResult, *, category: str | None = None) -> str:
    return json.dumps(to_sarif(result, category=category), indent=2)


def _rule(policy: PolicyInfo) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": policy.name,
        "name": policy.name,
        "shortDescription": {"text": policy.description or policy.name},
        "fullDescription": {"text": policy.description or policy.name},
        "defaultConfiguration": {"level": _LEVELS.get(policy.level, "none"),
                                 "enabled": policy.level != "disabled"},
        "properties": {"tags": ["policy-as-code", "security"]},
    }
    if policy.remediation:
        rule["help"] = {"text": policy.remediation}
    if policy.severity in _SECURITY_SEVERITY:
        rule["properties"]["security-severity"] = _SECURITY_SEVERITY[policy.severity]
    return rule


def _result(preview: PreviewResult, violation: Violation, index: dict[str, int]) -> dict[str, Any]:
    source = source_of(preview.snapshot, violation.urn) or ENTRY_POINT
    type_, name = resource_label(preview.snapshot, violation.urn)
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": source.path, "uriBaseId": SOURCE_ROOT},
            "region": {"startLine": source.line},
        },
    }
    if violation.urn is not None:
        location["logicalLocations"] = [{"name": name, "fullyQualifiedName": violation.urn,
                                         "kind": "resource"}]
    found: dict[str, Any] = {
        "ruleId": violation.policy,
        "level": _LEVELS[violation.level],
        "message": {"text": f"{name} ({display_type(type_)}): {violation.detail}"
                    if violation.urn is not None else violation.detail},
        "locations": [location],
        # code scanning matches a result across commits by this, not by the line
        "partialFingerprints": {"resourcePolicy/v1": f"{violation.policy}|{violation.urn or 'stack'}"},
    }
    if violation.policy in index:
        found["ruleIndex"] = index[violation.policy]
    return found
