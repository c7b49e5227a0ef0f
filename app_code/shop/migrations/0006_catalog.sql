-- The admin-edited catalog (docs/checkout.md, "Events" and "Data"): categories; products with a
-- description, a category, stock and a version for optimistic concurrency (every edit sets
-- version = version + 1 where version = the version the editor read, so a stale edit matches no
-- row); and an audit row per change. Each change also writes `product.updated` to the outbox in the
-- same transaction, with the product as it now is.
CREATE TABLE categories (
    slug       text PRIMARY KEY CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE products
    ADD COLUMN description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    ADD COLUMN category    text REFERENCES categories,
    ADD COLUMN stock       integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
    ADD COLUMN version     bigint NOT NULL DEFAULT 1 CHECK (version > 0),
    ADD COLUMN created_at  timestamptz NOT NULL DEFAULT now();
-- The storefront's listing: active products of a category, by name, then SKU (keyset pagination).
CREATE INDEX products_listing ON products (category, name, sku) WHERE active;

-- Who changed what, when, before and after (the product's row as JSON; NULL before a creation).
CREATE TABLE catalog_audit (
    audit_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku        text NOT NULL,
    version    bigint NOT NULL CHECK (version > 0),
    actor      text NOT NULL CHECK (length(actor) BETWEEN 1 AND 320),
    action     text NOT NULL CHECK (action IN ('create', 'update', 'import')),
    before     jsonb,
    after      jsonb NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sku, version)
);

-- The workload roles exist since 0005.
GRANT SELECT, INSERT, UPDATE ON categories TO admin;
GRANT SELECT, INSERT ON catalog_audit TO admin;
GRANT SELECT, INSERT ON outbox TO admin;
GRANT SELECT ON categories TO storefront;
