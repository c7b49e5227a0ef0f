-- Customers and the admin-edited product catalog. Amounts are integer minor units.
CREATE TABLE customers (
    customer_id  uuid PRIMARY KEY,
    email        text NOT NULL UNIQUE CHECK (position('@' IN email) > 1),
    display_name text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    sku         text PRIMARY KEY CHECK (sku ~ '^[A-Z0-9][A-Z0-9-]{0,63}$'),
    name        text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    currency    char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
