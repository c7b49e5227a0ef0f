"""Anti-pattern: an integration's token kept in a resource tag, readable by anyone who may list tags."""

import pulumi_aws as aws

aws.ecr.Repository("storefront", image_tag_mutability="IMMUTABLE",
                   tags={"team": "web", "deploy-token": "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"})
