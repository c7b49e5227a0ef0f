-- The read path (docs/storefront.md). "Bought together" is counted here (co_purchases, 0004) and
-- served from OpenSearch: each SKU's recommendation document carries a revision that grows with every
-- change of its counts, written as the document's external version, so a slow consumer can never
-- overwrite a newer list with an older one.
CREATE TABLE co_purchase_revisions (
    sku      text PRIMARY KEY,
    revision bigint NOT NULL CHECK (revision > 0)
);

-- The full reindex job reads the catalog and the counts (through the proxy, as its own user).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'search_reindex') THEN
        CREATE ROLE search_reindex LOGIN;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO search_reindex;
    END IF;
END
$$;

GRANT SELECT ON products, categories, co_purchases, co_purchase_revisions TO search_reindex;
GRANT SELECT, INSERT, UPDATE, DELETE ON co_purchase_revisions TO recommendations;
