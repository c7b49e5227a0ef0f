-- Transactional outbox: written in the order's transaction, published by the relay.
CREATE TABLE outbox (
    event_id     uuid PRIMARY KEY,
    source       text NOT NULL,
    detail_type  text NOT NULL,
    detail       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
