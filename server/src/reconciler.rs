//! The reconciler: notifies can be late or lost, so open orders whose last word from
//! WeChat is older than a threshold are queried; SUCCESS settles them through the same
//! exactly-once path, expired unpaid ones are closed at WeChat. Instances sharing
//! PostgreSQL claim disjoint batches (`FOR UPDATE SKIP LOCKED`).

use std::time::Duration;

use crate::clock::now_ms;
use crate::payments;
use crate::state::AppState;
use crate::store::StoreError;

/// One pass: claims a batch and checks each order. Returns how many were checked.
pub async fn pass(state: &AppState) -> Result<usize, StoreError> {
    let orders = &state.settings.orders;
    let now = now_ms();
    let after_ms =
        i64::try_from(orders.reconcile_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    let claimed = state
        .store
        .claim_unsettled(
            now.saturating_sub(after_ms),
            now,
            i64::from(orders.reconcile_batch),
        )
        .await?;
    for order_no in &claimed {
        let Some(order) = state.store.order(order_no).await? else {
            continue;
        };
        state.metrics.reconciler_checks.inc();
        if let Err(error) = payments::sync_with_wechat(state, &order).await {
            tracing::warn!(%order_no, %error, "reconciler: order not settled this pass");
        }
    }
    Ok(claimed.len())
}

/// Runs passes forever, `reconcile_interval_ms` apart.
pub async fn run(state: AppState) {
    let interval = Duration::from_millis(state.settings.orders.reconcile_interval_ms.max(10));
    loop {
        state.limits.forget_idle();
        match pass(&state).await {
            Ok(0) => {}
            Ok(checked) => tracing::info!(checked, "reconciler pass"),
            Err(error) => tracing::error!(%error, "reconciler pass failed"),
        }
        tokio::time::sleep(interval).await;
    }
}
