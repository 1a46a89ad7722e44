-- wxpay schema, SQLite. Times are Unix milliseconds; money is integer fen.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    openid TEXT NOT NULL UNIQUE,
    unionid TEXT,
    -- Never leaves the server.
    session_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    -- Hex SHA-256 of the bearer token: a stolen database does not yield tokens.
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price_fen INTEGER NOT NULL CHECK (price_fen > 0),
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE orders (
    order_no TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    openid TEXT NOT NULL,
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
    description TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('created', 'awaiting_payment', 'paid', 'closed', 'failed')),
    sign_type TEXT NOT NULL,
    appid TEXT NOT NULL,
    mch_id TEXT NOT NULL,
    prepay_id TEXT,
    prepay_expires_at INTEGER,
    transaction_id TEXT UNIQUE,
    paid_at INTEGER,
    time_end TEXT,
    failure TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_checked_at INTEGER NOT NULL
);

-- The reconciler's work list: only unsettled orders, oldest check first.
CREATE INDEX orders_pending ON orders (last_checked_at)
    WHERE status IN ('created', 'awaiting_payment');
CREATE INDEX orders_by_user ON orders (user_id, created_at);

CREATE TABLE order_items (
    order_no TEXT NOT NULL REFERENCES orders (order_no),
    line INTEGER NOT NULL,
    sku TEXT NOT NULL,
    name TEXT NOT NULL,
    unit_price_fen INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    PRIMARY KEY (order_no, line)
);

-- One row per WeChat transaction: the unique key that makes "paid" happen once.
CREATE TABLE payment_events (
    transaction_id TEXT PRIMARY KEY,
    order_no TEXT NOT NULL REFERENCES orders (order_no),
    amount_fen INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('notify', 'orderquery')),
    fields TEXT NOT NULL,
    received_at INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
    user_id INTEGER NOT NULL REFERENCES users (id),
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_no TEXT NOT NULL REFERENCES orders (order_no),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
