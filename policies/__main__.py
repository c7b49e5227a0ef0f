"""The policy pack, as `pulumi preview --policy-pack policies` runs it: assembly only.

The CLI runs this file from this folder, so `guardrails` (the package beside it) is importable.
Constructing PolicyPack serves the Analyzer gRPC service and blocks, so nothing imports this file.
"""

import gc

from guardrails import PACK_NAME, POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

# The SDK deserializes the whole stack once per stack policy; on large stacks CPython's default
# young-generation threshold (700 allocations) makes the cyclic GC rescan those copies over and over
# (bench/results: 18% of the time at 10,000 resources). Collect less often; memory stays bounded.
gc.set_threshold(10_000, 10, 10)

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.ADVISORY)
