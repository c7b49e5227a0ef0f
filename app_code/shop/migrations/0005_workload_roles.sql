-- One login role per workload, named as the infrastructure names it (components/lambda_code.py
-- `database_user`, the ECS services' PGUSER). On Aurora each role is granted rds_iam, so it logs in
-- with an IAM token only (no password exists). Each role gets just the tables its code touches.
DO $$
DECLARE
    workload text;
BEGIN
    FOREACH workload IN ARRAY ARRAY['order_api', 'storefront', 'admin', 'fulfillment', 'email',
                                    'analytics', 'recommendations', 'outbox_relay',
                                    'abandoned_carts', 'sales_rollup', 'checkout_recovery']
    LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = workload) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', workload);
        END IF;
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
            EXECUTE format('GRANT rds_iam TO %I', workload);
        END IF;
    END LOOP;
END
$$;

-- Checkout: prices the cart, records the payment attempt, writes the order and its outbox row.
GRANT SELECT ON products, customers TO order_api, checkout_recovery;
GRANT SELECT, INSERT, UPDATE ON checkouts, payment_attempts TO order_api, checkout_recovery;
GRANT SELECT, INSERT ON orders, order_items TO order_api, checkout_recovery;
GRANT SELECT, INSERT, UPDATE ON outbox TO order_api, checkout_recovery;

GRANT SELECT ON products TO storefront;
GRANT SELECT, INSERT, UPDATE ON products TO admin;
GRANT SELECT ON customers, orders, order_items TO admin;

GRANT SELECT, UPDATE ON outbox TO outbox_relay;
GRANT SELECT, INSERT ON outbox TO abandoned_carts;
GRANT SELECT ON orders, order_items TO sales_rollup;
GRANT SELECT, INSERT, UPDATE, DELETE ON daily_sales TO sales_rollup;

GRANT SELECT, INSERT, UPDATE ON fulfillment_requests TO fulfillment;
GRANT SELECT ON customers TO email;
GRANT SELECT, INSERT, UPDATE ON email_log TO email;
GRANT SELECT, INSERT ON analytics_events TO analytics;
GRANT SELECT, INSERT, UPDATE, DELETE ON co_purchases, co_purchase_events TO recommendations;
