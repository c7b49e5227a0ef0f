"""alb-admin-require-authentication: an internet-facing path that serves an admin application must
authenticate at its listener rule. Passing and failing stacks through the real Analyzer interface,
in preview (unknown ARNs) and update mode."""

from __future__ import annotations

import pytest

from offline.engine import Snapshot
from tests.support.policy_pack import Analyze, Program, the_violation, violations_of

POLICY = "alb-admin-require-authentication"

HELPERS = '''
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnet = aws.ec2.Subnet("public-a", vpc_id=vpc.id, cidr_block="10.0.1.0/24", availability_zone="us-east-1a")
INTERNAL = {internal}
alb = aws.lb.LoadBalancer("web", internal=INTERNAL, load_balancer_type="application", subnets=[subnet.id])
https = aws.lb.Listener("web-https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
                        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/x",
                        ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                        default_actions=[{{"type": "fixed-response", "fixed_response": {{
                            "content_type": "text/plain", "status_code": "403"}}}}])
shop = aws.lb.TargetGroup("web-storefront", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc.id)
back_office = aws.lb.TargetGroup("{group}", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc.id)
aws.lb.ListenerRule("web-storefront", listener_arn=https.arn, priority=500,
                    actions=[{{"type": "forward", "target_group_arn": shop.arn}}],
                    conditions=[{{"path_pattern": {{"values": ["/*"]}}}}])
OIDC = {{"type": "authenticate-oidc", "order": 1, "authenticate_oidc": {{
    "issuer": "https://idp.example.com", "authorization_endpoint": "https://idp.example.com/authorize",
    "token_endpoint": "https://idp.example.com/token", "user_info_endpoint": "https://idp.example.com/userinfo",
    "client_id": "admin", "client_secret": pulumi.Output.secret("s3cr3t"),
    "on_unauthenticated_request": "{mode}"}}}}
FORWARD = {{"type": "forward", "order": 2, "target_group_arn": back_office.arn}}
aws.lb.ListenerRule("web-admin", listener_arn=https.arn, priority=100, actions={actions},
                    conditions=[{{"path_pattern": {{"values": ["{path}"]}}}}])
'''


def stack(*, actions: str = "[OIDC, FORWARD]", path: str = "/admin/*", group: str = "web-admin",
          internal: bool = False, mode: str = "authenticate") -> str:
    return HELPERS.format(actions=actions, path=path, group=group, internal=internal, mode=mode)


def test_an_admin_rule_that_authenticates_first_passes(program: Program, analyze: Analyze,
                                                        preview: bool) -> None:
    report = analyze(program(stack(), preview=preview))
    assert violations_of(report, POLICY) == [] and not report.cannot_run


FAILING = {
    "forward only": stack(actions="[FORWARD]"),
    "authentication after the forward": stack(
        actions='[{**FORWARD, "order": 1}, {**OIDC, "order": 2}]'),
    "unauthenticated requests allowed": stack(mode="allow"),
    "found by its target group, not its path": stack(actions="[FORWARD]", path="/bo/*",
                                                     group="backoffice-tasks"),
    "another admin path": stack(actions="[FORWARD]", path="/wp-admin/*", group="web-blog"),
}


@pytest.mark.parametrize("case", list(FAILING))
def test_an_internet_facing_admin_rule_without_authentication_is_a_mandatory_violation(
        program: Program, analyze: Analyze, preview: bool, case: str) -> None:
    violation = the_violation(analyze(program(FAILING[case], preview=preview)), POLICY, "web-admin")
    assert violation.level == "mandatory"
    assert "web-admin" in violation.message and "Fix:" in violation.message


def test_an_internal_admin_or_a_named_exception_passes(program: Program, analyze: Analyze) -> None:
    internal = program(stack(actions="[FORWARD]", internal=True), preview=False)
    assert violations_of(analyze(internal), POLICY) == []
    exposed = program(stack(actions="[FORWARD]"), preview=False)
    assert violations_of(analyze(exposed, {POLICY: {"allowedResources": ["web-admin"]}}), POLICY) == []


def test_the_shop_routes_its_own_admin_through_oidc(prod: Snapshot, analyze: Analyze) -> None:
    assert violations_of(analyze(prod), POLICY) == []
