//! Verified payments from a query, and what every verified payment (notify or query)
//! leaves in the logs and metrics.

use actix_web::http::StatusCode;
use wxpay_client::TradeState;

use crate::wechat::Trade;

use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::state::AppState;
use crate::state::metrics::OutcomeLabel;
use crate::store::{OrderRow, SettleOutcome, Settlement};

/// Records a verified query's SUCCESS (or REFUND: paid, then refunded at WeChat)
/// through the same exactly-once path as notifies. A reply that does not match the order
/// changes nothing and is an error (logged; the reconciler backs off and flags it).
pub(super) async fn from_query(
    state: &AppState,
    order: &OrderRow,
    trade: &Trade,
) -> Result<SettleOutcome, ApiError> {
    let facts = (trade.transaction_id.as_deref(), trade.total);
    let (Some(transaction_id), Some(total)) = facts else {
        return Err(mismatch(state, order, "transaction_id or total missing"));
    };
    if trade.out_trade_no != order.order_no {
        return Err(mismatch(state, order, "out_trade_no"));
    }
    let settlement = Settlement {
        order_no: &order.order_no,
        transaction_id,
        amount_fen: total.get(),
        appid: &trade.appid,
        mch_id: &trade.mch_id,
        // The query was signed and verified through the order's own API and sign type.
        sign_type: &order.sign_type,
        time_end: trade.paid_time.as_deref().unwrap_or_default(),
        source: "orderquery",
        fields: &trade.fields,
        refunded: trade.state == TradeState::Refund,
        now: now_ms(),
    };
    let outcome = state.store.settle(&settlement).await?;
    if let SettleOutcome::Refused(refusal) = outcome {
        return Err(mismatch(state, order, refusal.reason()));
    }
    note_settlement(
        state,
        "orderquery",
        &order.order_no,
        transaction_id,
        outcome,
    );
    if outcome == (SettleOutcome::Paid { late: true }) {
        crate::refunds::refund_late_payment(state, &order.order_no).await;
    }
    Ok(outcome)
}

fn mismatch(state: &AppState, order: &OrderRow, what: &str) -> ApiError {
    // WeChat says paid but the facts differ from our order: never mark it paid.
    tracing::error!(order_no = %order.order_no, what, "queried payment does not match the order");
    state.metrics.wechat_failure("orderquery_mismatch");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "PAYMENT_MISMATCH",
        "WeChat reports a payment that does not match the order; it has been logged",
    )
    .for_order(&order.order_no)
}

/// Logs and counts what a verified payment did. Late and double payments are warnings
/// with the order and transaction: the merchant fulfils or refunds them.
pub(crate) fn note_settlement(
    state: &AppState,
    source: &'static str,
    order_no: &str,
    transaction_id: &str,
    outcome: SettleOutcome,
) {
    let metrics = &state.metrics;
    match outcome {
        SettleOutcome::Paid { late } => {
            metrics
                .settlements
                .get_or_create(&OutcomeLabel { outcome: source })
                .inc();
            if late {
                metrics.late_payments.inc();
                tracing::warn!(
                    %order_no,
                    %transaction_id,
                    source,
                    "late payment: paid while not awaiting payment here; fulfil or refund it"
                );
            } else if !crate::base::telemetry::record_order(order_no, "paid") {
                // Within a request its one log line says it; elsewhere, this line.
                tracing::info!(%order_no, source, "order paid");
            }
        }
        SettleOutcome::ExtraPayment => {
            metrics.double_payments.inc();
            tracing::warn!(
                %order_no,
                %transaction_id,
                source,
                "double payment: a second transaction for a paid order; refund one"
            );
        }
        SettleOutcome::AlreadyRecorded => {}
        SettleOutcome::Refused(refusal) => {
            tracing::error!(%order_no, %transaction_id, source, ?refusal, "verified payment does not match the order");
        }
    }
}
