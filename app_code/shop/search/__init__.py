"""Search and recommendations on OpenSearch: the client, the indexes behind aliases, the queries."""
