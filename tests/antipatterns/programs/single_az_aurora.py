"""Anti-pattern: an Aurora cluster with a writer only -- an AZ outage takes checkout down."""

import pulumi_aws as aws

key = aws.kms.Key("orders", description="orders database", enable_key_rotation=True)
parameters = aws.rds.ClusterParameterGroup("orders", family="aurora-postgresql16",
                                           parameters=[{"name": "rds.force_ssl", "value": "1"}])
orders = aws.rds.Cluster("orders", engine="aurora-postgresql", engine_version="16.4", database_name="shop",
                         master_username="shop", manage_master_user_password=True, storage_encrypted=True,
                         kms_key_id=key.arn, db_cluster_parameter_group_name=parameters.name,
                         deletion_protection=True, backup_retention_period=14)
aws.rds.ClusterInstance("orders-writer", cluster_identifier=orders.id,
                        engine=aws.rds.EngineType.AURORA_POSTGRESQL, instance_class="db.r6g.large",
                        availability_zone="us-east-1a")
