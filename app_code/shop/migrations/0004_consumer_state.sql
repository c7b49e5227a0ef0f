-- What the consumers and jobs write. Each effect is keyed so that a replayed event changes nothing.
CREATE TABLE fulfillment_requests (
    order_id     uuid PRIMARY KEY REFERENCES orders,
    event_id     uuid NOT NULL UNIQUE,
    status       text NOT NULL DEFAULT 'requested' CHECK (status IN ('requested', 'shipped')),
    items        jsonb NOT NULL,
    shipping     jsonb NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE analytics_events (
    event_id    uuid PRIMARY KEY,
    detail_type text NOT NULL,
    occurred_at timestamptz NOT NULL,
    total_cents bigint,
    currency    char(3),
    detail      jsonb NOT NULL
);

-- Recommendations: how often two SKUs were bought together, fed by order.placed.
CREATE TABLE co_purchases (
    sku         text NOT NULL,
    other_sku   text NOT NULL,
    orders      bigint NOT NULL CHECK (orders > 0),
    PRIMARY KEY (sku, other_sku)
);
CREATE TABLE co_purchase_events (
    event_id uuid PRIMARY KEY
);

CREATE TABLE email_log (
    event_id   uuid PRIMARY KEY,
    kind       text NOT NULL,
    message_id text NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);

-- Nightly sales roll-up, one row per UTC day and currency.
CREATE TABLE daily_sales (
    day         date NOT NULL,
    currency    char(3) NOT NULL,
    orders      bigint NOT NULL,
    units       bigint NOT NULL,
    total_cents bigint NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, currency)
);
