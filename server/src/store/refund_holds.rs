//! Recording a refund: one transaction that inserts it pending and takes its hold on the
//! paid order (`amount <= amount_fen - refund_held_fen`), or says why it cannot.

use sqlx::Row;

use super::refunds::{HoldOutcome, NewRefund};
use super::{Store, StoreError};

impl Store {
    /// Records a pending refund and takes its hold on the order, or says why not.
    pub async fn create_refund(&self, refund: &NewRefund<'_>) -> Result<HoldOutcome, StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        if let Some((key, _)) = refund.idempotency {
            let used = sqlx::query(
                "SELECT out_refund_no, request_hash FROM refunds \
                 WHERE order_no = $1 AND idempotency_key = $2",
            )
            .bind(refund.order_no)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = used {
                return Ok(HoldOutcome::KeyUsed {
                    out_refund_no: row.try_get(0)?,
                    request_hash: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                });
            }
        }
        let held = sqlx::query(
            "UPDATE orders SET refund_held_fen = refund_held_fen + $1, updated_at = $2 \
             WHERE order_no = $3 AND status = 'paid' AND $1 <= amount_fen - refund_held_fen",
        )
        .bind(refund.amount_fen)
        .bind(refund.now)
        .bind(refund.order_no)
        .execute(&mut *tx)
        .await?;
        if held.rows_affected() == 0 {
            let row = sqlx::query(
                "SELECT status, amount_fen - refund_held_fen FROM orders WHERE order_no = $1",
            )
            .bind(refund.order_no)
            .fetch_optional(&mut *tx)
            .await?;
            return Ok(match row {
                Some(row) if row.try_get::<String, _>(0)? == "paid" => HoldOutcome::TooMuch {
                    refundable: row.try_get(1)?,
                },
                _ => HoldOutcome::NotPaid,
            });
        }
        let inserted = sqlx::query(
            "INSERT INTO refunds (out_refund_no, order_no, amount_fen, reason, status, request, \
               idempotency_key, request_hash, created_at, updated_at, next_check_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $8, $9)",
        )
        .bind(refund.out_refund_no)
        .bind(refund.order_no)
        .bind(refund.amount_fen)
        .bind(refund.reason)
        .bind(refund.request)
        .bind(refund.idempotency.map(|(key, _)| key))
        .bind(refund.idempotency.map(|(_, hash)| hash))
        .bind(refund.now)
        .bind(refund.next_check_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(HoldOutcome::Created)
            }
            // The same key raced in from another request: its refund stands, this one
            // (and its hold) rolls back.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                drop(tx);
                drop(conn);
                let key = refund.idempotency.map(|(key, _)| key).unwrap_or_default();
                let row = sqlx::query(
                    "SELECT out_refund_no, request_hash FROM refunds \
                     WHERE order_no = $1 AND idempotency_key = $2",
                )
                .bind(refund.order_no)
                .bind(key)
                .fetch_one(self.pool())
                .await?;
                Ok(HoldOutcome::KeyUsed {
                    out_refund_no: row.try_get(0)?,
                    request_hash: row.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}
