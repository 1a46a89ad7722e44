//! What one notify comes to (its status, metric label and reason), and recording a
//! verified payment exactly once: shared by the v2 and v3 receivers.

use actix_web::http::StatusCode;

use crate::payments::note_settlement;
use crate::state::AppState;
use crate::store::{Refusal, SettleOutcome, Settlement};

/// What happened to one notify: the HTTP status, the metric label and why.
pub(super) struct Verdict {
    pub(super) status: StatusCode,
    pub(super) outcome: &'static str,
    pub(super) reason: &'static str,
    /// A refund notify (counted apart from payment notifies).
    pub(super) refund: bool,
}

impl Verdict {
    pub(super) fn accepted(outcome: &'static str) -> Verdict {
        Verdict::acknowledged(outcome, "")
    }

    /// Acknowledged, with a note for the log.
    pub(super) fn acknowledged(outcome: &'static str, reason: &'static str) -> Verdict {
        Verdict {
            status: StatusCode::OK,
            outcome,
            reason,
            refund: false,
        }
    }

    pub(super) fn for_refund(mut self) -> Verdict {
        self.refund = true;
        self
    }

    pub(super) fn refused(
        status: StatusCode,
        outcome: &'static str,
        reason: &'static str,
    ) -> Verdict {
        Verdict {
            status,
            outcome,
            reason,
            refund: false,
        }
    }

    pub(super) fn is_acknowledged(&self) -> bool {
        self.status == StatusCode::OK
    }
}

/// A notify refused as a bad request: unverified, unreadable or not ours.
pub(super) fn refused(outcome: &'static str, reason: &'static str) -> Verdict {
    Verdict::refused(StatusCode::BAD_REQUEST, outcome, reason)
}

/// Records a verified payment exactly once and says what to answer.
pub(super) async fn record(state: &AppState, settlement: &Settlement<'_>) -> Verdict {
    let outcome = match state.store.settle(settlement).await {
        Ok(outcome) => outcome,
        Err(error) => {
            // Not acknowledged: WeChat will retry, and the reconciler also looks.
            tracing::error!(order_no = %settlement.order_no, %error, "notify: cannot record the payment");
            return Verdict::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "temporary failure",
            );
        }
    };
    note_settlement(
        state,
        "notify",
        settlement.order_no,
        settlement.transaction_id,
        outcome,
    );
    if matches!(
        outcome,
        SettleOutcome::Paid { late: true } | SettleOutcome::AlreadyRecorded
    ) {
        crate::refunds::refund_late_payment(state, settlement.order_no).await;
    }
    match outcome {
        SettleOutcome::Paid { late: false } => Verdict::accepted("paid"),
        SettleOutcome::Paid { late: true } => Verdict::accepted("late_payment"),
        SettleOutcome::ExtraPayment => Verdict::accepted("double_payment"),
        SettleOutcome::AlreadyRecorded => Verdict::accepted("duplicate"),
        SettleOutcome::Refused(refusal) => mismatched(refusal),
    }
}

/// The failure for a verified notify that does not match our records.
fn mismatched(refusal: Refusal) -> Verdict {
    let reason = refusal.reason();
    match refusal {
        Refusal::UnknownOrder => Verdict::refused(StatusCode::NOT_FOUND, "unknown_order", reason),
        Refusal::SignType => Verdict::refused(StatusCode::BAD_REQUEST, "bad_signature", reason),
        Refusal::Mismatch(_) => Verdict::refused(StatusCode::BAD_REQUEST, "mismatch", reason),
        // The records disagree with WeChat (its transaction ids are unique): not
        // acknowledged, so WeChat keeps the evidence coming while an operator looks.
        Refusal::TransactionConflict => {
            Verdict::refused(StatusCode::CONFLICT, "transaction_conflict", reason)
        }
    }
}
