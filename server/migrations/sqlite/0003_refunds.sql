-- Refunds: their own records and states; an order's refunds never exceed what was paid,
-- whatever runs concurrently (the hold is taken by one guarded UPDATE of the order).

-- What the order's refunds hold: every refund not closed (pending, processing, abnormal,
-- succeeded). Never more than amount_fen.
ALTER TABLE orders ADD COLUMN refund_held_fen INTEGER NOT NULL DEFAULT 0;
-- What WeChat has refunded (succeeded refunds).
ALTER TABLE orders ADD COLUMN refunded_fen INTEGER NOT NULL DEFAULT 0;

CREATE TABLE refunds (
    -- Ours, sent to WeChat: the same value replays the same refund there.
    out_refund_no TEXT PRIMARY KEY,
    order_no TEXT NOT NULL REFERENCES orders (order_no),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    reason TEXT,
    -- pending: not yet accepted by WeChat (the identical request is sent again);
    -- processing: accepted; succeeded, closed: final; abnormal: WeChat could not pay it
    -- out (not final: it is asked again).
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'processing', 'succeeded', 'closed', 'abnormal')),
    -- The request as first sent (JSON), re-sent byte for byte.
    request TEXT NOT NULL,
    refund_id TEXT,
    failure TEXT,
    idempotency_key TEXT,
    request_hash TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    finished_at INTEGER,
    -- The reconciler's work list for refunds (NULL: final).
    next_check_at INTEGER,
    check_failures INTEGER NOT NULL DEFAULT 0,
    UNIQUE (order_no, idempotency_key)
);
CREATE INDEX refunds_by_order ON refunds (order_no);
CREATE INDEX refunds_due ON refunds (next_check_at) WHERE next_check_at IS NOT NULL;

-- A refund result as it arrived (notify or query), for the record.
CREATE TABLE refund_events (
    out_refund_no TEXT NOT NULL REFERENCES refunds (out_refund_no),
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    fields TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX refund_events_by_refund ON refund_events (out_refund_no);
