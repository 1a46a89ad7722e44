-- The order-shipping service: what was uploaded for a paid order and how far WeChat
-- took it, and the message pushes received (each recorded once).

-- NULL: nothing recorded yet (shown as `pending` for a paid order when shipping is
-- enabled, else `not_required`); then uploaded, confirmed, settled.
ALTER TABLE orders ADD COLUMN shipping_status TEXT
    CHECK (shipping_status IN ('uploaded', 'confirmed', 'settled'));
-- The last upload WeChat accepted (JSON: logistics type, parcels, upload_time).
ALTER TABLE orders ADD COLUMN shipping TEXT;
ALTER TABLE orders ADD COLUMN shipping_updated_at INTEGER;
-- How many uploads WeChat accepted: the second is the one correction it allows.
ALTER TABLE orders ADD COLUMN shipping_uploads INTEGER NOT NULL DEFAULT 0;
-- WeChat's last reminder that it waits for this order's shipping.
ALTER TABLE orders ADD COLUMN shipping_reminded_at INTEGER;

-- Each push once: WeChat resends a push it got no answer to, and anyone may replay one.
CREATE TABLE mp_pushes (
    dedup_key TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    order_no TEXT,
    received_at INTEGER NOT NULL,
    -- The message as decrypted (JSON or XML, as WeChat sent it).
    message TEXT NOT NULL
);
CREATE INDEX mp_pushes_age ON mp_pushes (received_at);
