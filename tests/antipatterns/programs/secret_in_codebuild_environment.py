"""Anti-pattern: a CodeBuild project with a registry token as a PLAINTEXT environment variable."""

import pulumi_aws as aws

aws.codebuild.Project("images", service_role="arn:aws:iam::123456789012:role/codebuild-images",
                      artifacts={"type": "NO_ARTIFACTS"},
                      source={"type": "GITHUB", "location": "https://github.com/example/shop.git"},
                      environment={"compute_type": "BUILD_GENERAL1_SMALL",
                                   "image": "aws/codebuild/amazonlinux2-aarch64-standard:3.0",
                                   "type": "ARM_CONTAINER", "environment_variables": [
                                       {"name": "REGISTRY_TOKEN", "value": "reg-token-0123456789",
                                        "type": "PLAINTEXT"}]})
