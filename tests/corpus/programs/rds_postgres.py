"""An RDS for PostgreSQL 16 instance, Multi-AZ, encrypted, with an RDS-managed master password and
a read replica for reporting (PostgreSQL 15 and later force SSL in the default parameter group)."""

import pulumi
import pulumi_aws as aws

primary = aws.rds.Instance(
    "app-db", engine="postgres", engine_version="16.3", instance_class="db.t4g.medium",
    allocated_storage=50, storage_type="gp3", storage_encrypted=True, multi_az=True,
    username="app", manage_master_user_password=True, db_subnet_group_name="app-private",
    backup_retention_period=7, deletion_protection=True, skip_final_snapshot=False,
    final_snapshot_identifier="app-db-final", publicly_accessible=False)
aws.rds.Instance("app-db-reporting", replicate_source_db=primary.identifier,
                 instance_class="db.t4g.medium", storage_encrypted=True, publicly_accessible=False,
                 skip_final_snapshot=True)

pulumi.export("address", primary.address)
