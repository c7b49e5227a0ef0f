"""The topic every alarm of the stack notifies: KMS-encrypted, with the ops email subscribed.

Built first, so each tier's alarms can take its ARN; the observability tier reuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class AlarmTopicArgs:
    email: str
    """Subscribed to every alarm (AWS sends a confirmation mail first)."""
    kms_key_arn: pulumi.Input[str]
    """The messaging key: its policy lets CloudWatch use it, so alarms can publish."""


class AlarmTopic(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlarmTopicArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", args.email):
            raise ValueError(f"{name}: {args.email!r} is not an email address")
        super().__init__("ecommerce:observability:AlarmTopic", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(name, kms_master_key_id=args.kms_key_arn,
                              display_name="Shop alarms", opts=child)
        aws.sns.TopicSubscription(f"{name}-email", topic=topic.arn, protocol="email",
                                  endpoint=args.email, opts=child)
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})
