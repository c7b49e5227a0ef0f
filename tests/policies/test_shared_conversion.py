"""The pack's Analyzer service converts each request once (policies/guardrails/shared_conversion.py) and
answers exactly as pulumi-policy's own service does, for every policy, level, config and unknown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import policy as sdk
from pulumi_policy.version import VERSION as SDK_VERSION

from bench.synthetic import synthetic_stack
from offline.analyzer import prepare
from policies.guardrails import PACK_NAME, POLICIES
from policies.guardrails import shared_conversion as shared

# The SDK's own methods, unannotated there: (service, request, context) -> AnalyzeResponse.
SDK_ANALYZE: Callable[[Any, Any, Any], Any] = sdk._PolicyAnalyzerServicer.Analyze
SDK_ANALYZE_STACK: Callable[[Any, Any, Any], Any] = sdk._PolicyAnalyzerServicer.AnalyzeStack
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown string


def _reads_every_property(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Reads the SDK's proxies directly: an unknown value makes the SDK answer "can't run policy"."""
    seen = [args.props[key] for key in args.props]
    if args.provider is not None:
        seen += [args.provider.props[key] for key in args.provider.props]
    report_violation(f"{args.name}: {len(seen)} properties", None)


async def _reports_later(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type.startswith("aws:s3"):
        report_violation("an S3 resource", args.urn)


def _reads_every_stack_property(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        _ = [resource.props[key] for key in resource.props]
        _ = [d.urn for d in resource.dependencies], resource.parent and resource.parent.urn
    report_violation(f"{len(args.resources)} resources", None)


PROBES = [
    ResourceValidationPolicy(name="probe-reads-proxies", description="Reads every property.",
                             validate=_reads_every_property),
    ResourceValidationPolicy(name="probe-async", description="Awaits.", validate=_reports_later,
                             enforcement_level=EnforcementLevel.MANDATORY),
    ResourceValidationPolicy(name="probe-remediation-only", description="No validate.",
                             remediate=lambda args: None),
    StackValidationPolicy(name="probe-reads-stack", description="Reads every resource.",
                          validate=_reads_every_stack_property),
]


DISABLED, REMEDIATED = "event-source-mapping-require-failure-handling", "iam-policy-disallow-wildcards"
DOWNGRADED, CONFIGURED = "sqs-queue-require-dlq", "datastore-require-backups"


def _service() -> Any:
    """The SDK's Analyzer service over the pack's policies and the probes, configured as a user's
    policy config does: levels overridden (disabled, remediate, advisory, mandatory), config given."""
    service = sdk._PolicyAnalyzerServicer(PACK_NAME, "0.0.1", [*POLICIES, *PROBES], EnforcementLevel.ADVISORY)
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    levels = {DISABLED: analyzer_pb2.DISABLED, REMEDIATED: analyzer_pb2.REMEDIATE,
              "probe-async": analyzer_pb2.REMEDIATE, "probe-reads-stack": analyzer_pb2.REMEDIATE,
              DOWNGRADED: analyzer_pb2.ADVISORY, CONFIGURED: analyzer_pb2.MANDATORY,
              "probe-reads-proxies": analyzer_pb2.MANDATORY}
    for name, level in levels.items():
        request.policyConfig[name].enforcementLevel = level
    request.policyConfig[CONFIGURED].properties.update({"minBackupRetentionDays": 400})
    service.Configure(request, None)
    service.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(tags={"team": "shop"}), None)
    return service


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _requests() -> tuple[list[Any], Any]:
    """Analyze requests (a synthetic stack with its planted mistakes, plus resources and a provider
    holding unknowns and secrets), and the AnalyzeStack request over all of them."""
    items = prepare(synthetic_stack(200))
    provider = analyzer_pb2.AnalyzerProviderResource(
        type="pulumi:providers:aws", urn="urn:pulumi:prod::ecommerce::pulumi:providers:aws::computed",
        name="computed", properties=_struct({"region": UNKNOWN}))
    urn = "urn:pulumi:prod::ecommerce::{}::{}".format
    odd = [analyzer_pb2.AnalyzeRequest(
        type="aws:s3/bucketV2:BucketV2", name="computed", urn=urn("aws:s3/bucketV2:BucketV2", "computed"),
        properties=_struct({"bucket": UNKNOWN, "tags": {"owner": UNKNOWN}}), provider=provider),
        analyzer_pb2.AnalyzeRequest(
        type="aws:sqs/queue:Queue", name="secret", urn=urn("aws:sqs/queue:Queue", "secret"),
        properties=_struct({"name": {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                     "value": "orders"}, "kmsMasterKeyId": UNKNOWN}))]
    analyze = [analyzer_pb2.AnalyzeRequest(type=i.type, properties=i.inputs, urn=i.urn, name=i.name,
                                           options=i.options, provider=i.provider) for i in items] + odd
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(
            type=i.type, properties=i.outputs, urn=i.urn, name=i.name, options=i.options,
            provider=i.provider, parent=i.parent, dependencies=i.dependencies, propertyDependencies={
                k: analyzer_pb2.AnalyzerPropertyDependencies(urns=u)
                for k, u in i.property_dependencies.items() if u})
        for i in items] + [analyzer_pb2.AnalyzerResource(type=r.type, properties=r.properties, urn=r.urn,
                                                         name=r.name, provider=r.provider) for r in odd])
    return analyze, stack


def test_every_answer_is_the_sdks_own() -> None:
    # GIVEN the pack's policies (and probes that read unknowns, await, or only remediate) in the SDK's
    # service, with levels and config overridden as a user's policy config does
    service = _service()
    analyze, stack = _requests()

    # WHEN each request is answered by the SDK's methods and by the once-per-request conversion
    for request in analyze:
        expected = SDK_ANALYZE(service, request, None)
        # THEN the answers are the same, diagnostics ("can't run policy" included) and their order
        assert shared.analyze(service, request, None) == expected, request.urn
    expected = SDK_ANALYZE_STACK(service, stack, None)
    assert shared.analyze_stack(service, stack, None) == expected

    # AND the requests exercised what matters: each level override, config, unknowns, async
    reported = {(d.policyName, d.enforcementLevel) for r in analyze
                for d in shared.analyze(service, r, None).diagnostics}
    reported |= {(d.policyName, d.enforcementLevel) for d in expected.diagnostics}
    assert {(REMEDIATED, analyzer_pb2.MANDATORY), ("probe-async", analyzer_pb2.MANDATORY),
            (DOWNGRADED, analyzer_pb2.ADVISORY), (CONFIGURED, analyzer_pb2.MANDATORY)} <= reported
    assert not any(name == DISABLED for name, _ in reported)
    messages = [d.message for r in analyze for d in shared.analyze(service, r, None).diagnostics]
    assert any(m.startswith("can't run policy 'probe-reads-proxies'") for m in messages)
    assert any(d.message.startswith("can't run policy 'probe-reads-stack'") for d in expected.diagnostics)


def test_it_is_put_in_place_only_for_the_verified_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the service's methods as the SDK defines them (restored after the test)
    monkeypatch.setattr(sdk._PolicyAnalyzerServicer, "Analyze", SDK_ANALYZE)
    monkeypatch.setattr(sdk._PolicyAnalyzerServicer, "AnalyzeStack", SDK_ANALYZE_STACK)

    # WHEN pulumi-policy is another version THEN the SDK's own methods stay
    monkeypatch.setattr(sdk, "VERSION", "99.0.0")
    assert shared.install() is False
    assert sdk._PolicyAnalyzerServicer.Analyze is SDK_ANALYZE

    # WHEN it is the pinned version (policies/requirements.txt) THEN the service converts once
    monkeypatch.setattr(sdk, "VERSION", next(iter(shared.VERIFIED)))
    assert shared.install() is True
    assert sdk._PolicyAnalyzerServicer.Analyze is shared.analyze
    assert sdk._PolicyAnalyzerServicer.AnalyzeStack is shared.analyze_stack


def test_the_pinned_pulumi_policy_is_a_verified_one() -> None:
    from pathlib import Path

    pins = (Path(__file__).resolve().parents[2] / "policies" / "requirements.txt").read_text()
    pinned = next(line.split("==")[1].strip() for line in pins.splitlines()
                  if line.startswith("pulumi-policy=="))
    assert pinned in shared.VERIFIED and pinned == SDK_VERSION
