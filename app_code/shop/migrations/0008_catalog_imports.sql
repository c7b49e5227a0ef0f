-- Catalog imports (docs/admin.md): one row per accepted file, so staff can see what was imported,
-- by whom, and what it changed. A file is applied in one transaction with its audit rows and
-- `product.updated` outbox rows; a rejected file writes nothing, not even here.
CREATE TABLE catalog_imports (
    import_id   uuid PRIMARY KEY,
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    actor       text NOT NULL CHECK (length(actor) BETWEEN 1 AND 320),
    source      text NOT NULL CHECK (source IN ('api', 'cli')),
    rows        integer NOT NULL CHECK (rows >= 0),
    created     integer NOT NULL CHECK (created >= 0),
    updated     integer NOT NULL CHECK (updated >= 0),
    unchanged   integer NOT NULL CHECK (unchanged >= 0),
    imported_at timestamptz NOT NULL DEFAULT now(),
    CHECK (created + updated + unchanged = rows)
);
CREATE INDEX catalog_imports_recent ON catalog_imports (imported_at);

GRANT SELECT, INSERT ON catalog_imports TO admin;
-- The admin reads the audit trail it writes (catalog_audit: SELECT, INSERT since 0006).
