"""The steps a person still has to take for a stack: what Pulumi cannot do (an account's SES
production access, confirming the alarm e-mail, the payment provider's key), and what this
stack's config leaves out (DNS records and certificates without `hostedZoneId`, images built
elsewhere).

`manual_steps(cfg)` lists them for one stack with its own commands; `make preview` ends with the
list, and docs/day-one.md explains each one under the section of the same heading.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from components.config import ImageSource, StackConfig

DOC = "docs/day-one.md"


class Phase(StrEnum):
    BEFORE_UP = "before `pulumi up`"
    AFTER_UP = "after the first `pulumi up`"


@dataclass(frozen=True)
class ManualStep:
    phase: Phase
    heading: str
    """The section of docs/day-one.md that explains the step."""
    action: str
    """What to run or do, for this stack."""

    def line(self) -> str:
        return f"{self.heading}: {self.action}"


def manual_steps(cfg: StackConfig) -> tuple[ManualStep, ...]:
    """This stack's manual steps, in the order to take them."""
    region, edge = cfg.region, cfg.edge
    zone = edge.hosted_zone_id
    secondary = cfg.multi_region.secondary_region if cfg.multi_region.enabled else None
    steps = [ManualStep(Phase.BEFORE_UP, "Build the Lambda dependencies layer",
                        ".venv/bin/python scripts/build_lambda_layers.py")]
    if cfg.web.image_source is ImageSource.BUILD:
        steps.append(ManualStep(Phase.BEFORE_UP, "Have Docker with Buildx where `pulumi up` runs",
                                "docker buildx version"))
    else:
        steps.append(ManualStep(
            Phase.BEFORE_UP, "Push the images built elsewhere",
            f"push {', '.join(i.service for i in cfg.web.prebuilt_images)} to their repositories "
            "(`pulumi stack output ecrRepositoryUrls`) with the tags or digests of prebuiltImages"))
    steps.append(ManualStep(
        Phase.BEFORE_UP, "Put the payment provider's key in its secret",
        f"aws secretsmanager put-secret-value --region {cfg.payment_secret_arn.split(':')[3]} "
        f"--secret-id {cfg.payment_secret_arn} --secret-string "
        f"'{{\"api_key\": \"{'sk_live' if cfg.is_prod else 'sk_test'}_...\"}}'"))
    steps.append(ManualStep(
        Phase.BEFORE_UP, "Put the restricted lookup key in its secret",
        f"aws secretsmanager put-secret-value --region {cfg.payment_lookup_secret_arn.split(':')[3]} "
        f"--secret-id {cfg.payment_lookup_secret_arn} --secret-string "
        f"'{{\"api_key\": \"{'rk_live' if cfg.is_prod else 'rk_test'}_...\"}}' (a restricted key "
        "that may read PaymentIntents and nothing else)"))
    if cfg.admin_auth is not None:
        steps.append(ManualStep(
            Phase.BEFORE_UP, "Register the back office with the OpenID Connect provider",
            f"redirect URI https://{edge.domain_name}/oauth2/idpresponse at {cfg.admin_auth.issuer}; "
            f"aws secretsmanager put-secret-value --region {cfg.admin_auth.client_secret_arn.split(':')[3]} "
            f"--secret-id {cfg.admin_auth.client_secret_arn} --secret-string '<the client secret>' "
            "(the program reads it: `pulumi preview` fails until it exists)"))
    if secondary:
        steps.append(ManualStep(
            Phase.BEFORE_UP, "Replicate the payment provider's secret to the second Region",
            " ; ".join(f"aws secretsmanager replicate-secret-to-regions --secret-id {arn} "
                       f"--add-replica-regions Region={secondary}"
                       for arn in (cfg.payment_secret_arn, cfg.payment_lookup_secret_arn))))
    given = [arn for arn in (edge.certificate_arn, edge.origin_certificate_arn,
                             cfg.multi_region.secondary_origin_certificate_arn) if arn]
    if given:
        steps.append(ManualStep(
            Phase.BEFORE_UP, "Issue the certificates the config names",
            " ; ".join(f"aws acm describe-certificate --region {arn.split(':')[3]} "
                       f"--certificate-arn {arn} --query Certificate.Status (ISSUED)"
                       for arn in given)))
    if zone:
        steps.append(ManualStep(
            Phase.BEFORE_UP, "Delegate the domain to the hosted zone",
            f"aws route53 get-hosted-zone --id {zone} --query DelegationSet.NameServers: the "
            f"registrar of {_registered(cfg)} lists these name servers"))
    steps.append(ManualStep(
        Phase.AFTER_UP, "Confirm the alarm e-mail",
        f"open the \"AWS Notification - Subscription Confirmation\" mail sent to "
        f"{cfg.observability.alarm_email} and confirm "
        f"(one per alarm topic: `pulumi stack output alarmTopicArn`)"))
    if not zone:
        steps.append(ManualStep(
            Phase.AFTER_UP, "Publish the DNS records",
            f"{edge.origin_domain_name} CNAME `pulumi stack output albDnsName`"
            + (f"; {edge.domain_name} alias to `pulumi stack output cdnDomainName`"
               if edge.domain_name else "")
            + "; the SES records of `pulumi stack output emailDnsRecords`"))
    if cfg.admin_auth is not None:
        steps.append(ManualStep(
            Phase.AFTER_UP, "Create a staff login",
            f"at {cfg.admin_auth.issuer}, add the person to the {cfg.admin_auth.editor_group} (or "
            f"{cfg.admin_auth.viewer_group}) group; they open https://{edge.domain_name}/admin/api/me"))
    steps.append(ManualStep(
        Phase.AFTER_UP, "Request SES production access",
        " ; ".join(f"aws sesv2 put-account-details --region {r} --production-access-enabled "
                   f"--mail-type TRANSACTIONAL --website-url https://"
                   f"{edge.domain_name or cfg.events.email_domain} --use-case-description "
                   "\"order confirmations and cart reminders to our customers\""
                   for r in (region, *([secondary] if secondary else [])))))
    return tuple(steps)


def _registered(cfg: StackConfig) -> str:
    """The names the zone must answer for."""
    names = {cfg.edge.origin_domain_name, cfg.events.email_domain,
             *([cfg.edge.domain_name] if cfg.edge.domain_name else [])}
    return ", ".join(sorted(names))


def render(stack: str, steps: tuple[ManualStep, ...]) -> list[str]:
    """The text `make preview` ends with."""
    lines = [f"Manual steps still open for {stack} ({DOC}):"]
    number = 0
    for phase in Phase:
        in_phase = [s for s in steps if s.phase is phase]
        if not in_phase:
            continue
        lines.append(f"    {phase.value}:")
        for step in in_phase:
            number += 1
            lines.append(f"    {number:>2}. {step.line()}")
    return lines
