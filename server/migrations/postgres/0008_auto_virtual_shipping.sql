-- shipping.auto_virtual: each paid order uploaded as virtual goods by the reconciler,
-- found from the order's own state (paid, nothing uploaded, not refused), so a payment
-- recorded by any path is never missed and the payment statement stays as it is.

-- Until when an instance holds the order's automatic upload; a failed try (WeChat
-- unreachable) is tried again once it passes.
ALTER TABLE orders ADD COLUMN shipping_auto_until BIGINT;
-- Why WeChat refused the automatic upload: not tried again (staff upload by hand,
-- which clears it).
ALTER TABLE orders ADD COLUMN shipping_error TEXT;
CREATE INDEX orders_shipping_owed ON orders (paid_at)
    WHERE status = 'paid' AND shipping_status IS NULL AND shipping_error IS NULL;
