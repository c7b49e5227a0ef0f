"""A nightly report: EventBridge Scheduler runs a Lambda function that e-mails a sales summary,
with a dead-letter queue for runs Scheduler could not deliver."""

import json

import pulumi
import pulumi_aws as aws

role = aws.iam.Role("report", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
aws.iam.RolePolicyAttachment("report-logs", role=role.name,
                             policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
aws.iam.RolePolicy("report-ses", role=role.id, policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "ses:SendEmail",
    "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com"}]}))
report = aws.lambda_.Function("sales-report", role=role.arn, runtime="python3.12",
                              handler="report.handler", timeout=120, code=pulumi.FileArchive("./report"),
                              environment={"variables": {"REPORT_TO": "finance@example.com"}})
aws.cloudwatch.LogGroup("sales-report", name=report.name.apply(lambda n: f"/aws/lambda/{n}"),
                        retention_in_days=14)

dlq = aws.sqs.Queue("sales-report-dlq", message_retention_seconds=1209600)
scheduler_role = aws.iam.Role("scheduler", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "scheduler.amazonaws.com"}}]}))
aws.iam.RolePolicy("scheduler", role=scheduler_role.id, policy=pulumi.Output.all(report.arn, dlq.arn).apply(
    lambda arns: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arns[0]},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arns[1]}]})))
aws.scheduler.Schedule("nightly", schedule_expression="cron(0 6 * * ? *)",
                       flexible_time_window={"mode": "OFF"},
                       target={"arn": report.arn, "role_arn": scheduler_role.arn,
                               "dead_letter_config": {"arn": dlq.arn},
                               "retry_policy": {"maximum_retry_attempts": 3}})
