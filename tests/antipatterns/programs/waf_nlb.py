"""Anti-pattern: a Network Load Balancer puts the web service on the internet; it cannot carry a
WAF web ACL and accepts the whole internet, so nothing filters web attacks."""

import pulumi_aws as aws

web = aws.ec2.SecurityGroup("storefront-nlb", vpc_id="vpc-0shop", ingress=[
    {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["10.0.0.0/8"]}])
aws.vpc.SecurityGroupIngressRule("storefront-nlb-https", security_group_id=web.id, ip_protocol="tcp",
                                 from_port=443, to_port=443, cidr_ipv4="198.51.100.0/24")
aws.lb.LoadBalancer("storefront-nlb", load_balancer_type="network",
                    subnets=["subnet-0public-a", "subnet-0public-b"], security_groups=[web.id])
