"""Anti-pattern: a Glue JDBC connection with the database password in its connection properties."""

import pulumi_aws as aws

aws.glue.Connection("orders-replica", connection_properties={
    "JDBC_CONNECTION_URL": "jdbc:postgresql://orders-replica.internal:5432/shop",
    "USERNAME": "analytics", "PASSWORD": "an4lytics-Replica-2026"})
