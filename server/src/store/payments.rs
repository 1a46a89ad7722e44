//! The exactly-once transition to `paid`: one transaction, a guarded update, and the
//! payment recorded under the WeChat transaction id (a primary key). Duplicates and
//! races cannot pay an order twice.

use sqlx::Row;

use super::{Backend, Store, StoreError};

/// A verified proof of payment (a notify or an orderquery SUCCESS). Its amount, appid,
/// mch_id and sign type are guards of the update: it pays the order only if they all
/// equal the order's.
#[derive(Debug, Clone)]
pub struct Settlement<'a> {
    pub order_no: &'a str,
    pub transaction_id: &'a str,
    pub amount_fen: i64,
    pub appid: &'a str,
    pub mch_id: &'a str,
    /// The sign type the proof was verified with: it must be the order's.
    pub sign_type: &'a str,
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

impl SettleOutcome {
    /// Why a settlement that did not move the order did not, from the order's status and
    /// the transaction that paid it (if any).
    pub fn for_order(status: &str, paid_by: Option<&str>, transaction_id: &str) -> Self {
        match (status, paid_by) {
            ("paid", Some(tx_id)) if tx_id == transaction_id => SettleOutcome::AlreadyPaid,
            ("paid", _) => SettleOutcome::Refused("order already paid by another transaction"),
            ("closed", _) => SettleOutcome::Refused("order is closed"),
            ("failed", _) => SettleOutcome::Refused("order failed"),
            _ => SettleOutcome::Refused("amount, appid, mch_id or sign type differ from the order"),
        }
    }
}

impl Store {
    /// Settles and says why when it did not pay (reading the order's status for that).
    pub async fn settle(&self, s: &Settlement<'_>) -> Result<SettleOutcome, StoreError> {
        if let Some(outcome) = self.try_settle(s).await? {
            return Ok(outcome);
        }
        let row = sqlx::query("SELECT status, transaction_id FROM orders WHERE order_no = $1")
            .bind(s.order_no)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Ok(SettleOutcome::Refused("unknown order"));
        };
        let status: String = row.try_get(0)?;
        let paid_by: Option<String> = row.try_get(1)?;
        Ok(SettleOutcome::for_order(
            &status,
            paid_by.as_deref(),
            s.transaction_id,
        ))
    }

    /// The guarded write alone: `Some` when it decided (paid, or the transaction id is
    /// taken by another order), `None` when the guards did not match and the order's
    /// state says why ([`SettleOutcome::for_order`]). For callers that read the order
    /// anyway, so it is read once.
    pub async fn try_settle(
        &self,
        s: &Settlement<'_>,
    ) -> Result<Option<SettleOutcome>, StoreError> {
        let moved = match self.backend() {
            Backend::Postgres => self.settle_in_one_statement(s).await,
            Backend::Sqlite => self.settle_in_a_transaction(s).await,
        };
        match moved {
            Ok(true) => Ok(Some(SettleOutcome::Paid)),
            Ok(false) => Ok(None),
            // orders.transaction_id and payment_events' key are unique: this transaction
            // already paid another order.
            Err(e) if is_unique_violation(&e) => Ok(Some(SettleOutcome::Refused(
                "transaction_id already used by another order",
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// PostgreSQL: the guarded update and the payment record in one statement (one round
    /// trip, atomic on its own) instead of BEGIN, UPDATE, INSERT, COMMIT.
    async fn settle_in_one_statement(&self, s: &Settlement<'_>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "WITH moved AS ( \
               UPDATE orders SET status = 'paid', transaction_id = $1, paid_at = $2, time_end = $3, \
                 updated_at = $2 \
               WHERE order_no = $4 AND status IN ('created', 'awaiting_payment') \
                 AND amount_fen = $5 AND appid = $6 AND mch_id = $7 AND sign_type = $10 \
               RETURNING order_no) \
             INSERT INTO payment_events (transaction_id, order_no, amount_fen, source, fields, received_at) \
             SELECT $1, order_no, $5, $8, $9, $2 FROM moved",
        )
        .bind(s.transaction_id)
        .bind(s.now)
        .bind(s.time_end)
        .bind(s.order_no)
        .bind(s.amount_fen)
        .bind(s.appid)
        .bind(s.mch_id)
        .bind(s.source)
        .bind(s.fields)
        .bind(s.sign_type)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// SQLite: one transaction (the database is in-process; there is no round trip to save).
    async fn settle_in_a_transaction(&self, s: &Settlement<'_>) -> Result<bool, sqlx::Error> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        // The amount and ids are part of the guard too: a second line of defence.
        let moved = sqlx::query(
            "UPDATE orders SET status = 'paid', transaction_id = $1, paid_at = $2, time_end = $3, \
               updated_at = $2 \
             WHERE order_no = $4 AND status IN ('created', 'awaiting_payment') \
               AND amount_fen = $5 AND appid = $6 AND mch_id = $7 AND sign_type = $8",
        )
        .bind(s.transaction_id)
        .bind(s.now)
        .bind(s.time_end)
        .bind(s.order_no)
        .bind(s.amount_fen)
        .bind(s.appid)
        .bind(s.mch_id)
        .bind(s.sign_type)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
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
        Ok(true)
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
