"""A containerised web service on ECS Fargate behind an internet-facing Application Load Balancer:
HTTPS with a TLS 1.3 policy, HTTP redirected, a regional WAF web ACL on the load balancer, the
database password injected from Secrets Manager, tasks in private subnets of two AZs."""

import json

import pulumi
import pulumi_aws as aws

vpc = aws.ec2.Vpc("web", cidr_block="10.1.0.0/16", enable_dns_hostnames=True)
public = [aws.ec2.Subnet(f"public-{z}", vpc_id=vpc.id, availability_zone=f"us-east-1{z}",
                         cidr_block=f"10.1.{i}.0/24") for i, z in enumerate("ab")]
private = [aws.ec2.Subnet(f"private-{z}", vpc_id=vpc.id, availability_zone=f"us-east-1{z}",
                          cidr_block=f"10.1.{i + 10}.0/24") for i, z in enumerate("ab")]

alb_sg = aws.ec2.SecurityGroup("alb", vpc_id=vpc.id, ingress=[
    {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]},
    {"protocol": "tcp", "from_port": 80, "to_port": 80, "cidr_blocks": ["0.0.0.0/0"]}],
    egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["10.1.0.0/16"]}])
task_sg = aws.ec2.SecurityGroup("task", vpc_id=vpc.id, ingress=[
    {"protocol": "tcp", "from_port": 8080, "to_port": 8080, "security_groups": [alb_sg.id]}])

alb = aws.lb.LoadBalancer("web", load_balancer_type="application", subnets=[s.id for s in public],
                          security_groups=[alb_sg.id], drop_invalid_header_fields=True)
target = aws.lb.TargetGroup("web", port=8080, protocol="HTTP", target_type="ip", vpc_id=vpc.id,
                            health_check={"path": "/health"})
aws.lb.Listener("https", load_balancer_arn=alb.arn, port=443, protocol="HTTPS",
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/9d8c7b6a-1111-4222-8333-444455556666",
                default_actions=[{"type": "forward", "target_group_arn": target.arn}])
aws.lb.Listener("http", load_balancer_arn=alb.arn, port=80, protocol="HTTP", default_actions=[{
    "type": "redirect", "redirect": {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}])

acl = aws.wafv2.WebAcl(
    "web", scope="REGIONAL", default_action={"allow": {}},
    visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": "web",
                       "sampled_requests_enabled": True},
    rules=[{"name": "common", "priority": 0, "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"vendor_name": "AWS",
                                                           "name": "AWSManagedRulesCommonRuleSet"}},
            "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": "common",
                                  "sampled_requests_enabled": True}}])
aws.wafv2.WebAclAssociation("web", resource_arn=alb.arn, web_acl_arn=acl.arn)

db_secret = aws.secretsmanager.Secret("db-password")
logs = aws.cloudwatch.LogGroup("web", retention_in_days=30)
execution_role = aws.iam.Role("web-execution", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}))
aws.iam.RolePolicyAttachment("web-execution", role=execution_role.name,
                             policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
aws.iam.RolePolicy("web-execution-secret", role=execution_role.id, policy=db_secret.arn.apply(
    lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}]})))

cluster = aws.ecs.Cluster("web", settings=[{"name": "containerInsights", "value": "enabled"}])
task = aws.ecs.TaskDefinition(
    "web", family="web", cpu="512", memory="1024", network_mode="awsvpc",
    requires_compatibilities=["FARGATE"], execution_role_arn=execution_role.arn,
    container_definitions=pulumi.Output.all(db_secret.arn, logs.name).apply(lambda v: json.dumps([{
        "name": "web", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": True,
        "portMappings": [{"containerPort": 8080}],
        "environment": [{"name": "DB_HOST", "value": "db.internal"}, {"name": "LOG_LEVEL", "value": "info"}],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": v[0]}],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": v[1], "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}}])))
aws.ecs.Service("web", cluster=cluster.arn, task_definition=task.arn, desired_count=2,
                launch_type="FARGATE",
                network_configuration={"subnets": [s.id for s in private], "security_groups": [task_sg.id]},
                load_balancers=[{"target_group_arn": target.arn, "container_name": "web",
                                 "container_port": 8080}],
                deployment_circuit_breaker={"enable": True, "rollback": True})

pulumi.export("url", alb.dns_name)
