"""The day-one paths pass the guardrails too: a stack whose zone gets the records and certificates
(in a preview, with their values unknown) and a stack deploying images built elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

from offline.engine import run_program
from tests.policies.conftest import Analyze

ZONE = {"ecommerce:hostedZoneId": "Z05402722SS6PLUHJ8XWM", "ecommerce:certificateArn": "",
        "ecommerce:originCertificateArn": ""}
PREBUILT = {"ecommerce:imageSource": "prebuilt", "ecommerce:prebuiltImages": [
    "storefront tag=2026.12.01-3", "order-api tag=2026.12.01-3",
    "admin digest=sha256:" + "0" * 64]}


@pytest.mark.parametrize(("stack", "overrides", "preview"), [
    ("staging", ZONE, True), ("prod", PREBUILT, False)], ids=["zone-preview", "prebuilt-update"])
def test_the_day_one_paths_have_no_mandatory_violation(stack: str, overrides: dict[str, Any],
                                                       preview: bool, analyze: Analyze) -> None:
    snapshot = run_program(stack, overrides=overrides, preview=preview)
    report = analyze(snapshot)
    assert [str(v) for v in report.mandatory] == []
    assert [str(v) for v in report.cannot_run] == []
