"""Anti-pattern: a service on App Runner, publicly accessible, without a web ACL."""

import pulumi_aws as aws

aws.apprunner.Service("recommendations", service_name="recommendations", source_configuration={
    "auto_deployments_enabled": False,
    "image_repository": {"image_identifier": "public.ecr.aws/shop/recommendations:1.4.2",
                         "image_repository_type": "ECR_PUBLIC",
                         "image_configuration": {"port": "8080"}}})
