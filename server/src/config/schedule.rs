//! When the reconciler looks at an order or a refund again: after an answer, after a
//! failure (doubling, then given up), and no later than an order's expiry.

use std::time::Duration;

use super::sections::OrderSettings;

impl OrderSettings {
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs)
    }

    fn reconcile_after_ms(&self) -> i64 {
        i64::try_from(self.reconcile_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    /// When a refund not yet final is looked at again (at least 100 ms on: the
    /// reconciler never spins on one refund).
    pub fn next_refund_check_at(&self, now: i64) -> i64 {
        now.saturating_add(self.reconcile_after_ms().max(100))
    }

    /// The pause after the failed check a row had `failures_before` of before: the count
    /// now, and when to retry (None: given up, see `retry_at`).
    pub fn after_failure(&self, now: i64, failures_before: i64) -> (u32, Option<i64>) {
        let failures = u32::try_from(failures_before)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        (failures, self.retry_at(now, failures))
    }

    /// When the reconciler first looks at a new order: after `reconcile_after_secs`, and
    /// no later than its expiry.
    pub fn first_check_at(&self, now: i64, expires_at: i64) -> i64 {
        self.next_check_at(now, expires_at)
    }

    /// After a check WeChat answered: the next one `reconcile_after_secs` later, or at
    /// the order's expiry if that is sooner (then it is closed).
    pub fn next_check_at(&self, now: i64, expires_at: i64) -> i64 {
        now.saturating_add(self.reconcile_after_ms())
            .min(expires_at.max(now))
    }

    /// After the `failures`-th failed check in a row: when to retry, doubling from
    /// `reconcile_after_secs` (at least 100 ms) up to `reconcile_max_backoff_secs`; None
    /// once `reconcile_max_failures` is reached (the reconciler gives up).
    pub fn retry_at(&self, now: i64, failures: u32) -> Option<i64> {
        if failures >= self.reconcile_max_failures {
            return None;
        }
        let cap =
            i64::try_from(self.reconcile_max_backoff_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let doubling = 2i64.saturating_pow(failures.saturating_sub(1));
        let pause = self.reconcile_after_ms().max(100).saturating_mul(doubling);
        Some(now.saturating_add(pause.min(cap.max(100))))
    }
}
