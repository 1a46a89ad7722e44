//! The reconciler's work list of orders: claimed in batches (one instance each), or one
//! at a time by a reader who found it stale, and rescheduled after WeChat answered or
//! failed to.

use sqlx::Row;

use super::events::{EventType, NewEvent};
use super::{Backend, Store, StoreError};
use crate::base::clock::now_ms;

impl Store {
    /// Claims one order's check with WeChat for a reader who found it stale: only the
    /// caller whose view of `last_checked_at` is still current wins, so concurrent
    /// readers (on any instance) cause one orderquery, not one each.
    pub async fn claim_check(
        &self,
        order_no: &str,
        seen_last_checked_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE orders SET last_checked_at = $1 WHERE order_no = $2 AND last_checked_at = $3",
        )
        .bind(now)
        .bind(order_no)
        .bind(seen_last_checked_at)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims up to `limit` orders that are due on the reconciler's work list, leasing
    /// each until `lease_until` (a crashed instance's claims come back then). On
    /// PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several instances claim disjoint
    /// batches at the same time; SQLite has a single writer.
    pub async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let statement = claim_due_statement(self.backend());
        self.claim_work(&statement, now, lease_until, limit).await
    }

    /// Runs a work list's claim (`work_list_claim`): the keys it leased until
    /// `lease_until`, at most `limit` of those due at `now`.
    pub(super) async fn claim_work(
        &self,
        statement: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(statement)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *self.write_conn().await?)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// WeChat answered a check: the next one is at `next_at` (if the order is still on
    /// the work list: an answer that settled or closed it took it off).
    pub async fn check_answered(
        &self,
        order_no: &str,
        now: i64,
        next_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE orders SET last_checked_at = $1, check_failures = 0, next_check_at = $2 \
             WHERE order_no = $3 AND next_check_at IS NOT NULL",
        )
        .bind(now)
        .bind(next_at)
        .bind(order_no)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// A check got no answer: the `failures`-th in a row. Retried at `retry_at`, or, when
    /// that is None, given up on: off the work list and flagged for an operator.
    pub async fn check_failed(
        &self,
        order_no: &str,
        failures: i64,
        retry_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        let moved = sqlx::query(
            "UPDATE orders SET check_failures = $1, next_check_at = $2, needs_attention = $3 \
             WHERE order_no = $4 AND next_check_at IS NOT NULL RETURNING status",
        )
        .bind(failures)
        .bind(retry_at)
        .bind(i64::from(retry_at.is_none()))
        .bind(order_no)
        .fetch_optional(&mut *tx)
        .await?;
        let gave_up = match (moved, retry_at) {
            (Some(row), None) => {
                let status: String = row.try_get(0)?;
                let event = NewEvent {
                    kind: EventType::OrderNeedsAttention,
                    order_no: Some(order_no.to_owned()),
                    out_refund_no: None,
                    data: serde_json::json!({
                        "status": status,
                        "check_failures": failures,
                    })
                    .to_string(),
                };
                self.write_event(&mut tx, &event, now_ms()).await?;
                true
            }
            _ => false,
        };
        tx.commit().await?;
        if gave_up {
            self.events_written();
        }
        Ok(())
    }
}

/// The reconciler's claim, as each backend runs it (the load driver explains the same
/// text): $1 lease_until, $2 now, $3 limit. The partial index `orders_due` holds exactly
/// the orders on the work list, so a pass costs log N whatever the history.
pub fn claim_due_statement(backend: Backend) -> String {
    work_list_claim(backend, "orders", "order_no", "next_check_at")
}

/// A work list's claim (orders, refunds or events: fixed names, never input): moves the
/// due rows' `due` column (`next_check_at`, `next_attempt_at`) to the lease and returns
/// their keys. On PostgreSQL concurrent claims skip each other's rows instead of waiting
/// for them.
pub(super) fn work_list_claim(backend: Backend, table: &str, key: &str, due: &str) -> String {
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE {table} SET {due} = $1 WHERE {key} IN ( \
           SELECT {key} FROM {table} WHERE {due} IS NOT NULL AND {due} <= $2 \
           ORDER BY {due} LIMIT $3 {lock}) \
         RETURNING {key}"
    )
}
