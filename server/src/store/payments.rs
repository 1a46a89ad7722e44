//! The exactly-once transition to `paid`: one transaction, a guarded update, and the
//! payment recorded under the WeChat transaction id (a primary key). Duplicates and
//! races cannot pay an order twice.

use sqlx::Row;

use super::{Store, StoreError};

/// A verified proof of payment (a notify or an orderquery SUCCESS), already checked
/// against the order's amount, appid and mch_id.
#[derive(Debug, Clone)]
pub struct Settlement<'a> {
    pub order_no: &'a str,
    pub transaction_id: &'a str,
    pub amount_fen: i64,
    pub appid: &'a str,
    pub mch_id: &'a str,
    pub time_end: &'a str,
    /// `notify` or `orderquery`.
    pub source: &'static str,
    /// The verified fields, as JSON, for the record.
    pub fields: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// This call moved the order to paid.
    Paid,
    /// It was already paid by this same transaction: a duplicate, nothing changed.
    AlreadyPaid,
    /// Refused, nothing changed (the reason is for logs and metrics).
    Refused(&'static str),
}

impl Store {
    pub async fn settle(&self, s: &Settlement<'_>) -> Result<SettleOutcome, StoreError> {
        let mut tx = self.pool().begin().await?;
        // The amount and ids are part of the guard too: a second line of defence.
        let moved = sqlx::query(
            "UPDATE orders SET status = 'paid', transaction_id = $1, paid_at = $2, time_end = $3, \
               updated_at = $2 \
             WHERE order_no = $4 AND status IN ('created', 'awaiting_payment') \
               AND amount_fen = $5 AND appid = $6 AND mch_id = $7",
        )
        .bind(s.transaction_id)
        .bind(s.now)
        .bind(s.time_end)
        .bind(s.order_no)
        .bind(s.amount_fen)
        .bind(s.appid)
        .bind(s.mch_id)
        .execute(&mut *tx)
        .await;
        let moved = match moved {
            Ok(done) => done.rows_affected(),
            // orders.transaction_id is UNIQUE: this transaction already paid another order.
            Err(e) if is_unique_violation(&e) => {
                tx.rollback().await?;
                return Ok(SettleOutcome::Refused(
                    "transaction_id already used by another order",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if moved == 1 {
            sqlx::query(
                "INSERT INTO payment_events (transaction_id, order_no, amount_fen, source, fields, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(s.transaction_id)
            .bind(s.order_no)
            .bind(s.amount_fen)
            .bind(s.source)
            .bind(s.fields)
            .bind(s.now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(SettleOutcome::Paid);
        }
        tx.rollback().await?;
        let row = sqlx::query("SELECT status, transaction_id FROM orders WHERE order_no = $1")
            .bind(s.order_no)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Ok(SettleOutcome::Refused("unknown order"));
        };
        let status: String = row.try_get(0)?;
        let paid_by: Option<String> = row.try_get(1)?;
        Ok(match (status.as_str(), paid_by) {
            ("paid", Some(tx_id)) if tx_id == s.transaction_id => SettleOutcome::AlreadyPaid,
            ("paid", _) => SettleOutcome::Refused("order already paid by another transaction"),
            ("closed", _) => SettleOutcome::Refused("order is closed"),
            ("failed", _) => SettleOutcome::Refused("order failed"),
            _ => SettleOutcome::Refused("amount, appid or mch_id differ from the order"),
        })
    }

    /// How many payment events an order has (tests and audits: must be 0 or 1).
    pub async fn payment_event_count(&self, order_no: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM payment_events WHERE order_no = $1")
            .bind(order_no)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get(0)?)
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
