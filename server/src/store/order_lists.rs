//! Orders as an operator lists them (by shown status, late or needing attention), and
//! as `/metrics` counts them.

use sqlx::Row;

use super::orders::{ORDER_COLUMNS, OrderStatus, order_row};
use super::{OrderRow, Store, StoreError};

/// Which orders an operator lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderFilter<'a> {
    /// A status as shown (`display_status`), or None for all.
    pub status: Option<&'static str>,
    pub late_payment: Option<bool>,
    pub needs_attention: Option<bool>,
    /// The merchant's own order id.
    pub reference: Option<&'a str>,
    /// A shipping status as shown (`SHIPPING_STATUSES`), and whether shipping is on.
    pub shipping_status: Option<&'static str>,
    pub shipping_enabled: bool,
    /// One merchant's orders only (a merchant's admin token).
    pub mch_id: Option<&'a str>,
    pub limit: i64,
}

/// The SQL condition of a shown status (fixed text, never user input).
fn status_condition(status: &str) -> Option<&'static str> {
    Some(match status {
        "refunded" => "status = 'paid' AND refunded_fen >= amount_fen",
        "partially_refunded" => {
            "status = 'paid' AND refunded_fen > 0 AND refunded_fen < amount_fen"
        }
        "paid" => "status = 'paid' AND refunded_fen = 0",
        "created" => "status = 'created'",
        "awaiting_payment" => "status = 'awaiting_payment'",
        "closed" => "status = 'closed'",
        "failed" => "status = 'failed'",
        _ => return None,
    })
}

/// The shown statuses an operator may filter by.
pub const DISPLAY_STATUSES: [&str; 7] = [
    "created",
    "awaiting_payment",
    "paid",
    "partially_refunded",
    "refunded",
    "closed",
    "failed",
];

impl Store {
    /// Orders for an operator, newest first.
    pub async fn list_orders(&self, filter: &OrderFilter<'_>) -> Result<Vec<OrderRow>, StoreError> {
        let mut conditions: Vec<&str> = Vec::new();
        if let Some(condition) = filter.status.and_then(status_condition) {
            conditions.push(condition);
        }
        if let Some(condition) = filter
            .shipping_status
            .and_then(|s| super::shipping::shipping_condition(s, filter.shipping_enabled))
        {
            conditions.push(condition);
        }
        match filter.late_payment {
            Some(true) => conditions.push("late_payment = 1"),
            Some(false) => conditions.push("late_payment = 0"),
            None => {}
        }
        match filter.needs_attention {
            Some(true) => conditions.push("needs_attention = 1"),
            Some(false) => conditions.push("needs_attention = 0"),
            None => {}
        }
        if filter.reference.is_some() {
            // Bound as $2: `orders_by_reference` finds it.
            conditions.push("reference = $2");
        }
        // Bound next: $3 after a reference, else $2.
        if filter.mch_id.is_some() {
            conditions.push(if filter.reference.is_some() {
                "mch_id = $3"
            } else {
                "mch_id = $2"
            });
        }
        let filter_sql = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders {filter_sql} \
             ORDER BY created_at DESC, order_no DESC LIMIT $1"
        );
        let query = sqlx::query(&sql).bind(filter.limit);
        let query = match filter.reference {
            Some(reference) => query.bind(reference),
            None => query,
        };
        let rows = match filter.mch_id {
            Some(mch_id) => query.bind(mch_id),
            None => query,
        }
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(order_row).collect()
    }

    /// Orders by status, and how many need an operator's attention.
    pub async fn count_orders_by_status(&self) -> Result<OrderCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*), CAST(SUM(needs_attention) AS BIGINT) FROM orders GROUP BY status",
        )
        .fetch_all(self.pool())
        .await?;
        let mut counts = OrderCounts::default();
        for r in &rows {
            let status: String = r.try_get(0)?;
            let count: i64 = r.try_get(1)?;
            let attention: Option<i64> = r.try_get(2)?;
            let status = OrderStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown order status {status}")))?;
            counts.by_status.push((status, count));
            counts.needing_attention += attention.unwrap_or(0);
        }
        Ok(counts)
    }
}

/// What `/metrics` shows of the orders table.
#[derive(Debug, Clone, Default)]
pub struct OrderCounts {
    pub by_status: Vec<(OrderStatus, i64)>,
    pub needing_attention: i64,
}
