"""An admin application reachable from the internet must be authenticated at the load balancer.

A listener rule (or a listener's default action) of an internet-facing ALB that serves an admin
application (its path or host names an admin area, or it forwards to a target group whose name or
tags say admin) must authenticate first: an `authenticate-oidc`, `authenticate-cognito` or
`jwt-validation` action ordered before the forward, that does not let unauthenticated requests
through (`on_unauthenticated_request = allow`).

Why mandatory: the back office changes prices, stock and what the shop sells. Without
authentication at the listener, the application's own login is the only barrier between the
internet and those routes, and one missing check, one debug route or one framework default opens
them to anyone. Adding the action (or moving the admin to an internal ALB) is a small, standard
change, so the pack blocks the deployment rather than warning. An approved exception (an admin
that must authenticate some other way) is named in `allowedResources`.

PCI DSS v4.0 Req 7.2 (access by need to know) and 8.2 (users identified before access).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import Severity

from .common import (
    MANDATORY,
    Report,
    Res,
    StackGraph,
    as_list,
    has_keyword,
    is_true,
    is_unknown,
    message,
    pci,
    preview_unknown,
    stack_policy,
    string_list,
)

LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
AUTHENTICATING = {"authenticate-oidc": "authenticateOidc", "authenticate-cognito": "authenticateCognito",
                  "jwt-validation": None}
TERMINAL = {"forward", "redirect", "fixed-response"}
DEFAULT_PATH_PREFIXES = ("/admin", "/backoffice", "/back-office", "/staff", "/internal", "/manage",
                         "/wp-admin")
DEFAULT_KEYWORDS = ("admin", "backoffice")
FIX = ("put an authenticate-oidc (or authenticate-cognito) action with order 1 before the forward, "
       "with on_unauthenticated_request authenticate or deny (components/web.py OidcAuthentication), "
       "or serve the admin from an internal load balancer; an approved exception is listed by name "
       "in this policy's allowedResources config")


def _admin_path(value: str, prefixes: list[str]) -> bool:
    path = value.lower()
    return any(path == prefix or path.startswith((f"{prefix}/", f"{prefix}*", f"{prefix}-", f"{prefix}."))
               for prefix in prefixes)


def _why_admin(rule: Res, graph: StackGraph, config: Mapping[str, Any], actions_key: str) -> str | None:
    """What makes `rule` serve an admin application (for the message), or None."""
    prefixes = [str(p).lower().rstrip("/*") for p in config["adminPathPrefixes"]]
    keywords = [str(k) for k in config["adminKeywords"]]
    for condition in as_list(rule.props.get("conditions")):
        if not isinstance(condition, Mapping):
            continue
        pattern = condition.get("pathPattern")
        pattern = pattern[0] if isinstance(pattern, list) and pattern else pattern
        for value in as_list(pattern.get("values") if isinstance(pattern, Mapping) else None):
            if isinstance(value, str) and _admin_path(value, prefixes):
                return f"path {value}"
        host = condition.get("hostHeader")
        host = host[0] if isinstance(host, list) and host else host
        for value in as_list(host.get("values") if isinstance(host, Mapping) else None):
            if isinstance(value, str) and has_keyword(value.split(".")[0], keywords):
                return f"host {value}"
    for group in graph.targets(rule, actions_key):
        if group.type in TARGET_GROUPS and any(
                has_keyword(name, keywords) for name in group.names(("workload", "Name", "service"))):
            return f"target group {group.name}"
    return None


def _internet_facing(listener_holder: Res, graph: StackGraph) -> bool:
    """Whether the rule's (or listener's) load balancer is internet-facing; unknown counts as yes."""
    listeners = [listener_holder] if listener_holder.type in LISTENERS else \
        [r for r in graph.targets(listener_holder, "listenerArn") if r.type in LISTENERS]
    balancers = [b for listener in listeners for b in graph.targets(listener, "loadBalancerArn")
                 if b.type in LOAD_BALANCERS]
    if not balancers:
        return True  # not in this stack: assume the worst
    return any(not is_true(b.props.get("internal")) for b in balancers)


def _authenticated(actions: list[Any]) -> bool:
    """An authenticating action that runs before the terminal action and lets nobody through."""
    def order(action: Mapping[str, Any]) -> float:
        value = action.get("order")
        return float(value) if isinstance(value, int | float) else 50_000.0  # unset: last

    ordered = sorted((a for a in actions if isinstance(a, Mapping)), key=order)
    for action in ordered:
        kind = action.get("type")
        if kind in TERMINAL:
            return False
        if kind in AUTHENTICATING:
            key = AUTHENTICATING[kind]
            settings = action.get(key) if key else None
            settings = settings[0] if isinstance(settings, list) and settings else settings
            mode = settings.get("onUnauthenticatedRequest") if isinstance(settings, Mapping) else None
            if mode != "allow":
                return True
    return False


def _check(graph: StackGraph, config: Mapping[str, Any], report: Report) -> None:
    """Listener rules and listeners (aws:lb/listenerRule:ListenerRule, aws:alb/listenerRule:ListenerRule,
    aws:lb/listener:Listener, aws:alb/listener:Listener) of load balancers
    (aws:lb/loadBalancer:LoadBalancer, aws:alb/loadBalancer:LoadBalancer) that are internet-facing,
    when they serve an admin path or host, or forward to an admin target group
    (aws:lb/targetGroup:TargetGroup, aws:alb/targetGroup:TargetGroup).

    Well-built programs: an admin behind an internet-facing ALB authenticates at its listener rule
    (an authenticate-oidc or authenticate-cognito action before the forward), or sits on an internal
    load balancer; a storefront or API path names no admin area and is never checked.
    """
    allowed = set(config["allowedResources"])
    candidates = [(r, "actions") for r in graph.of_type(*LISTENER_RULES)] + \
        [(r, "defaultActions") for r in graph.of_type(*LISTENERS)]
    for resource, key in candidates:
        if resource.name in allowed or resource.urn in allowed:
            continue
        why = _why_admin(resource, graph, config, key)
        if why is None or not _internet_facing(resource, graph):
            continue
        actions = resource.props.get(key)
        if is_unknown(actions) or (isinstance(actions, list) and any(
                is_unknown(a) or (isinstance(a, Mapping) and is_unknown(a.get("type"))) for a in actions)):
            report(preview_unknown(resource, "its actions", FIX), resource.urn)
        elif not _authenticated(as_list(actions)):
            report(message(resource, f"serves an admin application ({why}) on an internet-facing load "
                                     "balancer without an authentication action before it forwards, so "
                                     "the application's own login is all that stands between the "
                                     "internet and the back office", FIX), resource.urn)


alb_admin_require_authentication = stack_policy(
    name="alb-admin-require-authentication",
    description="An internet-facing load balancer path that serves an admin application must "
                "authenticate users at the listener rule (authenticate-oidc, authenticate-cognito or "
                "jwt-validation before the forward).",
    level=MANDATORY, severity=Severity.HIGH, check=_check,
    remediation="Add an authenticate-oidc action (order 1) before the forward on the admin's listener "
                "rule, or serve the admin from an internal load balancer.",
    config={
        "allowedResources": string_list("Logical names (or URNs) of listener rules or listeners "
                                        "approved to serve an admin without ALB authentication.", []),
        "adminPathPrefixes": string_list("Path prefixes that mark an admin application.",
                                         DEFAULT_PATH_PREFIXES),
        "adminKeywords": string_list("Words in a host name or a target group's name or tags that mark "
                                     "an admin application.", DEFAULT_KEYWORDS)},
    framework=pci("7.2, 8.2"), tags=["pci-dss", "exposure", "authentication"],
    antipattern="a back office reachable from the internet behind only its own login",
    covers=(*LISTENER_RULES, *LISTENERS, *LOAD_BALANCERS, *TARGET_GROUPS))

POLICIES = [alb_admin_require_authentication]
