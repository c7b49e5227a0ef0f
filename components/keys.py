"""Customer-managed KMS keys shared across tiers: logs and messaging (queues, topics, the bus).

Data stores create their own key per data class in the data tier.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.defaults import policy_document


@dataclass(frozen=True, kw_only=True)
class EncryptionKeysArgs:
    account_id: str
    region: str


def _root_statement(account_id: str) -> dict[str, object]:
    return {"Sid": "AccountAdministers", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "kms:*",
            "Resource": "*"}


class EncryptionKeys(pulumi.ComponentResource):
    logs_key_arn: pulumi.Output[str]
    """Encrypts every CloudWatch log group of the stack."""
    messaging_key_arn: pulumi.Output[str]
    """Encrypts SQS queues, SNS topics and the event bus."""

    def __init__(self, name: str, args: EncryptionKeysArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:security:EncryptionKeys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account, region = args.account_id, args.region

        logs = aws.kms.Key(
            f"{name}-logs", description="CloudWatch Logs of the shop", enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy_document([_root_statement(account), {
                "Sid": "CloudWatchLogsUse", "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*",
                           "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                          f"arn:aws:logs:{region}:{account}:*"}}}]),
            opts=child)
        messaging = aws.kms.Key(
            f"{name}-messaging", description="Queues, topics and the event bus of the shop",
            enable_key_rotation=True, deletion_window_in_days=30,
            policy=policy_document([_root_statement(account), {
                "Sid": "AwsMessagingServicesUse", "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sns.amazonaws.com",
                                          "sqs.amazonaws.com", "cloudwatch.amazonaws.com",
                                          "ses.amazonaws.com", "scheduler.amazonaws.com"]},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]),
            opts=child)
        aws.kms.Alias(f"{name}-logs-alias", name=f"alias/{name}-logs", target_key_id=logs.key_id,
                      opts=child)
        aws.kms.Alias(f"{name}-messaging-alias", name=f"alias/{name}-messaging",
                      target_key_id=messaging.key_id, opts=child)

        self.logs_key_arn = logs.arn
        self.messaging_key_arn = messaging.arn
        self.register_outputs({"logs_key_arn": self.logs_key_arn,
                               "messaging_key_arn": self.messaging_key_arn})
