"""Day-one wiring as code with a Route 53 zone (`hostedZoneId`): the origin and shop records, the
DNS-validated certificates, the SES records; and the manual steps each stack still needs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.config import ConfigError, parse_stack_config
from components.day_one import DOC, Phase, manual_steps
from offline.engine import PROJECT_DIR, Resource, Snapshot, stack_config
from tests.support.stacks import WITH_ZONE

ZONE = WITH_ZONE["ecommerce:hostedZoneId"]
RECORD = "aws:route53/record:Record"
CERTIFICATE = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"


@pytest.fixture
def zoned(staging_with_zone: Snapshot) -> Snapshot:
    """Staging with its zone given and no certificate ARNs: the stack does the day-one wiring."""
    return staging_with_zone


def records(snapshot: Snapshot, name: str, kind: str) -> list[Resource]:
    return [r for r in snapshot.of_type(RECORD)
            if r.inputs["name"] == name and r.inputs["type"] == kind]


def provider_region(snapshot: Snapshot, resource: Resource) -> str:
    provider = snapshot.provider_of(resource)
    assert provider is not None
    return str(provider.inputs["region"])


def certificate_for(snapshot: Snapshot, domain: str) -> tuple[Resource, Resource, Resource]:
    (certificate,) = [c for c in snapshot.of_type(CERTIFICATE) if c.inputs["domainName"] == domain]
    (option,) = certificate.outputs["domainValidationOptions"]
    (record,) = records(snapshot, option["resourceRecordName"], "CNAME")
    (validation,) = [v for v in snapshot.of_type(VALIDATION)
                     if v.inputs["certificateArn"] == certificate.outputs["arn"]]
    return certificate, record, validation


def test_the_origin_name_points_at_the_alb(zoned: Snapshot) -> None:
    (alb,) = zoned.of_type("aws:lb/loadBalancer:LoadBalancer")
    (record,) = records(zoned, zoned.config["ecommerce:originDomainName"], "A")
    assert record.inputs["zoneId"] == ZONE
    (alias,) = record.inputs["aliases"]
    assert (alias["name"], alias["zoneId"]) == (alb.outputs["dnsName"], alb.outputs["zoneId"])


def test_the_shop_name_points_at_cloudfront_over_ipv4_and_ipv6(zoned: Snapshot) -> None:
    (distribution,) = zoned.of_type("aws:cloudfront/distribution:Distribution")
    for kind in ("A", "AAAA"):
        (record,) = records(zoned, zoned.config["ecommerce:domainName"], kind)
        (alias,) = record.inputs["aliases"]
        assert alias["name"] == distribution.outputs["domainName"]
        assert alias["zoneId"] == distribution.outputs["hostedZoneId"]


@pytest.mark.parametrize(("key", "region", "user"), [
    ("ecommerce:originDomainName", "us-east-1", "aws:lb/listener:Listener"),
    ("ecommerce:domainName", "us-east-1", "aws:cloudfront/distribution:Distribution"),
])
def test_each_certificate_is_validated_by_dns_before_its_user_takes_it(
        zoned: Snapshot, key: str, region: str, user: str) -> None:
    # GIVEN the certificate the stack issues for the name
    certificate, record, validation = certificate_for(zoned, zoned.config[key])
    assert certificate.inputs["validationMethod"] == "DNS"
    assert provider_region(zoned, certificate) == region
    # THEN its validation record is in the zone, and the validation waits for that record
    option = certificate.outputs["domainValidationOptions"][0]
    assert record.inputs["zoneId"] == ZONE
    assert record.inputs["records"] == [option["resourceRecordValue"]]
    assert validation.inputs["validationRecordFqdns"] == [record.outputs["fqdn"]]
    # AND the listener / distribution takes the ARN from the validation, so it waits for issuance
    users = [r for r in zoned.of_type(user)
             if validation.outputs["certificateArn"] in json.dumps(r.inputs)]
    assert users
    for resource in users:
        assert validation.urn in resource.dependencies


def test_ses_dkim_and_mail_from_records_are_written_to_the_zone(zoned: Snapshot) -> None:
    (identity,) = zoned.of_type("aws:sesv2/emailIdentity:EmailIdentity")
    domain = identity.inputs["emailIdentity"]
    for token in identity.outputs["dkimSigningAttributes"]["tokens"]:
        (record,) = records(zoned, f"{token}._domainkey.{domain}", "CNAME")
        assert record.inputs["records"] == [f"{token}.dkim.amazonses.com"]
    (mx,) = records(zoned, f"mail.{domain}", "MX")
    assert mx.inputs["records"] == ["10 feedback-smtp.us-east-1.amazonses.com"]
    (spf,) = records(zoned, f"mail.{domain}", "TXT")
    assert spf.inputs["records"] == ["v=spf1 include:amazonses.com ~all"]
    assert {r.inputs["zoneId"] for r in zoned.of_type(RECORD)} == {ZONE}


def test_without_a_zone_the_stack_writes_no_records_and_uses_the_given_certificates(
        prod: Snapshot) -> None:
    assert not prod.of_type(RECORD) and not prod.of_type(CERTIFICATE)
    (https,) = [r for r in prod.of_type("aws:lb/listener:Listener") if r.inputs["port"] == 443]
    assert https.inputs["certificateArn"] == prod.config["ecommerce:originCertificateArn"]


@pytest.mark.parametrize(("overrides", "message"), [
    ({"ecommerce:originCertificateArn": ""},
     "ecommerce:originCertificateArn is missing: an ACM certificate in us-east-1 for "
     "originDomainName is required (or set hostedZoneId and the stack issues one)"),
    ({"ecommerce:certificateArn": ""},
     "ecommerce:certificateArn is missing: a us-east-1 ACM certificate for domainName "
     "shop.example.com is required (or set hostedZoneId and the stack issues one)"),
])
def test_without_a_zone_the_certificate_keys_stay_required(overrides: dict[str, Any], message: str) -> None:
    values, _ = stack_config("prod", overrides=overrides)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_stack_config(values, stack="prod")


# -- the manual steps -------------------------------------------------------------------------------


def headings() -> set[str]:
    text = (PROJECT_DIR / DOC).read_text()
    return {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("### ")}


@pytest.mark.parametrize("overrides", [{}, WITH_ZONE, {"ecommerce:imageSource": "prebuilt",
                                                        "ecommerce:prebuiltImages": [
                                                            "storefront tag=a", "order-api tag=a",
                                                            "admin tag=a"]}])
def test_every_manual_step_is_explained_in_the_day_one_guide(overrides: dict[str, Any]) -> None:
    values, _ = stack_config("staging", overrides=overrides)
    for step in manual_steps(parse_stack_config(values, stack="staging")):
        assert step.heading in headings(), step.heading


def test_a_stack_with_a_zone_has_no_dns_or_certificate_steps_left() -> None:
    def steps(overrides: dict[str, Any]) -> dict[str, Phase]:
        values, _ = stack_config("staging", overrides=overrides)
        return {s.heading: s.phase for s in manual_steps(parse_stack_config(values, stack="staging"))}

    without, with_zone = steps({}), steps(WITH_ZONE)
    assert {"Publish the DNS records", "Issue the certificates the config names"} <= set(without)
    assert not {"Publish the DNS records", "Issue the certificates the config names"} & set(with_zone)
    assert with_zone["Delegate the domain to the hosted zone"] is Phase.BEFORE_UP
    for always in ("Request SES production access", "Confirm the alarm e-mail",
                   "Put the payment provider's key in its secret"):
        assert always in without and always in with_zone


def test_make_preview_ends_with_the_stack_s_manual_steps(capsys: pytest.CaptureFixture[str]) -> None:
    from offline import preview

    status = preview.main(["--stack", "staging", "--no-policies"])
    lines = capsys.readouterr().out.rstrip().splitlines()
    values, _ = stack_config("staging")
    steps = manual_steps(parse_stack_config(values, stack="staging"))
    assert status == 0
    # the last section of the output: a title, then each phase and its numbered steps
    start = lines.index(f"Manual steps still open for staging ({DOC}):")
    shown = [re.sub(r"^\s+\d+\. ", "", line) for line in lines[start + 1:]
             if re.match(r"\s+\d+\. ", line)]
    assert shown == [step.line() for step in steps]
    assert len(lines) - start - 1 == len(steps) + len({step.phase for step in steps})
