"""Anti-pattern: a launch template whose (base64) user data carries an AWS access key."""

import base64

import pulumi_aws as aws

script = "#!/bin/bash\naws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE\n/opt/worker/start.sh\n"
aws.ec2.LaunchTemplate("workers", image_id="ami-0abcdef1234567890", instance_type="c7g.large",
                       user_data=base64.b64encode(script.encode()).decode())
