"""Anti-pattern: a bastion host whose user data exports the database password."""

import pulumi_aws as aws

aws.ec2.Instance("reporting-host", ami="ami-0abcdef1234567890", instance_type="t4g.small",
                 subnet_id="subnet-0private-a", root_block_device={"encrypted": True},
                 user_data="#!/bin/bash\nexport DB_PASSWORD='Reporting-db-2026'\n/opt/reports/run.sh\n")
