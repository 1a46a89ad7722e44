//! The order-shipping service's records: an order's shipping as WeChat accepted it and
//! how far WeChat took it (forward only: uploaded, confirmed, settled), and each message
//! push once, recorded with what it changed and its event in one transaction.

use super::events::NewEvent;
use super::{OrderRow, OrderStatus, Store, StoreError};

/// An order's shipping as shown (`shipping_status`).
pub const SHIPPING_STATUSES: [&str; 5] = [
    "not_required",
    "pending",
    "uploaded",
    "confirmed",
    "settled",
];

/// A recorded status's place in the order they happen (0: none yet), as SQL over `expr`:
/// a change only ever moves forward.
fn rank(expr: &str) -> String {
    format!(
        "COALESCE(CASE {expr} WHEN 'uploaded' THEN 1 WHEN 'confirmed' THEN 2 \
         WHEN 'settled' THEN 3 END, 0)"
    )
}

impl OrderRow {
    /// Where its shipping stands: a paid order without a record is `pending` when the
    /// Mini Program is trade managed (`shipping.enabled`), else `not_required`.
    pub fn shipping_status(&self, enabled: bool) -> &'static str {
        match self.shipping_status.as_deref() {
            Some("uploaded") => "uploaded",
            Some("confirmed") => "confirmed",
            Some("settled") => "settled",
            _ if enabled && self.status == OrderStatus::Paid => "pending",
            _ => "not_required",
        }
    }
}

/// The SQL condition of a shown shipping status (fixed text, never user input).
pub(super) fn shipping_condition(status: &str, enabled: bool) -> Option<&'static str> {
    Some(match (status, enabled) {
        ("uploaded", _) => "shipping_status = 'uploaded'",
        ("confirmed", _) => "shipping_status = 'confirmed'",
        ("settled", _) => "shipping_status = 'settled'",
        ("pending", true) => "shipping_status IS NULL AND status = 'paid'",
        ("pending", false) => "1 = 0",
        ("not_required", true) => "shipping_status IS NULL AND status <> 'paid'",
        ("not_required", false) => "shipping_status IS NULL",
        _ => return None,
    })
}

/// A message push as received (decrypted and verified).
#[derive(Debug, Clone)]
pub struct NewPush<'a> {
    /// The same message again (WeChat's resend, or a replay) has the same key.
    pub dedup_key: &'a str,
    pub event: &'a str,
    pub order_no: Option<&'a str>,
    pub message: &'a str,
}

/// What a push changes, as WeChat's own view of the order confirmed it.
#[derive(Debug, Clone, Default)]
pub struct ShippingChange {
    /// Move the shipping forward to this (uploaded, confirmed, settled).
    pub(crate) to: Option<&'static str>,
    /// WeChat reminded us the order waits for its shipping.
    pub(crate) reminded: bool,
    /// Written when the change happens (for `to`: only when it moved).
    pub(crate) event: Option<NewEvent>,
}

impl Store {
    /// Records an upload WeChat accepted. False: the order is not paid, or its receipt
    /// is already confirmed (nothing can change it then).
    pub async fn record_shipping_upload(
        &self,
        order_no: &str,
        shipping: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orders SET shipping_status = 'uploaded', shipping = $1, \
               shipping_updated_at = $2, shipping_uploads = shipping_uploads + 1, shipping_error = NULL, \
               updated_at = $2 \
             WHERE order_no = $3 AND status = 'paid' \
               AND (shipping_status IS NULL OR shipping_status = 'uploaded')",
        )
        .bind(shipping)
        .bind(now)
        .bind(order_no)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a push once, with its change and event, in one transaction. False: this
    /// push was already recorded (nothing changes again).
    pub async fn record_push(
        &self,
        push: &NewPush<'_>,
        change: &ShippingChange,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO mp_pushes (dedup_key, event, order_no, received_at, message) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(push.dedup_key)
        .bind(push.event)
        .bind(push.order_no)
        .bind(now)
        .bind(push.message)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            return Ok(false);
        }
        let mut changed = change.to.is_none();
        if let (Some(to), Some(order_no)) = (change.to, push.order_no) {
            let sql = format!(
                "UPDATE orders SET shipping_status = $1, shipping_updated_at = $2, \
                   updated_at = $2 WHERE order_no = $3 AND status = 'paid' AND {} < {}",
                rank("shipping_status"),
                rank("$1")
            );
            changed = sqlx::query(&sql)
                .bind(to)
                .bind(now)
                .bind(order_no)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        }
        if let (true, Some(order_no)) = (change.reminded, push.order_no) {
            sqlx::query("UPDATE orders SET shipping_reminded_at = $1 WHERE order_no = $2")
                .bind(now)
                .bind(order_no)
                .execute(&mut *tx)
                .await?;
        }
        if let (true, Some(event)) = (changed, &change.event) {
            self.write_event(&mut tx, event, now).await?;
        }
        tx.commit().await?;
        if change.event.is_some() && changed {
            self.events_written();
        }
        Ok(true)
    }

    /// Forgets pushes received before `before` (housekeeping): by then their timestamps
    /// are refused anyway, so a replay cannot get past the record it no longer finds.
    pub async fn delete_old_pushes(&self, before: i64) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM mp_pushes WHERE received_at < $1")
            .bind(before)
            .execute(&mut *self.write_conn().await?)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}
