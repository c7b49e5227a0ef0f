"""Anti-pattern: a Redshift Serverless namespace with the admin password in the program."""

import pulumi_aws as aws

aws.redshiftserverless.Namespace("analytics", namespace_name="analytics", admin_username="admin",
                                 admin_user_password="Redshift-Admin-2026")
