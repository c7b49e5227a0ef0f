"""Aurora PostgreSQL across two Availability Zones: a writer and a reader, storage encrypted, the
master password managed by RDS in Secrets Manager, SSL forced by a cluster parameter group."""

import pulumi
import pulumi_aws as aws

vpc = aws.ec2.Vpc("db", cidr_block="10.0.0.0/16", enable_dns_hostnames=True)
subnets = [aws.ec2.Subnet(f"db-{zone}", vpc_id=vpc.id, availability_zone=f"us-east-1{zone}",
                          cidr_block=f"10.0.{index}.0/24")
           for index, zone in enumerate("ab")]
group = aws.rds.SubnetGroup("db", subnet_ids=[s.id for s in subnets])
database_sg = aws.ec2.SecurityGroup("db", vpc_id=vpc.id, ingress=[{
    "protocol": "tcp", "from_port": 5432, "to_port": 5432, "cidr_blocks": ["10.0.0.0/16"]}])

parameters = aws.rds.ClusterParameterGroup("db", family="aurora-postgresql16", parameters=[
    {"name": "rds.force_ssl", "value": "1"}])
cluster = aws.rds.Cluster(
    "orders", engine="aurora-postgresql", engine_version="16.4", database_name="orders",
    master_username="postgres", manage_master_user_password=True, storage_encrypted=True,
    db_subnet_group_name=group.name, vpc_security_group_ids=[database_sg.id],
    db_cluster_parameter_group_name=parameters.name, backup_retention_period=7,
    deletion_protection=True, skip_final_snapshot=False, final_snapshot_identifier="orders-final")
for index, zone in enumerate("ab"):
    aws.rds.ClusterInstance(f"orders-{index}", cluster_identifier=cluster.id, instance_class="db.r6g.large",
                            engine=aws.rds.EngineType.AURORA_POSTGRESQL,
                            engine_version=cluster.engine_version, availability_zone=f"us-east-1{zone}")

pulumi.export("endpoint", cluster.endpoint)
