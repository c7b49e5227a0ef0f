"""Scheduled work on EventBridge Scheduler: the outbox relay sweeper, abandoned-cart reminders,
the nightly sales roll-up and the weekly search reindex, each a Lambda function with its own role,
schedule and DLQ.

A schedule invokes its function asynchronously. Both ways a run can fail end in the job's DLQ (and
its alarm): Scheduler could not invoke after its retries (the schedule's dead-letter config), or
the function failed after Lambda's async retries (the function's on-failure destination).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import KNOWN_EVENTS
from components.defaults import DLQ_RETENTION_SECONDS, Statement, policy_document
from components.events import put_events_statement
from components.lambda_code import (
    Access,
    DatabaseAccess,
    FunctionSettings,
    FunctionSpec,
    TableRef,
    database_access,
    database_user,
    payment_secret_access,
    python_function,
    table_access,
    validate_function,
)
from components.providers import workload_tags


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    name: str
    handler: str
    schedule: str
    """An EventBridge Scheduler expression, evaluated in UTC."""
    description: str
    timeout: int
    memory: int
    max_event_age_seconds: int
    """How long a missed run is still worth running (Scheduler and Lambda async retries)."""
    retries: int
    """Lambda's async retries of a failed run (0-2); Scheduler retries invocation 3x beyond."""
    database: bool = True
    """Connects to PostgreSQL through the RDS Proxy as its own user (so it runs in the VPC)."""
    publishes: tuple[str, ...] = ()
    """Detail-types it may put on the bus."""
    carts_actions: tuple[str, ...] = ()
    reads_payment_secret: bool = False
    """Looks payments up with the provider (never charges): reads its restricted read-only key, never
    the charging key (a scheduled job holding that key could charge asynchronously)."""
    search: bool = False
    """Builds search indexes and moves their aliases (`ScheduledJobsArgs.search`)."""


JOBS = (
    JobSpec(name="outbox-relay", handler="shop.jobs.outbox_relay.handler", schedule="rate(1 minute)",
            description="Publishes committed outbox rows to the bus; sweeps what the "
                        "after-commit relay missed",
            timeout=50, memory=256, max_event_age_seconds=60, retries=0, publishes=KNOWN_EVENTS),
    JobSpec(name="abandoned-carts", handler="shop.jobs.abandoned_carts.handler",
            schedule="cron(0 * * * ? *)",
            description="Writes cart.abandoned to the outbox for carts idle past the reminder delay",
            timeout=300, memory=512, max_event_age_seconds=1800, retries=2,
            carts_actions=("dynamodb:Scan", "dynamodb:UpdateItem")),
    JobSpec(name="checkout-recovery", handler="shop.jobs.checkout_recovery.handler",
            schedule="rate(5 minutes)",
            description="Completes orders whose payment succeeded but whose order was not recorded "
                        "(looks the payment up; never charges)",
            timeout=240, memory=512, max_event_age_seconds=600, retries=0,
            carts_actions=("dynamodb:GetItem", "dynamodb:UpdateItem"), reads_payment_secret=True),
    JobSpec(name="sales-rollup", handler="shop.jobs.sales_rollup.handler",
            schedule="cron(30 0 * * ? *)",
            description="Rolls up yesterday's orders into the daily sales table",
            timeout=900, memory=1024, max_event_age_seconds=6 * 3600, retries=2),
    JobSpec(name="search-reindex", handler="shop.jobs.search_reindex.handler",
            schedule="cron(30 3 ? * SUN *)",
            description="Rebuilds the products and recommendations indexes from PostgreSQL and swaps "
                        "their aliases (also run by hand on a new domain or a mapping change)",
            timeout=900, memory=1024, max_event_age_seconds=6 * 3600, retries=1, search=True),
)
SCHEDULER_RETRIES = 3


@dataclass(frozen=True, kw_only=True)
class ScheduledJobsArgs:
    account_id: pulumi.Input[str]
    bus_name: pulumi.Input[str]
    bus_arn: pulumi.Input[str]
    functions: FunctionSettings
    messaging_kms_key_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str]
    carts_table: TableRef
    database: DatabaseAccess
    payment_lookup_secret_arn: pulumi.Input[str]
    """The provider's restricted read-only key (never the charging key)."""
    search: Access | None = None
    """The search domain's write access, for the jobs that build indexes (None: no such jobs)."""
    jobs: Sequence[JobSpec] = JOBS
    enabled: bool = True
    """False: the schedules exist but are DISABLED (a secondary Region's standby: the jobs write to
    the one writer database, so they run in one Region; docs/multi-region.md)."""


def _queue_key_statement(key_arn: pulumi.Input[str], region: str, sid: str) -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}}}


def _validate(name: str, args: ScheduledJobsArgs) -> None:
    names = [job.name for job in args.jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"{name}: job names repeat: {names}")
    for job in args.jobs:
        if not 0 <= job.retries <= 2:
            raise ValueError(f"job {job.name!r}: retries={job.retries} must be from 0 to 2")
        if not 60 <= job.max_event_age_seconds <= 21_600:
            raise ValueError(f"job {job.name!r}: max_event_age_seconds must be from 60 to 21600")
        if job.search and args.search is None:
            raise ValueError(f"job {job.name!r} builds search indexes but no search access was given")
        unknown = [e for e in job.publishes if e not in KNOWN_EVENTS]
        if unknown:
            raise ValueError(f"job {job.name!r}: publishes unknown event {unknown[0]!r}")
        validate_function(FunctionSpec(handler=job.handler, owner=f"scheduled job {job.name!r}",
                                       workload=job.name, timeout=job.timeout,
                                       memory=job.memory, vpc=job.database), args.functions)


class ScheduledJobs(pulumi.ComponentResource):
    function_arns: dict[str, pulumi.Output[str]]
    role_arns: dict[str, pulumi.Output[str]]
    dlq_urls: dict[str, pulumi.Output[str]]
    dlq_names: dict[str, pulumi.Output[str]]
    """Per job: the `QueueName` dimension of its DLQ's metrics."""
    function_names: dict[str, pulumi.Output[str]]
    publisher_role_arns: dict[str, pulumi.Output[str]]
    """The roles of the jobs that put events on the bus, by job (for the bus policy)."""

    def __init__(self, name: str, args: ScheduledJobsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(name, args)
        super().__init__("ecommerce:events:ScheduledJobs", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        region = args.functions.region
        group = aws.scheduler.ScheduleGroup(name, opts=child)

        self.function_arns, self.role_arns, self.dlq_urls = {}, {}, {}
        self.dlq_names, self.function_names = {}, {}
        self.publisher_role_arns = {}
        for job in args.jobs:
            tags = workload_tags(job.name)
            dlq = aws.sqs.Queue(f"{job.name}-dlq", message_retention_seconds=DLQ_RETENTION_SECONDS,
                                kms_master_key_id=args.messaging_kms_key_arn,
                                kms_data_key_reuse_period_seconds=300, tags=tags, opts=child)
            access = Access(statements=(
                {"Sid": "FailedRunsToItsDlq", "Effect": "Allow", "Action": "sqs:SendMessage",
                 "Resource": dlq.arn},
                _queue_key_statement(args.messaging_kms_key_arn, region, "ItsDlqKey")))
            if job.publishes:
                access += Access(statements=(put_events_statement(args.bus_arn,
                                                                  detail_types=job.publishes),),
                                 environment={"EVENT_BUS_NAME": args.bus_name})
            if job.carts_actions:
                access += table_access(args.carts_table, env_var="CARTS_TABLE",
                                       actions=job.carts_actions, sid="Carts")
            if job.reads_payment_secret:
                access += payment_secret_access(args.payment_lookup_secret_arn)
            if job.search and args.search is not None:
                access += args.search
            if job.database:
                access += database_access(args.database, user=database_user(job.name),
                                          region=region, account_id=args.account_id)
            built = python_function(job.name, FunctionSpec(
                handler=job.handler, owner=f"scheduled job {job.name!r}", workload=job.name,
                timeout=job.timeout, memory=job.memory, vpc=job.database, access=access),
                args.functions, opts=child)
            aws.lambda_.FunctionEventInvokeConfig(
                f"{job.name}-async", function_name=built.function.name,
                maximum_retry_attempts=job.retries,
                maximum_event_age_in_seconds=job.max_event_age_seconds,
                destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                    on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                        destination=dlq.arn)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[built.policy]))

            scheduler_role = aws.iam.Role(
                f"{job.name}-scheduler", description=f"EventBridge Scheduler runs {job.name}",
                assume_role_policy=policy_document([{
                    "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}}}]),
                opts=child)
            scheduler_policy = aws.iam.RolePolicy(
                f"{job.name}-scheduler", role=scheduler_role.id, policy=policy_document([
                    {"Sid": "InvokeItsFunction", "Effect": "Allow", "Action": "lambda:InvokeFunction",
                     "Resource": built.function.arn},
                    {"Sid": "UndeliveredToItsDlq", "Effect": "Allow", "Action": "sqs:SendMessage",
                     "Resource": dlq.arn},
                    _queue_key_statement(args.messaging_kms_key_arn, region, "ItsDlqKey")]),
                opts=child)
            aws.scheduler.Schedule(
                job.name, group_name=group.name, description=job.description,
                schedule_expression=job.schedule, schedule_expression_timezone="UTC",
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                state="ENABLED" if args.enabled else "DISABLED",
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=built.function.arn, role_arn=scheduler_role.arn,
                    input=json.dumps({"job": job.name}),
                    dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dlq.arn),
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                        maximum_event_age_in_seconds=job.max_event_age_seconds,
                        maximum_retry_attempts=SCHEDULER_RETRIES)),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy]))
            aws.cloudwatch.MetricAlarm(
                f"{job.name}-dlq-depth", namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": dlq.name},
                statistic="Maximum", period=60, evaluation_periods=1, threshold=0,
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                alarm_actions=[args.alarm_topic_arn], ok_actions=[args.alarm_topic_arn],
                alarm_description=f"{job.name}: a scheduled run failed (the message says whether "
                                  "Scheduler could not invoke or the function failed).",
                tags=tags, opts=child)

            self.function_arns[job.name] = built.function.arn
            self.role_arns[job.name] = built.role.arn
            self.dlq_urls[job.name] = dlq.url
            self.dlq_names[job.name] = dlq.name
            self.function_names[job.name] = built.function.name
            if job.publishes:
                self.publisher_role_arns[job.name] = built.role.arn
        self.register_outputs({"function_arns": self.function_arns, "role_arns": self.role_arns,
                               "dlq_urls": self.dlq_urls})
