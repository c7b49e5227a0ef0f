"""Day-one DNS as code, when the stack has a Route 53 zone (`hostedZoneId`): certificates that
validate themselves and the alias records that send the shop's names to CloudFront and the ALB.

- `ValidatedCertificate`: an ACM certificate for one host name, its DNS validation record in the
  zone, and the validation that waits until ACM has issued it. Its `certificate_arn` comes from
  the validation, so a listener or a distribution that uses it is created only after issuance.
- `DomainAlias`: A (and, for CloudFront, AAAA) alias records for one host name.

The SES records (DKIM, MAIL FROM) belong to the identity they prove: `components.email`.
Without a zone none of this exists, and docs/day-one.md lists the records to publish by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

VALIDATION_RECORD_TTL = 300


@dataclass(frozen=True, kw_only=True)
class ValidatedCertificateArgs:
    domain_name: str
    hosted_zone_id: str
    """The public zone that holds `domain_name` (the validation record goes there)."""


class ValidatedCertificate(pulumi.ComponentResource):
    """An ACM certificate issued by DNS validation in the zone, in its provider's Region (the
    ALB's Region for the origin, us-east-1 for CloudFront)."""

    certificate_arn: pulumi.Output[str]
    """Known once ACM has issued the certificate: its users wait for the validation."""

    def __init__(self, name: str, args: ValidatedCertificateArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:edge:ValidatedCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            name, domain_name=args.domain_name, validation_method="DNS",
            key_algorithm="RSA_2048", tags={"Name": args.domain_name}, opts=child)
        # One name, so ACM asks for exactly one record.
        option = certificate.domain_validation_options.apply(lambda options: options[0])
        record = aws.route53.Record(
            f"{name}-validation", zone_id=args.hosted_zone_id,
            name=option.apply(lambda o: str(o.resource_record_name)),
            type=option.apply(lambda o: str(o.resource_record_type)),
            records=[option.apply(lambda o: str(o.resource_record_value))],
            ttl=VALIDATION_RECORD_TTL,
            # ACM asks for the same record for the same name in every Region of the account
            allow_overwrite=True, opts=child)
        validation = aws.acm.CertificateValidation(
            name, certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn],
            opts=child)
        self.certificate_arn = validation.certificate_arn
        self.register_outputs({"certificate_arn": self.certificate_arn})


@dataclass(frozen=True, kw_only=True)
class DomainAliasArgs:
    hosted_zone_id: str
    domain_name: str
    target_dns_name: pulumi.Input[str]
    target_zone_id: pulumi.Input[str]
    """The target's own hosted zone (an ALB's or CloudFront's), as alias records require."""
    ipv6: bool = False
    """Also an AAAA alias (CloudFront serves IPv6; the ALB is IPv4 only)."""
    evaluate_target_health: bool = False


class DomainAlias(pulumi.ComponentResource):
    fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: DomainAliasArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:edge:DomainAlias", name, None, opts)
        records = [aws.route53.Record(
            f"{name}-{kind.lower()}", zone_id=args.hosted_zone_id, name=args.domain_name,
            type=kind, aliases=[aws.route53.RecordAliasArgs(
                name=args.target_dns_name, zone_id=args.target_zone_id,
                evaluate_target_health=args.evaluate_target_health)],
            opts=pulumi.ResourceOptions(parent=self))
            for kind in ("A", "AAAA") if kind == "A" or args.ipv6]
        self.fqdn = records[0].fqdn
        self.register_outputs({"fqdn": self.fqdn})
