"""SES: a DKIM-signed domain with a MAIL FROM domain, feedback to SNS, and one sender."""

from __future__ import annotations

from offline.engine import Snapshot
from tests.components.event_flow import as_list, config_of, consumers, part, role_policy_of, statements

IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
CONFIG_SET = "aws:sesv2/configurationSet:ConfigurationSet"


def test_the_domain_identity_signs_with_2048_bit_dkim_through_the_configuration_set(
        prod: Snapshot) -> None:
    [identity] = prod.of_type(IDENTITY)
    [config_set] = prod.of_type(CONFIG_SET)
    domain = config_of(prod).events.email_domain
    assert identity.inputs["emailIdentity"] == domain
    assert identity.inputs["dkimSigningAttributes"]["nextSigningKeyLength"] == "RSA_2048_BIT"
    assert identity.inputs["configurationSetName"] == config_set.outputs["configurationSetName"]
    [mail_from] = prod.of_type("aws:sesv2/emailIdentityMailFromAttributes:"
                               "EmailIdentityMailFromAttributes")
    assert mail_from.inputs["emailIdentity"] == domain
    assert mail_from.inputs["mailFromDomain"] == f"mail.{domain}"


def test_the_configuration_set_requires_tls_and_suppresses_bounces_and_complaints(
        prod: Snapshot) -> None:
    [config_set] = prod.of_type(CONFIG_SET)
    assert config_set.inputs["deliveryOptions"]["tlsPolicy"] == "REQUIRE"
    assert set(config_set.inputs["suppressionOptions"]["suppressedReasons"]) == {"BOUNCE",
                                                                                "COMPLAINT"}
    assert config_set.inputs["reputationOptions"]["reputationMetricsEnabled"] is True


def test_bounces_and_complaints_go_to_an_encrypted_topic_only_ses_may_publish_to(
        prod: Snapshot) -> None:
    [config_set] = prod.of_type(CONFIG_SET)
    [destination] = prod.of_type("aws:sesv2/configurationSetEventDestination:"
                                 "ConfigurationSetEventDestination")
    event_destination = destination.inputs["eventDestination"]
    assert destination.inputs["configurationSetName"] == config_set.outputs["configurationSetName"]
    assert event_destination["enabled"] is True
    assert {"BOUNCE", "COMPLAINT"} <= set(event_destination["matchingEventTypes"])
    topic_arn = event_destination["snsDestination"]["topicArn"]
    [topic] = [t for t in prod.of_type("aws:sns/topic:Topic") if t.outputs["arn"] == topic_arn]
    assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")
    [topic_policy] = [p for p in prod.of_type("aws:sns/topicPolicy:TopicPolicy")
                      if p.inputs["arn"] == topic_arn]
    ses = next(s for s in statements(topic_policy) if s["Principal"] == {"Service": "ses.amazonaws.com"})
    assert ses["Action"] == "sns:Publish"
    assert ses["Condition"]["ArnLike"]["aws:SourceArn"] == config_set.outputs["arn"]
    assert prod.outputs["emailFeedbackTopicArn"] == topic_arn


def test_only_the_email_consumer_and_the_order_service_may_send_and_only_as_the_shop(
        prod: Snapshot) -> None:
    [identity] = prod.of_type(IDENTITY)
    [config_set] = prod.of_type(CONFIG_SET)
    domain = config_of(prod).events.email_domain
    senders = {}
    for role_policy in prod.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in statements(role_policy):
            if any(a.startswith("ses:") for a in as_list(statement["Action"])):
                senders[role_policy.inputs["role"]] = statement
    email_function = part(prod, "email", "aws:lambda/function:Function", "email")
    # the order API mails sign-in links (shop.accounts); the storefront and the admin send nothing
    sign_in_roles = {r.outputs["id"] for r in prod.of_type("aws:iam/role:Role")
                     if r.name == "web-order-api-task"}
    assert set(senders) == {role_policy_of(prod, email_function).inputs["role"], *sign_in_roles}
    for send in senders.values():
        assert set(as_list(send["Action"])) <= {"ses:SendEmail", "ses:SendTemplatedEmail",
                                                "ses:SendRawEmail"}
        assert set(send["Resource"]) == {identity.outputs["arn"], config_set.outputs["arn"]}
        assert send["Condition"] == {"StringEquals": {"ses:FromAddress": f"orders@{domain}"}}
    variables = email_function.inputs["environment"]["variables"]
    assert variables["SES_FROM_ADDRESS"] == f"orders@{domain}"
    assert variables["SES_CONFIGURATION_SET"] == config_set.outputs["configurationSetName"]
    assert "email" in consumers(prod)


def test_the_dns_records_to_publish_are_exported(prod: Snapshot) -> None:
    domain = config_of(prod).events.email_domain
    records = prod.outputs["emailDnsRecords"]
    assert len([r for r in records if "._domainkey." in r and " CNAME " in r]) == 3
    assert f"mail.{domain}. MX 10 feedback-smtp.us-east-1.amazonses.com." in records
    assert any(r.startswith(f"mail.{domain}. TXT") and "include:amazonses.com" in r for r in records)


def test_bounce_and_complaint_rates_alarm_to_the_alarm_topic(prod: Snapshot) -> None:
    rates = {a.inputs["metricName"]: a for a in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
             if a.inputs.get("namespace") == "AWS/SES"}
    assert set(rates) == {"Reputation.BounceRate", "Reputation.ComplaintRate"}
    assert rates["Reputation.BounceRate"].inputs["threshold"] < 0.05  # before SES's review
    assert rates["Reputation.ComplaintRate"].inputs["threshold"] < 0.001
    for alarm in rates.values():
        assert alarm.inputs["alarmActions"] == [prod.outputs["alarmTopicArn"]]
