"""An order-fulfilment workflow on Step Functions: reserve stock, then ship, each a Lambda function,
started by an EventBridge rule for `order.placed` (a fact published after the payment succeeded)."""

import json

import pulumi
import pulumi_aws as aws

lambda_role = aws.iam.Role("steps", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}))
reserve = aws.lambda_.Function("reserve-stock", role=lambda_role.arn, runtime="python3.12",
                               handler="stock.reserve", code=pulumi.FileArchive("./fulfilment"))
ship = aws.lambda_.Function("ship-order", role=lambda_role.arn, runtime="python3.12",
                            handler="shipping.ship", code=pulumi.FileArchive("./fulfilment"))

sfn_role = aws.iam.Role("fulfilment", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "states.amazonaws.com"}}]}))
aws.iam.RolePolicy("fulfilment", role=sfn_role.id, policy=pulumi.Output.all(reserve.arn, ship.arn).apply(
    lambda arns: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": arns}]})))
machine = aws.sfn.StateMachine("fulfilment", role_arn=sfn_role.arn, definition=pulumi.Output.json_dumps({
    "StartAt": "Reserve", "States": {
        "Reserve": {"Type": "Task", "Resource": reserve.arn, "Next": "Ship",
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]},
        "Ship": {"Type": "Task", "Resource": ship.arn, "End": True}}}))

events_role = aws.iam.Role("start-fulfilment", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "events.amazonaws.com"}}]}))
aws.iam.RolePolicy("start-fulfilment", role=events_role.id, policy=machine.arn.apply(
    lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": arn}]})))
rule = aws.cloudwatch.EventRule("order-placed", event_pattern=json.dumps({
    "source": ["shop.orders"], "detail-type": ["order.placed"]}))
dlq = aws.sqs.Queue("order-placed-dlq", message_retention_seconds=1209600)
aws.cloudwatch.EventTarget("order-placed", rule=rule.name, arn=machine.arn, role_arn=events_role.arn,
                           dead_letter_config={"arn": dlq.arn})
