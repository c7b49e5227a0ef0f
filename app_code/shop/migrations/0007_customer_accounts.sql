-- Customer accounts with passwordless sign-in (docs/accounts.md): a shopper asks for a link, the
-- shop emails a single-use 256-bit token (only its SHA-256 is stored here), and redeeming it signs
-- the shopper in, creating the customer on first use. The answer to "send me a link" never depends
-- on whether the address has an account, so nothing here can tell an attacker who is a customer.
CREATE TABLE sign_in_links (
    token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    email      text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    guest_id   text,          -- the guest session that asked: its cart joins the account's
    cart_id    text,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (expires_at > created_at)
);
-- Throttling counts an address's recent links; expired rows are swept by the link writer.
CREATE INDEX sign_in_links_by_email ON sign_in_links (email, created_at);
CREATE INDEX sign_in_links_by_expiry ON sign_in_links (expires_at);

-- The account's cart, so a later sign-in (another device, a guest cart to merge) finds it.
ALTER TABLE customers
    ADD COLUMN cart_id           text,
    ADD COLUMN last_signed_in_at timestamptz;
-- One account per address whatever its case (sign-in stores addresses in lower case).
CREATE UNIQUE INDEX customers_email_lower ON customers (lower(email));

-- The order API signs shoppers in (its JSON routes and the account pages it serves).
GRANT SELECT, INSERT ON customers TO order_api;
GRANT UPDATE (cart_id, last_signed_in_at) ON customers TO order_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_links TO order_api;
