-- A checkout is one idempotency key: its priced snapshot, its state and the response it settled on.
CREATE TABLE checkouts (
    idempotency_key  text PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 8 AND 128),
    request_hash     text NOT NULL,
    customer_id      uuid NOT NULL REFERENCES customers,
    cart_id          text NOT NULL,
    order_id         uuid NOT NULL UNIQUE,
    currency         char(3) NOT NULL,
    total_cents      bigint NOT NULL CHECK (total_cents > 0),
    items            jsonb NOT NULL,
    shipping         jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'completed', 'declined')),
    response_status  integer,
    response_body    jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (response_status IS NULL))
);
-- One live checkout per cart: a second key for the same cart is refused unless the first was declined.
CREATE UNIQUE INDEX checkouts_one_live_per_cart ON checkouts (cart_id) WHERE status <> 'declined';
CREATE INDEX checkouts_pending ON checkouts (updated_at) WHERE status = 'pending';

-- One payment attempt per checkout. Only provider ids are stored, never card data.
CREATE TABLE payment_attempts (
    attempt_id       uuid PRIMARY KEY,
    idempotency_key  text NOT NULL UNIQUE REFERENCES checkouts,
    provider         text NOT NULL,
    provider_key     text NOT NULL UNIQUE,
    amount_cents     bigint NOT NULL CHECK (amount_cents > 0),
    currency         char(3) NOT NULL,
    intent_id        text UNIQUE,
    status           text NOT NULL DEFAULT 'started'
                     CHECK (status IN ('started', 'succeeded', 'declined', 'unknown')),
    decline_code     text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    order_id             uuid PRIMARY KEY,
    customer_id          uuid NOT NULL REFERENCES customers,
    idempotency_key      text NOT NULL UNIQUE REFERENCES checkouts,
    status               text NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'fulfilled', 'cancelled')),
    currency             char(3) NOT NULL,
    total_cents          bigint NOT NULL CHECK (total_cents > 0),
    payment_provider     text NOT NULL,
    payment_intent_id    text NOT NULL UNIQUE,
    shipping_country     char(2) NOT NULL,
    shipping_postal_code text NOT NULL,
    placed_at            timestamptz NOT NULL
);
CREATE INDEX orders_placed_at ON orders (placed_at);

CREATE TABLE order_items (
    order_id         uuid NOT NULL REFERENCES orders ON DELETE CASCADE,
    line_no          integer NOT NULL CHECK (line_no > 0),
    sku              text NOT NULL REFERENCES products,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (order_id, line_no)
);
