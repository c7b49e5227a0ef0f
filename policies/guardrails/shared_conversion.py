"""Convert each Analyzer request once for all the policies, instead of once per policy.

pulumi-policy's Analyzer service converts what a request carries for every policy anew: Analyze
turns the resource's properties into Python three times over (`MessageToDict`,
`deserialize_properties`, `unknown_checking_proxy`) and its provider's too, once per resource
policy; AnalyzeStack does all of that for every resource of the stack, once per stack policy. With
one policy per concern (this pack has dozens), that conversion is most of the pack's time
(bench/results/latest.md, benchmark 2), and no public interface of the SDK changes it: a policy
only ever sees the converted request.

So `install()` replaces the service's `Analyze` and `AnalyzeStack` (methods of the SDK's private
`_PolicyAnalyzerServicer`) with the same loops, the conversion taken out of them: the first policy
that runs converts the request, with the SDK's own functions, and every policy gets those same
views of it. Everything else is as the SDK does it, policy by policy and in its order: the
enforcement level (the configured one, remediate reported as mandatory, disabled skipped), its own
config copy, its own `report_violation`, awaiting an async `validate`, "can't run policy ... during
preview" as an advisory diagnostic when a policy reads an unknown value (`UnknownValueError`), and
not-applicable answers.

What sharing changes: a policy that wrote into the `args` it is given would be seen by the policies
after it. No policy here does (`common.Res` and `common.StackGraph` copy what they read).

Only for the pulumi-policy versions in VERIFIED, whose service these loops were copied from and
tested against (tests/policies/test_shared_conversion.py runs both over the same requests and
compares the answers); with any other version `install()` leaves the SDK as it is.
"""

from __future__ import annotations

import asyncio
from inspect import isawaitable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import policy as _sdk
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

# The protobuf modules the SDK's service uses, taken from the SDK's module, which imports them without
# re-exporting them (the pack depends on pulumi-policy alone, not on pulumi or protobuf directly).
_proto: Any = vars(_sdk).get("proto")
_json_format: Any = vars(_sdk).get("json_format")

VERIFIED = frozenset({"1.21.0"})
"""pulumi-policy versions whose `_PolicyAnalyzerServicer` the replacements below reproduce."""

_SERVICE = "_PolicyAnalyzerServicer"
_USED = ("_configure_runtime_settings", "_get_enforcement_level", "_create_report_violation",
         "_get_resource_options", "_get_provider_resource", "_get_policy_config", "_map_enforcement_level",
         "IntermediateStackResource", "Analyze", "AnalyzeStack")


def applies() -> bool:
    """Is the installed pulumi-policy one whose Analyzer service the replacements reproduce?"""
    service = getattr(_sdk, _SERVICE, None)
    return (getattr(_sdk, "VERSION", None) in VERIFIED and service is not None
            and all(hasattr(service, name) for name in _USED)
            and all(hasattr(_sdk, name) for name in ("proto", "json_format", "deserialize_properties",
                                                     "unknown_checking_proxy", "UnknownValueError",
                                                     "_NotApplicableError")))


def install() -> bool:
    """Put the once-per-request conversion in place, if `applies()`; whether it did."""
    if not applies():
        return False
    service = getattr(_sdk, _SERVICE)
    service.Analyze = analyze
    service.AnalyzeStack = analyze_stack
    return True


# The service's own state, under the names Python gives its double-underscore attributes.
def _policies(service: Any) -> list[Policy]:
    policies: list[Policy] = service._PolicyAnalyzerServicer__policies
    return policies


def _stack_tags(service: Any) -> Any:
    return service._PolicyAnalyzerServicer__stack_tags


def _disabled(service: Any, policy: Policy) -> bool:
    return bool(service._get_enforcement_level(policy) == EnforcementLevel.DISABLED)


def _reporter(service: Any, response: Any, policy: Policy) -> Any:
    """The policy's own `report_violation` into `response`, at its configured level (a remediating
    policy's violations are reported as mandatory, as the SDK does)."""
    level = service._get_enforcement_level(policy)
    if level == EnforcementLevel.REMEDIATE:
        level = EnforcementLevel.MANDATORY
    return service._create_report_violation(response, policy.name, policy.description, level, policy.severity)


def analyze(service: Any, request: Any, _context: Any) -> Any:
    """`_PolicyAnalyzerServicer.Analyze` with the resource converted once for every policy."""
    service._configure_runtime_settings()
    response = _proto.AnalyzeResponse()
    converted: tuple[Any, Any, Any] | None = None
    for policy in _policies(service):
        if _disabled(service, policy) or not isinstance(policy, ResourceValidationPolicy):
            continue
        if not policy.has_validation():
            response.not_applicable.append(_proto.PolicyNotApplicable(
                policy_name=policy.name, reason="Policy does not implement validate"))
            continue
        report_violation = _reporter(service, response, policy)
        if converted is None:
            deserialized = deserialize_properties(_json_format.MessageToDict(request.properties))
            converted = (unknown_checking_proxy(deserialized), service._get_resource_options(request),
                         service._get_provider_resource(request))
        props, opts, provider = converted
        args = ResourceValidationArgs(request.type, props, request.urn, request.name, opts, provider,
                                      service._get_policy_config(policy.name), _stack_tags(service))
        _validate(service, response, policy, args, report_violation)
    return response


def analyze_stack(service: Any, request: Any, _context: Any) -> Any:
    """`_PolicyAnalyzerServicer.AnalyzeStack` with the stack converted once for every policy."""
    service._configure_runtime_settings()
    response = _proto.AnalyzeResponse()
    resources: list[PolicyResource] | None = None
    for policy in _policies(service):
        if _disabled(service, policy) or not isinstance(policy, StackValidationPolicy):
            continue
        report_violation = _reporter(service, response, policy)
        if resources is None:
            resources = _stack_resources(service, request)
        args = StackValidationArgs(list(resources), service._get_policy_config(policy.name),
                                   _stack_tags(service))
        _validate(service, response, policy, args, report_violation)
    return response


def _stack_resources(service: Any, request: Any) -> list[PolicyResource]:
    """The request's resources as the SDK builds them: parents and dependencies linked by URN."""
    intermediates = []
    for r in request.resources:
        deserialized = deserialize_properties(_json_format.MessageToDict(r.properties))
        props = unknown_checking_proxy(deserialized)
        resource = PolicyResource(r.type, props, r.urn, r.name, service._get_resource_options(r),
                                  service._get_provider_resource(r), None, [], {})
        property_dependencies = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
        intermediates.append(service.IntermediateStackResource(resource, r.parent, list(r.dependencies),
                                                               property_dependencies))
    by_urn = {i.resource.urn: i.resource for i in intermediates}
    for i in intermediates:
        if i.parent is not None and i.parent in by_urn:
            i.resource.parent = by_urn[i.parent]
        i.resource.dependencies.extend(by_urn[d] for d in i.dependencies if d in by_urn)
        for key, urns in i.property_dependencies.items():
            i.resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
    return [i.resource for i in intermediates]


def _validate(service: Any, response: Any, policy: Any, args: Any, report_violation: Any) -> None:
    """Run one policy as the SDK does: await it if async; unknown values and not-applicable answered."""
    try:
        result = policy.validate(args, report_violation)
        if isawaitable(result):
            loop = asyncio.new_event_loop()
            task: asyncio.Task[Any] = asyncio.Task(result, loop=loop)  # type: ignore[arg-type]
            loop.run_until_complete(task)
            loop.close()
    except UnknownValueError as error:
        pack, version = service._PolicyAnalyzerServicer__policy_pack_name, \
            service._PolicyAnalyzerServicer__policy_pack_version
        response.diagnostics.append(_proto.AnalyzeDiagnostic(
            policyName=policy.name, policyPackName=pack, policyPackVersion=version,
            message=(f"can't run policy '{policy.name}' from policy pack '{pack}@v{version}' during "
                     f"preview: {error.message}"),
            urn="", description=policy.description,
            enforcementLevel=service._map_enforcement_level(EnforcementLevel.ADVISORY)))
    except _sdk._NotApplicableError as error:
        response.not_applicable.append(_proto.PolicyNotApplicable(policy_name=policy.name,
                                                                      reason=error.reason or ""))
