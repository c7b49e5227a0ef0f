"""Anti-pattern: the network as a hand-written CloudFormation template embedded in the program."""

import pulumi_aws as aws

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
      EnableDnsSupport: true
  PrivateA:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.0.1.0/24
      AvailabilityZone: us-east-1a
"""

aws.cloudformation.Stack("network", template_body=TEMPLATE, on_failure="ROLLBACK")
