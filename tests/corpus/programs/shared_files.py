"""An encrypted EFS file system with a mount target in each of two Availability Zones."""

import pulumi_aws as aws

files = aws.efs.FileSystem("uploads", encrypted=True, performance_mode="generalPurpose",
                           lifecycle_policies=[{"transition_to_ia": "AFTER_30_DAYS"}])
for zone, subnet in (("a", "subnet-0aaa1111"), ("b", "subnet-0bbb2222")):
    aws.efs.MountTarget(f"uploads-{zone}", file_system_id=files.id, subnet_id=subnet,
                        security_groups=["sg-0files"])
aws.efs.BackupPolicy("uploads", file_system_id=files.id, backup_policy={"status": "ENABLED"})
