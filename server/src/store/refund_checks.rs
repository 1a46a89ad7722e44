//! The reconciler's work list of refunds not final yet: claimed in batches, and
//! rescheduled after WeChat answered or failed to (as `order_checks` for orders).

use super::order_checks::work_list_claim;
use super::{Store, StoreError};

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
        let statement =
            work_list_claim(self.backend(), "refunds", "out_refund_no", "next_check_at");
        self.claim_work(&statement, now, lease_until, limit).await
    }
}
