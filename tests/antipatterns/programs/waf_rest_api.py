"""Anti-pattern: the order API as a public API Gateway REST API stage without a web ACL."""

import pulumi
import pulumi_aws as aws

api = aws.apigateway.RestApi("orders-api")
resource = aws.apigateway.Resource("orders", rest_api=api.id, parent_id=api.root_resource_id,
                                   path_part="orders")
method = aws.apigateway.Method("orders-get", rest_api=api.id, resource_id=resource.id, http_method="GET",
                               authorization="AWS_IAM")
integration = aws.apigateway.Integration("orders-get", rest_api=api.id, resource_id=resource.id,
                                         http_method="GET", type="MOCK")
deployment = aws.apigateway.Deployment("orders-api", rest_api=api.id,
                                       opts=pulumi.ResourceOptions(depends_on=[integration]))
aws.apigateway.Stage("orders-v1", rest_api=api.id, deployment=deployment.id, stage_name="v1")
