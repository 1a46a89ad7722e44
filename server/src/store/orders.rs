//! Orders and their lines. Every state change is a guarded `UPDATE ... WHERE status IN
//! (...)`, so concurrent actors (notifies, the reconciler on several instances, the
//! user) cannot move an order backwards or pay it twice.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::events::{EventType, NewEvent};
use super::{Store, StoreError};

/// The order states: the same strings in the API, the database and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Created,
    AwaitingPayment,
    Paid,
    Closed,
    Failed,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Created,
        OrderStatus::AwaitingPayment,
        OrderStatus::Paid,
        OrderStatus::Closed,
        OrderStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Closed => "closed",
            OrderStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
    }

    /// Not settled yet: WeChat may still take (or have taken) the payment.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::Created | OrderStatus::AwaitingPayment)
    }
}

impl OrderRow {
    /// The status as shown: a paid order some of whose money WeChat refunded is
    /// `partially_refunded`, all of it `refunded`.
    pub fn display_status(&self) -> &'static str {
        match self.status {
            OrderStatus::Paid if self.refunded_fen >= self.amount_fen => "refunded",
            OrderStatus::Paid if self.refunded_fen > 0 => "partially_refunded",
            status => status.as_str(),
        }
    }
}

/// States an open order is in (for guarded updates).
const OPEN: &str = "('created', 'awaiting_payment')";

/// States of an order that is over unpaid here, but whose trade WeChat may still hold
/// open (then the reconciler closes it there).
const OVER_UNPAID: &str = "('closed', 'failed')";

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub order_no: String,
    pub user_id: i64,
    pub openid: String,
    pub amount_fen: i64,
    pub description: String,
    pub status: OrderStatus,
    pub sign_type: String,
    pub appid: String,
    pub mch_id: String,
    pub prepay_id: Option<String>,
    pub prepay_expires_at: Option<i64>,
    pub transaction_id: Option<String>,
    pub paid_at: Option<i64>,
    pub time_end: Option<String>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_checked_at: i64,
    /// Paid while it was not awaiting payment here (see the 0002 migration).
    pub late_payment: bool,
    /// A second WeChat transaction paid it too.
    pub double_payment: bool,
    /// The first unifiedorder's business fields (JSON), re-sent on every refresh.
    pub prepay_request: Option<String>,
    /// When the reconciler asks WeChat next (None: not on its work list).
    pub next_check_at: Option<i64>,
    pub check_failures: i64,
    pub needs_attention: bool,
    /// What the order's refunds hold (all but closed ones): never above `amount_fen`.
    pub refund_held_fen: i64,
    /// What WeChat has refunded (succeeded refunds).
    pub refunded_fen: i64,
    /// The merchant's own order id (orders its backend created), unique per merchant.
    pub reference: Option<String>,
    /// Sent to WeChat as `attach` (echoed in its query and notify).
    pub attach: Option<String>,
    /// Shipping as far as recorded: None (nothing yet), uploaded, confirmed, settled.
    pub shipping_status: Option<String>,
    /// The last upload WeChat accepted (JSON).
    pub shipping: Option<String>,
    pub shipping_uploads: i64,
    pub shipping_reminded_at: Option<i64>,
    /// Why WeChat refused the automatic upload (`shipping.auto_virtual`).
    pub shipping_error: Option<String>,
}

pub(super) const ORDER_COLUMNS: &str = "order_no, user_id, openid, amount_fen, description, status, \
    sign_type, appid, mch_id, prepay_id, prepay_expires_at, transaction_id, paid_at, time_end, \
    failure, created_at, expires_at, last_checked_at, late_payment, double_payment, \
    prepay_request, next_check_at, check_failures, needs_attention, refund_held_fen, refunded_fen, \
    reference, attach, shipping_status, shipping, shipping_uploads, \
    shipping_reminded_at, shipping_error";

fn flag(r: &AnyRow, column: &str) -> Result<bool, StoreError> {
    Ok(r.try_get::<i64, _>(column)? != 0)
}

pub(super) fn order_row(r: &AnyRow) -> Result<OrderRow, StoreError> {
    let status: String = r.try_get("status")?;
    Ok(OrderRow {
        order_no: r.try_get("order_no")?,
        user_id: r.try_get("user_id")?,
        openid: r.try_get("openid")?,
        amount_fen: r.try_get("amount_fen")?,
        description: r.try_get("description")?,
        status: OrderStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown order status {status}")))?,
        sign_type: r.try_get("sign_type")?,
        appid: r.try_get("appid")?,
        mch_id: r.try_get("mch_id")?,
        prepay_id: r.try_get("prepay_id")?,
        prepay_expires_at: r.try_get("prepay_expires_at")?,
        transaction_id: r.try_get("transaction_id")?,
        paid_at: r.try_get("paid_at")?,
        time_end: r.try_get("time_end")?,
        failure: r.try_get("failure")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        last_checked_at: r.try_get("last_checked_at")?,
        late_payment: flag(r, "late_payment")?,
        double_payment: flag(r, "double_payment")?,
        prepay_request: r.try_get("prepay_request")?,
        next_check_at: r.try_get("next_check_at")?,
        check_failures: r.try_get("check_failures")?,
        needs_attention: flag(r, "needs_attention")?,
        refund_held_fen: r.try_get("refund_held_fen")?,
        refunded_fen: r.try_get("refunded_fen")?,
        reference: r.try_get("reference")?,
        attach: r.try_get("attach")?,
        shipping_status: r.try_get("shipping_status")?,
        shipping: r.try_get("shipping")?,
        shipping_uploads: r.try_get("shipping_uploads")?,
        shipping_reminded_at: r.try_get("shipping_reminded_at")?,
        shipping_error: r.try_get("shipping_error")?,
    })
}

/// One line of an order: what, at what unit price, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderItem {
    pub sku: String,
    pub name: String,
    pub unit_price_fen: i64,
    pub quantity: i64,
}

/// An order about to be inserted (status `created`).
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    pub order_no: &'a str,
    pub user_id: i64,
    pub openid: &'a str,
    pub amount_fen: i64,
    pub description: &'a str,
    pub sign_type: &'a str,
    pub appid: &'a str,
    pub mch_id: &'a str,
    pub now: i64,
    pub expires_at: i64,
    /// The unifiedorder's business fields (JSON), kept for identical refreshes.
    pub prepay_request: &'a str,
    /// The reconciler's first look.
    pub next_check_at: i64,
    pub items: &'a [OrderItem],
    /// (key, hash of the request) when the client sent an Idempotency-Key.
    pub idempotency: Option<(&'a str, &'a str)>,
    /// Whose keys `idempotency` is among.
    pub key_scope: KeyScope,
    pub reference: Option<&'a str>,
    pub attach: Option<&'a str>,
}

/// Whose Idempotency-Keys a key is among: the paying user's (`POST /v1/orders`), or the
/// merchant's (its backend's `POST /v1/admin/orders`, whatever the openid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyScope {
    User,
    Merchant,
}

impl NewOrder<'_> {
    /// The row as inserted (status `created`, nothing from WeChat yet), without reading
    /// it back.
    pub fn as_created_row(&self) -> OrderRow {
        OrderRow {
            order_no: self.order_no.to_owned(),
            user_id: self.user_id,
            openid: self.openid.to_owned(),
            amount_fen: self.amount_fen,
            description: self.description.to_owned(),
            status: OrderStatus::Created,
            sign_type: self.sign_type.to_owned(),
            appid: self.appid.to_owned(),
            mch_id: self.mch_id.to_owned(),
            prepay_id: None,
            prepay_expires_at: None,
            transaction_id: None,
            paid_at: None,
            time_end: None,
            failure: None,
            created_at: self.now,
            expires_at: self.expires_at,
            last_checked_at: self.now,
            late_payment: false,
            double_payment: false,
            prepay_request: Some(self.prepay_request.to_owned()),
            next_check_at: Some(self.next_check_at),
            check_failures: 0,
            needs_attention: false,
            refund_held_fen: 0,
            refunded_fen: 0,
            reference: self.reference.map(str::to_owned),
            attach: self.attach.map(str::to_owned),
            shipping_status: None,
            shipping: None,
            shipping_uploads: 0,
            shipping_reminded_at: None,
            shipping_error: None,
        }
    }
}

/// What inserting an order with an idempotency key found.
#[derive(Debug)]
pub enum InsertOutcome {
    Inserted,
    /// The key was used before: (request hash, order_no) of that first request.
    KeyUsed {
        request_hash: String,
        order_no: String,
    },
    /// Another order of this merchant has this reference (and the key is new).
    ReferenceUsed {
        order_no: String,
    },
}

impl Store {
    pub async fn order(&self, order_no: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_no = $1");
        let row = self
            .hot_read_optional(|| sqlx::query(&sql).bind(order_no))
            .await?;
        row.as_ref().map(order_row).transpose()
    }

    pub async fn order_items(&self, order_no: &str) -> Result<Vec<OrderItem>, StoreError> {
        let rows = self
            .hot_read(|| {
                sqlx::query(
                    "SELECT sku, name, unit_price_fen, quantity FROM order_items \
                     WHERE order_no = $1 ORDER BY line",
                )
                .bind(order_no)
            })
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OrderItem {
                    sku: r.try_get(0)?,
                    name: r.try_get(1)?,
                    unit_price_fen: r.try_get(2)?,
                    quantity: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Records a (new) prepay_id: the order now awaits payment. Returns the order as
    /// stored after the change (read in the same statement), or None if it is no longer
    /// open.
    pub async fn set_prepay(
        &self,
        order_no: &str,
        prepay_id: &str,
        prepay_expires_at: i64,
        now: i64,
    ) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!(
            "UPDATE orders SET status = 'awaiting_payment', prepay_id = $1, prepay_expires_at = $2, \
             updated_at = $3 WHERE order_no = $4 AND status IN {OPEN} RETURNING {ORDER_COLUMNS}"
        );
        let query = sqlx::query(&sql)
            .bind(prepay_id)
            .bind(prepay_expires_at)
            .bind(now)
            .bind(order_no);
        let row = self.hot_write_optional(query).await?;
        row.as_ref().map(order_row).transpose()
    }

    /// open -> closed or failed. The order leaves the reconciler's work list: WeChat
    /// agreed (closed there, or never had it). Returns whether this call moved it.
    pub async fn finish_unpaid(
        &self,
        order_no: &str,
        status: OrderStatus,
        failure: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE orders SET status = $1, failure = $2, updated_at = $3, next_check_at = NULL, \
               check_failures = 0 \
             WHERE order_no = $4 AND status IN {OPEN}"
        );
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(failure)
            .bind(now)
            .bind(order_no)
            .execute(&mut *tx)
            .await?;
        let moved = done.rows_affected() == 1;
        let kind = match status {
            OrderStatus::Failed => EventType::OrderFailed,
            _ => EventType::OrderClosed,
        };
        if moved {
            let event = NewEvent {
                kind,
                order_no: Some(order_no.to_owned()),
                out_refund_no: None,
                data: serde_json::json!({ "failure": failure }).to_string(),
            };
            self.write_event(&mut tx, &event, now).await?;
        }
        tx.commit().await?;
        if moved {
            self.events_written();
        }
        Ok(moved)
    }

    /// A closed or failed order whose trade WeChat may hold open (a unifiedorder that
    /// answered after the order was closed here): back on the work list, due now, so the
    /// reconciler closes it at WeChat (or finds it paid).
    pub async fn schedule_wechat_close(&self, order_no: &str, now: i64) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE orders SET next_check_at = $1, check_failures = 0 \
             WHERE order_no = $2 AND status IN {OVER_UNPAID}"
        );
        sqlx::query(&sql)
            .bind(now)
            .bind(order_no)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// WeChat's trade of a closed or failed order is closed (or never existed): off the
    /// work list.
    pub async fn wechat_closed(&self, order_no: &str, now: i64) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE orders SET next_check_at = NULL, check_failures = 0, last_checked_at = $1 \
             WHERE order_no = $2 AND status IN {OVER_UNPAID}"
        );
        sqlx::query(&sql)
            .bind(now)
            .bind(order_no)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }
}
