-- Money is never lost: late and double payments are recorded and flagged, an order keeps
-- the exact unifiedorder it was first sent, and the reconciler has an explicit work list
-- with backoff.

-- The order was paid while it was not awaiting payment here (closed, failed, created),
-- or the payment was found only after it had been refunded at WeChat: fulfil or refund.
ALTER TABLE orders ADD COLUMN late_payment INTEGER NOT NULL DEFAULT 0;
-- A second, different WeChat transaction paid this (already paid) order: refund one.
ALTER TABLE orders ADD COLUMN double_payment INTEGER NOT NULL DEFAULT 0;
-- The business fields of the first unifiedorder (JSON), re-sent byte for byte on every
-- refresh. NULL only for orders created before this migration.
ALTER TABLE orders ADD COLUMN prepay_request TEXT;
-- The reconciler's work list: when to ask WeChat about this order next. NULL: nothing to
-- ask (settled, or given up on).
ALTER TABLE orders ADD COLUMN next_check_at INTEGER;
-- Consecutive checks that got no answer from WeChat (for the backoff).
ALTER TABLE orders ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0;
-- The reconciler gave up on this order after too many failed checks: an operator looks.
ALTER TABLE orders ADD COLUMN needs_attention INTEGER NOT NULL DEFAULT 0;

UPDATE orders SET next_check_at = last_checked_at
    WHERE status IN ('created', 'awaiting_payment');

DROP INDEX orders_pending;
CREATE INDEX orders_due ON orders (next_check_at) WHERE next_check_at IS NOT NULL;

-- payment: paid an order awaiting payment; late: see orders.late_payment; extra: a
-- second transaction for an order already paid (orders.double_payment).
ALTER TABLE payment_events ADD COLUMN kind TEXT NOT NULL DEFAULT 'payment'
    CHECK (kind IN ('payment', 'late', 'extra'));
CREATE INDEX payment_events_by_order ON payment_events (order_no);

-- Housekeeping deletes expired sessions and old idempotency keys; single-session logins
-- delete a user's other sessions.
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

-- Facts about the database itself (e.g. that `serve --sandbox` created it).
CREATE TABLE wxpay_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
