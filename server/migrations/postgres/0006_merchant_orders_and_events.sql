-- Merchant integration: orders priced by the merchant's own backend (its reference and
-- attach, its own Idempotency-Keys), and the events outbox behind webhooks and the
-- events API.

-- The merchant's own order id: unique per merchant, searchable.
ALTER TABLE orders ADD COLUMN reference TEXT;
-- Sent to WeChat as `attach` and echoed in its query and notify.
ALTER TABLE orders ADD COLUMN attach TEXT;
CREATE UNIQUE INDEX orders_by_reference ON orders (mch_id, reference)
    WHERE reference IS NOT NULL;

-- Idempotency-Keys of the admin API's order creation: scoped to the merchant (its
-- backend), not to a user, so a retry for another openid is still the same call.
CREATE TABLE merchant_idempotency_keys (
    mch_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_no TEXT NOT NULL REFERENCES orders (order_no),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (mch_id, idempotency_key)
);
CREATE INDEX merchant_idempotency_keys_age ON merchant_idempotency_keys (created_at);

-- The outbox: one row per money movement, written in the same transaction as the change
-- that causes it (no change without its event, no event without its change). `seq`
-- orders the events API's cursor; `id` is the webhook-id, the same on every retry.
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    order_no TEXT,
    out_refund_no TEXT,
    -- What this event adds to its order's or refund's fields (JSON), as of the change.
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- none: no webhook endpoint when it happened; pending: owed (next_attempt_at says
    -- when); delivered: a 2xx came back; failed: the retry schedule ran out.
    delivery TEXT NOT NULL CHECK (delivery IN ('none', 'pending', 'delivered', 'failed')),
    -- Attempts since it was last (re)scheduled: the retry schedule's position.
    attempts BIGINT NOT NULL DEFAULT 0,
    -- The delivery work list: due now, or leased by an instance until then.
    next_attempt_at BIGINT,
    delivered_at BIGINT,
    -- The writing transaction: the events API lists an event only once every
    -- transaction that might still add a smaller seq has ended, so a cursor never skips
    -- one committed late (SQLite has one writer at a time and needs none).
    txid xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX events_due ON events (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
-- No index by type or order: each would be one more write on every notify (measured:
-- BENCHMARKS.md); a typed page reads the seq index from its cursor on.
CREATE INDEX events_owed ON events (created_at) WHERE delivery = 'pending';

-- Every delivery attempt: when, how long, what came back (a short excerpt only).
CREATE TABLE event_attempts (
    event_id TEXT NOT NULL REFERENCES events (id),
    attempt BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT,
    response_excerpt TEXT
);
CREATE INDEX event_attempts_by_event ON event_attempts (event_id, started_at);
