"""Anti-pattern: a managed Microsoft AD whose admin password is written in the program."""

import pulumi_aws as aws

aws.directoryservice.Directory("corp", name="corp.shop.example.com", type="MicrosoftAD", edition="Standard",
                               password="Corp-Directory-2026!",
                               vpc_settings={"vpc_id": "vpc-0shop", "subnet_ids": ["subnet-0a", "subnet-0b"]})
