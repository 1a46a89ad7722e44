//! Orders and their lines. Every state change is a guarded `UPDATE ... WHERE status IN
//! (...)`, so concurrent actors (notifies, the reconciler on several instances, the
//! user) cannot move an order backwards or pay it twice.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Store, StoreError};

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

/// States an open order is in (for guarded updates).
const OPEN: &str = "('created', 'awaiting_payment')";

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
}

const ORDER_COLUMNS: &str = "order_no, user_id, openid, amount_fen, description, status, \
    sign_type, appid, mch_id, prepay_id, prepay_expires_at, transaction_id, paid_at, time_end, \
    failure, created_at, expires_at, last_checked_at";

fn order_row(r: &AnyRow) -> Result<OrderRow, StoreError> {
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
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub items: &'a [OrderItem],
    /// (key, hash of the request) when the client sent an Idempotency-Key.
    pub idempotency: Option<(&'a str, &'a str)>,
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
}

impl Store {
    /// Inserts the order, its lines and the idempotency key in one transaction; if the
    /// key was already used, nothing is inserted.
    pub async fn insert_order(&self, order: &NewOrder<'_>) -> Result<InsertOutcome, StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO orders (order_no, user_id, openid, amount_fen, description, status, \
               sign_type, appid, mch_id, created_at, updated_at, expires_at, last_checked_at) \
             VALUES ($1, $2, $3, $4, $5, 'created', $6, $7, $8, $9, $9, $10, $9)",
        )
        .bind(order.order_no)
        .bind(order.user_id)
        .bind(order.openid)
        .bind(order.amount_fen)
        .bind(order.description)
        .bind(order.sign_type)
        .bind(order.appid)
        .bind(order.mch_id)
        .bind(order.now)
        .bind(order.expires_at)
        .execute(&mut *tx)
        .await?;
        for (line, item) in (1i64..).zip(order.items) {
            sqlx::query(
                "INSERT INTO order_items (order_no, line, sku, name, unit_price_fen, quantity) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(order.order_no)
            .bind(line)
            .bind(&item.sku)
            .bind(&item.name)
            .bind(item.unit_price_fen)
            .bind(item.quantity)
            .execute(&mut *tx)
            .await?;
        }
        if let Some((key, request_hash)) = order.idempotency {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, order_no, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, idempotency_key) DO NOTHING",
            )
            .bind(order.user_id)
            .bind(key)
            .bind(request_hash)
            .bind(order.order_no)
            .bind(order.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                tx.rollback().await?;
                // On the same connection: waiting for another one while holding the
                // write turn could wait forever.
                let row = sqlx::query(
                    "SELECT request_hash, order_no FROM idempotency_keys \
                     WHERE user_id = $1 AND idempotency_key = $2",
                )
                .bind(order.user_id)
                .bind(key)
                .fetch_one(&mut *conn)
                .await?;
                return Ok(InsertOutcome::KeyUsed {
                    request_hash: row.try_get(0)?,
                    order_no: row.try_get(1)?,
                });
            }
        }
        tx.commit().await?;
        Ok(InsertOutcome::Inserted)
    }

    pub async fn order(&self, order_no: &str) -> Result<Option<OrderRow>, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE order_no = $1");
        let row = sqlx::query(&sql)
            .bind(order_no)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(order_row).transpose()
    }

    pub async fn order_items(&self, order_no: &str) -> Result<Vec<OrderItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT sku, name, unit_price_fen, quantity FROM order_items WHERE order_no = $1 ORDER BY line",
        )
        .bind(order_no)
        .fetch_all(self.pool())
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
        let row = sqlx::query(&sql)
            .bind(prepay_id)
            .bind(prepay_expires_at)
            .bind(now)
            .bind(order_no)
            .fetch_optional(&mut *self.write_conn().await?)
            .await?;
        row.as_ref().map(order_row).transpose()
    }

    pub async fn finish_unpaid(
        &self,
        order_no: &str,
        status: OrderStatus,
        failure: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE orders SET status = $1, failure = $2, updated_at = $3 \
             WHERE order_no = $4 AND status IN {OPEN}"
        );
        let done = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(failure)
            .bind(now)
            .bind(order_no)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_checked(&self, order_no: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE orders SET last_checked_at = $1 WHERE order_no = $2")
            .bind(now)
            .bind(order_no)
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Claims up to `limit` open orders not checked since `cutoff` by stamping them
    /// checked now. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several instances claim
    /// disjoint batches at the same time; SQLite has a single writer.
    pub async fn claim_unsettled(
        &self,
        cutoff: i64,
        now: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE orders SET last_checked_at = $1 WHERE order_no IN ( \
               SELECT order_no FROM orders WHERE status IN {OPEN} AND last_checked_at < $2 \
               ORDER BY last_checked_at LIMIT $3 {lock}) \
             RETURNING order_no"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(cutoff)
            .bind(limit)
            .fetch_all(&mut *self.write_conn().await?)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub async fn count_orders_by_status(&self) -> Result<Vec<(OrderStatus, i64)>, StoreError> {
        let rows = sqlx::query("SELECT status, COUNT(*) FROM orders GROUP BY status")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get(0)?;
                let count: i64 = r.try_get(1)?;
                let status = OrderStatus::parse(&status)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown order status {status}")))?;
                Ok((status, count))
            })
            .collect()
    }
}
