//! The reconciler's work list of refunds not final yet: claimed in batches, and
//! rescheduled after WeChat answered or failed to (as `order_checks` for orders).

use sqlx::Row;

use super::{Backend, Store, StoreError};

impl Store {
    /// A check of a refund got no answer: retried at `retry_at` (None: given up on, off
    /// the work list; the refund stays as it is for an operator).
    pub async fn refund_check_failed(
        &self,
        out_refund_no: &str,
        failures: i64,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE refunds SET check_failures = $1, next_check_at = $2 \
             WHERE out_refund_no = $3 AND next_check_at IS NOT NULL",
        )
        .bind(failures)
        .bind(retry_at)
        .bind(out_refund_no)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// A check answered, the refund not final yet: asked again at `next_at`.
    pub async fn refund_check_answered(
        &self,
        out_refund_no: &str,
        next_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE refunds SET check_failures = 0, next_check_at = $1 \
             WHERE out_refund_no = $2 AND next_check_at IS NOT NULL",
        )
        .bind(next_at)
        .bind(out_refund_no)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Claims due refunds on the reconciler's work list (as `claim_due` for orders).
    pub async fn claim_due_refunds(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let rows = sqlx::query(&format!(
            "UPDATE refunds SET next_check_at = $1 WHERE out_refund_no IN ( \
               SELECT out_refund_no FROM refunds WHERE next_check_at IS NOT NULL \
               AND next_check_at <= $2 ORDER BY next_check_at LIMIT $3 {lock}) \
             RETURNING out_refund_no"
        ))
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.write_conn().await?)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}
