//! Bills and what reconciling them found (the 0005 migration).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::events::{EventType, NewEvent};
use super::orders::{ORDER_COLUMNS, order_row};
use super::refunds::{REFUND_COLUMNS, refund_row};
use super::{OrderRow, RefundRow, Store, StoreError};

/// A day's bill as first downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBill {
    /// `v2` or `v3`.
    pub api: String,
    /// Empty: WeChat had no bill that day.
    pub body: String,
    pub downloaded_at: i64,
}

/// One difference between a bill and the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: String,
    pub subject: String,
    pub wechat_fen: Option<i64>,
    pub our_fen: Option<i64>,
    pub detail: String,
    pub resolution: String,
    pub found_at: i64,
    pub updated_at: i64,
}

/// The resolution a later run may still change (the signed query had no answer).
pub const RETRY_RESOLUTION: &str = "query_failed";

/// A succeeded refund and the fields WeChat's result carried (for its success time).
#[derive(Debug, Clone)]
pub struct SucceededRefund {
    pub refund: RefundRow,
    pub fields: Option<String>,
}

fn finding(r: &AnyRow) -> Result<Finding, StoreError> {
    Ok(Finding {
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        wechat_fen: r.try_get("wechat_fen")?,
        our_fen: r.try_get("our_fen")?,
        detail: r.try_get("detail")?,
        resolution: r.try_get("resolution")?,
        found_at: r.try_get("found_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn bill(&self, bill_date: &str) -> Result<Option<StoredBill>, StoreError> {
        let row = sqlx::query("SELECT api, body, downloaded_at FROM bills WHERE bill_date = $1")
            .bind(bill_date)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(StoredBill {
                api: r.try_get("api")?,
                body: r.try_get("body")?,
                downloaded_at: r.try_get("downloaded_at")?,
            })
        })
        .transpose()
    }

    /// Keeps the first bill stored for a day (another instance may have stored it
    /// meanwhile) and returns the one stored.
    pub async fn save_bill(
        &self,
        bill_date: &str,
        bill: &StoredBill,
    ) -> Result<StoredBill, StoreError> {
        sqlx::query(
            "INSERT INTO bills (bill_date, api, body, downloaded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (bill_date) DO NOTHING",
        )
        .bind(bill_date)
        .bind(&bill.api)
        .bind(&bill.body)
        .bind(bill.downloaded_at)
        .execute(&mut *self.write_conn().await?)
        .await?;
        self.bill(bill_date)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("the bill of {bill_date} was not kept")))
    }

    /// Paid orders recorded in `[from, to)` (Unix ms, our clock).
    pub async fn orders_paid_between(
        &self,
        mch_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders \
             WHERE status = 'paid' AND paid_at >= $1 AND paid_at < $2 AND mch_id = $3 \
             ORDER BY order_no"
        ))
        .bind(from)
        .bind(to)
        .bind(mch_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order_row).collect()
    }

    /// `mch_id`'s refunds that succeeded here in `[from, to)`, with their success result's
    /// fields.
    pub async fn refunds_succeeded_between(
        &self,
        mch_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<SucceededRefund>, StoreError> {
        let columns = REFUND_COLUMNS
            .split(", ")
            .map(|c| format!("r.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns}, \
               (SELECT MIN(e.fields) FROM refund_events e \
                WHERE e.out_refund_no = r.out_refund_no AND e.status = 'succeeded') AS fields \
             FROM refunds r \
             WHERE r.status = 'succeeded' AND r.finished_at >= $1 AND r.finished_at < $2 \
               AND EXISTS (SELECT 1 FROM orders o WHERE o.order_no = r.order_no AND o.mch_id = $3) \
             ORDER BY r.out_refund_no"
        ))
        .bind(from)
        .bind(to)
        .bind(mch_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SucceededRefund {
                    refund: refund_row(r)?,
                    fields: r.try_get("fields")?,
                })
            })
            .collect()
    }

    /// Records a finding once. An existing one keeps its first words, except that a
    /// `query_failed` one takes the new resolution. Returns whether it is new.
    pub async fn record_finding(
        &self,
        bill_date: &str,
        finding: &Finding,
    ) -> Result<bool, StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO reconciliation_findings (bill_date, kind, subject, wechat_fen, our_fen, \
               detail, resolution, found_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (bill_date, kind, subject) DO NOTHING RETURNING kind",
        )
        .bind(bill_date)
        .bind(&finding.kind)
        .bind(&finding.subject)
        .bind(finding.wechat_fen)
        .bind(finding.our_fen)
        .bind(&finding.detail)
        .bind(&finding.resolution)
        .bind(finding.found_at)
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_some() {
            let event = NewEvent {
                kind: EventType::ReconciliationFinding,
                order_no: None,
                out_refund_no: None,
                data: serde_json::json!({
                    "bill_date": bill_date,
                    "kind": finding.kind,
                    "subject": finding.subject,
                    "wechat_fen": finding.wechat_fen,
                    "our_fen": finding.our_fen,
                    "detail": finding.detail,
                    "resolution": finding.resolution,
                })
                .to_string(),
            };
            self.write_event(&mut tx, &event, finding.found_at).await?;
            tx.commit().await?;
            self.events_written();
            return Ok(true);
        }
        sqlx::query(
            "UPDATE reconciliation_findings SET resolution = $1, detail = $2, updated_at = $3 \
             WHERE bill_date = $4 AND kind = $5 AND subject = $6 AND resolution = $7",
        )
        .bind(&finding.resolution)
        .bind(&finding.detail)
        .bind(finding.found_at)
        .bind(bill_date)
        .bind(&finding.kind)
        .bind(&finding.subject)
        .bind(RETRY_RESOLUTION)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(false)
    }

    /// A day's findings, in a stable order.
    pub async fn findings(&self, bill_date: &str) -> Result<Vec<Finding>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, subject, wechat_fen, our_fen, detail, resolution, found_at, updated_at \
             FROM reconciliation_findings WHERE bill_date = $1 ORDER BY kind, subject",
        )
        .bind(bill_date)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(finding).collect()
    }
}
