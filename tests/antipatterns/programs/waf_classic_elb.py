"""Anti-pattern: a Classic Load Balancer (no WAF possible) in front of the storefront, open beyond
CloudFront."""

import pulumi_aws as aws

group = aws.ec2.SecurityGroup("legacy-elb", vpc_id="vpc-0shop", ingress=[
    {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["203.0.113.0/24"]}])
aws.elb.LoadBalancer("legacy-storefront", subnets=["subnet-0public-a", "subnet-0public-b"],
                     security_groups=[group.id], listeners=[{
                         "instance_port": 8080, "instance_protocol": "http", "lb_port": 443,
                         "lb_protocol": "https",
                         "ssl_certificate_id": "arn:aws:acm:us-east-1:123456789012:certificate/5f0c1f5e"}])
