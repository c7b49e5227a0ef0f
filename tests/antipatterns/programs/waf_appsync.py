"""Anti-pattern: a public AppSync GraphQL API for the catalog without a web ACL."""

import pulumi_aws as aws

aws.appsync.GraphQLApi("catalog-graphql", authentication_type="API_KEY",
                       schema="type Query { product(sku: ID!): String }")
