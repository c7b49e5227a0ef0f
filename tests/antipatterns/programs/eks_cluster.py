"""Anti-pattern: EKS "for Kubernetes-native credibility" when ECS Fargate handles the workload."""

import json

import pulumi_aws as aws

cluster_role = aws.iam.Role("shop-k8s", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "eks.amazonaws.com"}}]}))
aws.iam.RolePolicyAttachment("shop-k8s-cluster", role=cluster_role.name,
                             policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")
cluster = aws.eks.Cluster("shop-k8s", role_arn=cluster_role.arn, version="1.31",
                          vpc_config={"subnet_ids": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
                                      "endpoint_public_access": False})
node_role = aws.iam.Role("shop-nodes", assume_role_policy=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "ec2.amazonaws.com"}}]}))
aws.eks.NodeGroup("shop-nodes", cluster_name=cluster.name, node_role_arn=node_role.arn,
                  subnet_ids=["subnet-0a1b2c3d", "subnet-4e5f6a7b"], instance_types=["m7g.large"],
                  scaling_config={"desired_size": 3, "min_size": 3, "max_size": 12})
