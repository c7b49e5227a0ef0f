"""Anti-pattern: an App Runner service with its search API key in the runtime environment."""

import pulumi_aws as aws

service = aws.apprunner.Service("search-proxy", service_name="search-proxy", source_configuration={
    "auto_deployments_enabled": False,
    "image_repository": {"image_identifier": "public.ecr.aws/shop/search-proxy:1.0",
                         "image_repository_type": "ECR_PUBLIC",
                         "image_configuration": {"port": "8080", "runtime_environment_variables": {
                             "SEARCH_API_KEY": "srch-live-0a9b8c7d6e5f"}}}},
    network_configuration={"ingress_configuration": {"is_publicly_accessible": False}})
