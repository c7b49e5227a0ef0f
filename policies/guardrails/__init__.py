"""The ecommerce guardrails: the case study's anti-patterns and PCI scope, as CrossGuard policies.

`POLICIES` lists every policy; `policies/__main__.py` only assembles them into the pack. Modules
here import each other relatively, so the package works both when the CLI runs the pack from this
folder and when tests import it from the repository root as `policies.guardrails`.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    admin_auth,
    architecture,
    availability,
    budget,
    cardholder_data,
    cloudformation,
    eks,
    encryption,
    entry_points,
    exposure,
    iam,
    operations,
    payments,
    resilience,
    secrets,
)

PACK_NAME = "ecommerce-guardrails"

POLICIES: list[Policy] = [
    *eks.POLICIES, *availability.POLICIES, *payments.POLICIES, *cardholder_data.POLICIES,
    *encryption.POLICIES, *exposure.POLICIES, *entry_points.POLICIES, *secrets.POLICIES,
    *iam.POLICIES, *resilience.POLICIES, *cloudformation.POLICIES, *architecture.POLICIES,
    *operations.POLICIES, *budget.POLICIES, *admin_auth.POLICIES,
]
