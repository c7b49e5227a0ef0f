"""Anti-pattern: a Glue job with the export bucket's access key in its default arguments."""

import pulumi_aws as aws

aws.glue.Job("sales-export", role_arn="arn:aws:iam::123456789012:role/glue-sales-export",
             command={"script_location": "s3://shop-glue-scripts/sales_export.py"},
             default_arguments={"--partner_secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
