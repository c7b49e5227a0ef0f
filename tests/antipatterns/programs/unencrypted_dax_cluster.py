"""Anti-pattern: a DAX cluster in front of the carts table without server-side encryption."""

import pulumi_aws as aws

aws.dax.Cluster("carts-cache", cluster_name="carts-cache", node_type="dax.r5.large", replication_factor=3,
                iam_role_arn="arn:aws:iam::123456789012:role/dax-carts")
