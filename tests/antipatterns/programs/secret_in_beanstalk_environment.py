"""Anti-pattern: an Elastic Beanstalk environment with the mail password in its environment."""

import pulumi_aws as aws

app = aws.elasticbeanstalk.Application("legacy-admin")
aws.elasticbeanstalk.Environment("legacy-admin", application=app.name,
                                 solution_stack_name="64bit Amazon Linux 2023 v4.3.0 running Python 3.11",
                                 settings=[{"namespace": "aws:elasticbeanstalk:application:environment",
                                            "name": "SMTP_PASSWORD", "value": "smtp-Relay-2026-pw"},
                                           {"namespace": "aws:elasticbeanstalk:environment",
                                            "name": "LoadBalancerType", "value": "application"}])
