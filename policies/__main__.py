"""The policy pack, as `pulumi preview --policy-pack policies` runs it: assembly only.

The CLI runs this file from this folder, so `guardrails` (the package beside it) is importable.
Constructing PolicyPack serves the Analyzer gRPC service and blocks, so nothing imports this file.
"""

from guardrails import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY)
