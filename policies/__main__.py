"""The policy pack, as `pulumi preview --policy-pack policies` runs it: assembly only.

The CLI runs this file from this folder, so `guardrails` (the package beside it) is importable.
Constructing PolicyPack serves the Analyzer gRPC service and blocks, so nothing imports this file.
"""

import gc

from guardrails import PACK_NAME, POLICIES
from guardrails.shared_conversion import install
from pulumi_policy import EnforcementLevel, PolicyPack

# AnalyzeStack copies the whole stack into Python objects (the SDK's own service: once per stack
# policy); on large stacks CPython's default young-generation threshold (700 allocations) makes the
# cyclic GC rescan those copies over and over (bench/results: 18% of the time at 10,000 resources).
# Collect less often; memory stays bounded.
gc.set_threshold(10_000, 10, 10)
# Each request converted once for all the policies, not once per policy (for the pulumi-policy
# versions it was verified against; otherwise the SDK runs as it is).
install()

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY)
