"""Anti-pattern: a DMS source endpoint with the database password in the program."""

import pulumi_aws as aws

aws.dms.Endpoint("orders-source", endpoint_id="orders-source", endpoint_type="source",
                 engine_name="postgres", server_name="orders.internal", port=5432, database_name="shop",
                 username="dms", password="dms-Source-2026-pw", ssl_mode="verify-full")
