-- Reconciliation against WeChat's daily bills. A bill is not signed (v3 checks its SHA1
-- against a signed hash; v2 has nothing): it only ever triggers signed queries, and
-- differences are reported, never applied.

-- Each day's bill as downloaded, so a day reconciled again compares the same bill.
CREATE TABLE bills (
    -- YYYY-MM-DD, Beijing time (WeChat's day).
    bill_date TEXT PRIMARY KEY,
    -- The API it came through: v2 (downloadbill) or v3 (tradebill).
    api TEXT NOT NULL,
    -- The bill's text; empty when WeChat has no bill that day (no trades).
    body TEXT NOT NULL,
    downloaded_at BIGINT NOT NULL
);

-- What reconciling a day found, one row per difference. A finding stays when a later run
-- no longer sees it (a payment settled through a signed query, say), so a report is the
-- same however often its day is reconciled.
CREATE TABLE reconciliation_findings (
    bill_date TEXT NOT NULL REFERENCES bills (bill_date),
    -- paid_missing_here, unknown_order, amount_differs, transaction_differs,
    -- paid_missing_at_wechat, refund_unknown_here, refund_differs,
    -- refund_missing_at_wechat
    kind TEXT NOT NULL,
    -- out_trade_no or out_refund_no.
    subject TEXT NOT NULL,
    wechat_fen BIGINT,
    our_fen BIGINT,
    detail TEXT NOT NULL,
    -- reported; for paid_missing_here: settled, not_paid_at_wechat, query_failed.
    resolution TEXT NOT NULL,
    found_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (bill_date, kind, subject)
);
