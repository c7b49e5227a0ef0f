"""Anti-pattern: an Amazon MQ broker whose user's password is written in the program."""

import pulumi_aws as aws

aws.mq.Broker("events-bridge", engine_type="RabbitMQ", engine_version="3.13",
              host_instance_type="mq.m7g.large",
              deployment_mode="CLUSTER_MULTI_AZ", publicly_accessible=False,
              users=[{"username": "shop", "password": "rabbit-Shop-2026-pw"}])
