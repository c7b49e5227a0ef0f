"""Amazon SES for the shop's mail: a DKIM-signed domain identity, a MAIL FROM domain, and a
configuration set that sends bounces and complaints to an encrypted SNS topic.

Only the email consumer sends, and only from this identity and address (`sender_access`). The DNS
records SES needs (three DKIM CNAMEs, the MAIL FROM domain's MX and SPF) are an output
(`dns_records`); with the stack's Route 53 zone (`hosted_zone_id`) the component writes them there,
otherwise the domain's owner publishes them (docs/day-one.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws

from components.defaults import policy_document
from components.lambda_code import Access

FEEDBACK_EVENTS = ("BOUNCE", "COMPLAINT", "REJECT", "RENDERING_FAILURE")
DKIM_TOKENS = 3  # Easy DKIM: SES gives three tokens, one CNAME each
RECORD_TTL = 1800
# SES reviews an account at a 5% bounce or 0.1% complaint rate; page well before that.
BOUNCE_RATE_ALARM = 0.02
COMPLAINT_RATE_ALARM = 0.0008
_HOST = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


@dataclass(frozen=True, kw_only=True)
class EmailArgs:
    domain: str
    region: str
    account_id: pulumi.Input[str]
    messaging_kms_key_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    sender: str = "orders"
    """The local part of the one address the shop sends from."""
    mail_from_subdomain: str = "mail"
    hosted_zone_id: str | None = None
    """The Route 53 zone holding `domain`: the DKIM and MAIL FROM records are written there."""


class Email(pulumi.ComponentResource):
    identity_arn: pulumi.Output[str]
    configuration_set_name: pulumi.Output[str]
    configuration_set_arn: pulumi.Output[str]
    feedback_topic_arn: pulumi.Output[str]
    from_address: str
    mail_from_domain: str
    dns_records: pulumi.Output[list[str]]
    """DKIM CNAMEs and the MAIL FROM MX and SPF records, one zone-file line each."""

    def __init__(self, name: str, args: EmailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not _HOST.fullmatch(args.domain):
            raise ValueError(f"{name}: domain {args.domain!r} is not a DNS domain")
        if not re.fullmatch(r"[a-z0-9][a-z0-9._+-]{0,63}", args.sender):
            raise ValueError(f"{name}: sender {args.sender!r} is not an address's local part")
        super().__init__("ecommerce:events:Email", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.from_address = f"{args.sender}@{args.domain}"
        self.mail_from_domain = f"{args.mail_from_subdomain}.{args.domain}"

        config_set = aws.sesv2.ConfigurationSet(
            f"{name}-config", configuration_set_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}",
            delivery_options=aws.sesv2.ConfigurationSetDeliveryOptionsArgs(tls_policy="REQUIRE"),
            reputation_options=aws.sesv2.ConfigurationSetReputationOptionsArgs(
                reputation_metrics_enabled=True),
            sending_options=aws.sesv2.ConfigurationSetSendingOptionsArgs(sending_enabled=True),
            suppression_options=aws.sesv2.ConfigurationSetSuppressionOptionsArgs(
                suppressed_reasons=["BOUNCE", "COMPLAINT"]),
            opts=child)
        feedback = aws.sns.Topic(f"{name}-feedback", kms_master_key_id=args.messaging_kms_key_arn,
                                 opts=child)
        topic_policy = aws.sns.TopicPolicy(f"{name}-feedback", arn=feedback.arn, policy=policy_document([
            {"Sid": "AccountManages", "Effect": "Allow",
             "Principal": {"AWS": pulumi.Output.concat("arn:aws:iam::", args.account_id, ":root")},
             "Action": ["sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe",
                        "sns:ListSubscriptionsByTopic", "sns:Publish"],
             "Resource": feedback.arn},
            {"Sid": "SesPublishesThisConfigurationSet", "Effect": "Allow",
             "Principal": {"Service": "ses.amazonaws.com"}, "Action": "sns:Publish",
             "Resource": feedback.arn,
             "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id},
                           "ArnLike": {"aws:SourceArn": config_set.arn}}}]), opts=child)
        aws.sesv2.ConfigurationSetEventDestination(
            f"{name}-feedback", configuration_set_name=config_set.configuration_set_name,
            event_destination_name="bounces-and-complaints",
            event_destination=aws.sesv2.ConfigurationSetEventDestinationEventDestinationArgs(
                enabled=True, matching_event_types=list(FEEDBACK_EVENTS),
                sns_destination=aws.sesv2.ConfigurationSetEventDestinationEventDestinationSnsDestinationArgs(
                    topic_arn=feedback.arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topic_policy]))

        identity = aws.sesv2.EmailIdentity(
            f"{name}-domain", email_identity=args.domain,
            configuration_set_name=config_set.configuration_set_name,
            dkim_signing_attributes=aws.sesv2.EmailIdentityDkimSigningAttributesArgs(
                next_signing_key_length="RSA_2048_BIT"),
            opts=child)
        aws.sesv2.EmailIdentityMailFromAttributes(
            f"{name}-mail-from", email_identity=identity.email_identity,
            mail_from_domain=self.mail_from_domain, behavior_on_mx_failure="USE_DEFAULT_VALUE",
            opts=child)

        for metric, threshold, what in (("Reputation.BounceRate", BOUNCE_RATE_ALARM, "bounce"),
                                        ("Reputation.ComplaintRate", COMPLAINT_RATE_ALARM,
                                         "complaint")):
            aws.cloudwatch.MetricAlarm(
                f"{name}-{what}-rate", namespace="AWS/SES", metric_name=metric,
                statistic="Maximum", period=900, evaluation_periods=1, threshold=threshold,
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                alarm_actions=[args.alarm_topic_arn], ok_actions=[args.alarm_topic_arn],
                alarm_description=f"SES {what} rate above {threshold:.2%}: SES reviews the account "
                                  "at 5% bounces / 0.1% complaints. Check the feedback topic.",
                opts=child)

        tokens = identity.dkim_signing_attributes.apply(lambda d: list((d and d.tokens) or []))
        mail_from = [(self.mail_from_domain, "MX", f"10 feedback-smtp.{args.region}.amazonses.com"),
                     (self.mail_from_domain, "TXT", "v=spf1 include:amazonses.com ~all")]

        def dkim(token: str) -> tuple[str, str, str]:
            return f"{token}._domainkey.{args.domain}", "CNAME", f"{token}.dkim.amazonses.com"

        self.dns_records = tokens.apply(lambda ts: [
            f"{n}. {t} {_zone_file_value(t, v)}" for n, t, v in [*map(dkim, ts), *mail_from]])
        if args.hosted_zone_id is not None:
            zone = args.hosted_zone_id
            for index in range(DKIM_TOKENS):
                record = tokens.apply(partial(_nth_dkim, dkim, index))
                aws.route53.Record(
                    f"{name}-dkim-{index + 1}", zone_id=zone, name=record.apply(lambda r: r[0]),
                    type="CNAME", records=[record.apply(lambda r: r[2])], ttl=RECORD_TTL,
                    opts=child)
            for record_name, kind, value in mail_from:
                aws.route53.Record(f"{name}-mail-from-{kind.lower()}", zone_id=zone,
                                   name=record_name, type=kind, records=[value], ttl=RECORD_TTL,
                                   opts=child)
        self.identity_arn = identity.arn
        self.configuration_set_name = config_set.configuration_set_name
        self.configuration_set_arn = config_set.arn
        self.feedback_topic_arn = feedback.arn
        self.register_outputs({
            "identity_arn": self.identity_arn, "configuration_set_name": self.configuration_set_name,
            "feedback_topic_arn": self.feedback_topic_arn, "from_address": self.from_address,
            "dns_records": self.dns_records})

    def sender_access(self) -> Access:
        """Send from this identity and address only, through this configuration set."""
        return Access(
            statements=({"Sid": "SendAsTheShop", "Effect": "Allow",
                         "Action": ["ses:SendEmail", "ses:SendTemplatedEmail"],
                         "Resource": [self.identity_arn, self.configuration_set_arn],
                         "Condition": {"StringEquals": {"ses:FromAddress": self.from_address}}},),
            environment={"SES_FROM_ADDRESS": self.from_address,
                         "SES_CONFIGURATION_SET": self.configuration_set_name})


def _nth_dkim(dkim: Callable[[str], tuple[str, str, str]], index: int,
              tokens: list[str]) -> tuple[str, str, str]:
    return dkim(tokens[index])


def _zone_file_value(kind: str, value: str) -> str:
    """A record's value as a zone file writes it: names end with a dot, text is quoted."""
    if kind == "TXT":
        return f'"{value}"'
    return f"{value}."
