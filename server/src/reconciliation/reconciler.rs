//! The reconciler: notifies can be late or lost, so it works through an explicit list
//! of orders to ask WeChat about (`orders.next_check_at`): open orders (SUCCESS settles
//! them through the same exactly-once path, expired unpaid ones are closed at WeChat)
//! and closed orders whose trade WeChat may still hold open (closed there, or recorded as
//! a late payment). A check WeChat does not answer is retried with a doubling pause; after
//! `reconcile_max_failures` in a row the order leaves the list and is flagged for an
//! operator, so no order is queried forever. Instances sharing PostgreSQL claim disjoint
//! batches (`FOR UPDATE SKIP LOCKED`). Refunds have their own list (`refunds.next_check_at`):
//! a pending one is sent again (the identical request), a processing or abnormal one is
//! asked about, with the same backoff. Beside that, housekeeping deletes expired sessions
//! and old idempotency keys, and yesterday is reconciled against WeChat's bill
//! (`reconciliation`).

use std::time::{Duration, Instant};

use crate::base::clock::now_ms;
use crate::payments;
use crate::refunds;
use crate::state::AppState;
use crate::store::{OrderRow, RefundRow, StoreError};

/// A claimed order is not claimed again for this long (a crashed instance's claims come
/// back after it); a finished check sets the real next time.
const CLAIM_LEASE_MS: i64 = 2 * 60 * 1000;

/// How often housekeeping runs.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);

/// How often the daily reconciliation looks whether yesterday is due (and retries a bill
/// WeChat is still making).
const DAILY_RECONCILIATION_EVERY: Duration = Duration::from_secs(10 * 60);

/// One pass: claims a batch of due orders and checks each. Returns how many were checked.
pub async fn pass(state: &AppState) -> Result<usize, StoreError> {
    let now = now_ms();
    let claimed = state
        .store
        .claim_due(
            now,
            now.saturating_add(CLAIM_LEASE_MS),
            i64::from(state.settings.orders.reconcile_batch),
        )
        .await?;
    for order_no in &claimed {
        let Some(order) = state.store.order(order_no).await? else {
            continue;
        };
        state.metrics.reconciler_checks.inc();
        check(state, &order).await?;
    }
    Ok(claimed.len())
}

/// One pass over due refunds. Returns how many were checked.
pub async fn refund_pass(state: &AppState) -> Result<usize, StoreError> {
    let now = now_ms();
    let claimed = state
        .store
        .claim_due_refunds(
            now,
            now.saturating_add(CLAIM_LEASE_MS),
            i64::from(state.settings.orders.reconcile_batch),
        )
        .await?;
    for out_refund_no in &claimed {
        let Some(refund) = state.store.refund(out_refund_no).await? else {
            continue;
        };
        state.metrics.reconciler_checks.inc();
        check_refund(state, &refund).await?;
    }
    Ok(claimed.len())
}

/// Sends or queries one refund and schedules (or ends) its next check.
async fn check_refund(state: &AppState, refund: &RefundRow) -> Result<(), StoreError> {
    let no = &refund.out_refund_no;
    match refunds::sync(state, refund).await {
        Ok(()) => {
            // Final results took it off the list; one still open is asked again later.
            let next = state.settings.orders.next_refund_check_at(now_ms());
            state.store.refund_check_answered(no, next).await
        }
        Err(error) => {
            let (failures, retry_at) = state
                .settings
                .orders
                .after_failure(now_ms(), refund.check_failures);
            if retry_at.is_none() {
                state.metrics.reconciler_gave_up.inc();
                tracing::error!(out_refund_no = %no, failures, error = %error.message, "reconciler: giving up on this refund; it needs an operator");
            } else {
                tracing::warn!(out_refund_no = %no, failures, error = %error.message, "reconciler: refund check failed, retrying later");
            }
            state
                .store
                .refund_check_failed(no, i64::from(failures), retry_at)
                .await
        }
    }
}

/// Checks one order with WeChat and schedules (or ends) its next check.
async fn check(state: &AppState, order: &OrderRow) -> Result<(), StoreError> {
    let settings = &state.settings.orders;
    match payments::sync_with_wechat(state, order).await {
        Ok(()) => {
            let now = now_ms();
            let next = settings.next_check_at(now, order.expires_at);
            state.store.check_answered(&order.order_no, now, next).await
        }
        Err(error) => {
            let (failures, retry_at) = settings.after_failure(now_ms(), order.check_failures);
            if retry_at.is_none() {
                state.metrics.reconciler_gave_up.inc();
                tracing::error!(
                    order_no = %order.order_no,
                    failures,
                    %error,
                    "reconciler: giving up on this order after repeated failures; it needs an operator"
                );
            } else {
                tracing::warn!(order_no = %order.order_no, failures, %error, "reconciler: check failed, retrying later");
            }
            state
                .store
                .check_failed(&order.order_no, i64::from(failures), retry_at)
                .await
        }
    }
}

/// Deletes expired sessions, idempotency keys, settled events older than their
/// retention, and message pushes past the replay window.
pub async fn housekeeping(state: &AppState) -> Result<u64, StoreError> {
    let now = now_ms();
    let ago = |secs: u64| {
        now.saturating_sub(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
    };
    let keys_before = ago(state.settings.orders.idempotency_key_ttl_secs);
    let deleted = state.store.housekeeping(now, keys_before).await?;
    let events_before = ago(state.settings.events.retention_days.saturating_mul(86_400));
    let events = state.store.delete_old_events(events_before).await?;
    // Twice the replay window: a push is refused by its timestamp before it is forgotten.
    let pushes_before = ago(state.settings.shipping.push_max_age_secs.saturating_mul(2));
    let pushes = state.store.delete_old_pushes(pushes_before).await?;
    Ok(deleted + events + pushes)
}

/// Runs passes forever, `reconcile_interval_ms` apart, and housekeeping every minute.
pub async fn run(state: AppState) {
    let interval = Duration::from_millis(state.settings.orders.reconcile_interval_ms.max(10));
    let mut last_housekeeping: Option<Instant> = None;
    let mut last_daily: Option<Instant> = None;
    loop {
        state.limits.forget_idle();
        match pass(&state).await {
            Ok(0) => {}
            Ok(checked) => tracing::info!(checked, "reconciler pass"),
            Err(error) => tracing::error!(%error, "reconciler pass failed"),
        }
        match refund_pass(&state).await {
            Ok(0) => {}
            Ok(checked) => tracing::info!(checked, "reconciler refund pass"),
            Err(error) => tracing::error!(%error, "reconciler refund pass failed"),
        }
        if state.settings.shipping.auto_virtual {
            match crate::mini_program::auto_virtual::upload_owed(&state).await {
                Ok(0) => {}
                Ok(uploaded) => tracing::info!(uploaded, "virtual goods shipping uploaded"),
                Err(error) => tracing::error!(%error, "virtual goods shipping pass failed"),
            }
        }
        if last_housekeeping.is_none_or(|at| at.elapsed() >= HOUSEKEEPING_EVERY) {
            last_housekeeping = Some(Instant::now());
            match housekeeping(&state).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(
                    deleted,
                    "housekeeping: expired sessions and idempotency keys deleted"
                ),
                Err(error) => tracing::error!(%error, "housekeeping failed"),
            }
        }
        if last_daily.is_none_or(|at| at.elapsed() >= DAILY_RECONCILIATION_EVERY) {
            last_daily = Some(Instant::now());
            if let Err(error) = crate::reconciliation::daily(&state).await {
                tracing::warn!(%error, "daily reconciliation: not done yet; tried again later");
            }
        }
        tokio::time::sleep(interval).await;
    }
}
