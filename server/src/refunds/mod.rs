//! Refunds of paid orders, through the gateway of the order's own API: recorded (and the
//! money held) before WeChat is asked, sent with a request stored once and re-sent byte
//! for byte (the same out_refund_no: WeChat never refunds twice), and moved by verified
//! results only (the request's answer, queries, notifies), each exactly once.
//!
//! Domain: uses the shared state and the layers below it, no other domain folder.

use actix_web::http::StatusCode;
use serde::Serialize;
use wxpay_core::Fen;

use crate::base::clock::{now_ms, rfc3339};
use crate::base::error::ApiError;
use crate::base::ids;
use crate::state::AppState;
use crate::store::{HoldOutcome, RefundChange, RefundResult, RefundRow, RefundState};
use crate::wechat::{GatewayError, NewRefund, RefundAnswer, WechatSays};

/// A refund as the admin API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RefundView {
    out_refund_no: String,
    order_no: String,
    amount_fen: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    status: RefundState,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
}

impl RefundView {
    pub(crate) fn of(refund: &RefundRow) -> RefundView {
        RefundView {
            out_refund_no: refund.out_refund_no.clone(),
            order_no: refund.order_no.clone(),
            amount_fen: refund.amount_fen,
            reason: refund.reason.clone(),
            status: refund.status,
            refund_id: refund.refund_id.clone(),
            failure: refund.failure.clone(),
            created_at: rfc3339(refund.created_at),
            finished_at: refund.finished_at.map(rfc3339),
        }
    }
}

/// A refund to make.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefundAsk<'a> {
    pub order_no: &'a str,
    pub amount_fen: i64,
    pub reason: Option<&'a str>,
    pub idempotency: Option<(&'a str, &'a str)>,
}

/// Records the refund, holds its amount on the order, and asks WeChat. Returns the
/// refund as it stands (and whether it was created now: a replay of an Idempotency-Key
/// returns the first one).
pub(crate) async fn create(
    state: &AppState,
    ask: &RefundAsk<'_>,
) -> Result<(RefundRow, bool), ApiError> {
    let (refund, created) = record(
        state,
        ask,
        state.settings.orders.next_refund_check_at(now_ms()),
    )
    .await?;
    if !created {
        return Ok((refund, false));
    }
    // An unanswered call leaves it pending: the reconciler sends it again.
    let _ = submit(state, &refund).await;
    let refund = state
        .store
        .refund(&refund.out_refund_no)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok((refund, true))
}

/// Records the refund (pending) and holds its amount on the order, without asking WeChat
/// yet: from `next_check_at` on, the reconciler sends it if nobody else has.
async fn record(
    state: &AppState,
    ask: &RefundAsk<'_>,
    next_check_at: i64,
) -> Result<(RefundRow, bool), ApiError> {
    let order = state
        .store
        .order(ask.order_no)
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    let gateway = state.gateway_for(&order)?;
    let now = now_ms();
    let out_refund_no = ids::refund_no(now);
    let request = gateway.refund_request(&NewRefund {
        out_trade_no: &order.order_no,
        out_refund_no: &out_refund_no,
        total: Fen::new(order.amount_fen),
        amount: Fen::new(ask.amount_fen),
        reason: ask.reason,
    });
    let outcome = state
        .store
        .create_refund(&crate::store::NewRefund {
            out_refund_no: &out_refund_no,
            order_no: &order.order_no,
            amount_fen: ask.amount_fen,
            reason: ask.reason,
            request: &request,
            idempotency: ask.idempotency,
            now,
            next_check_at,
        })
        .await?;
    match outcome {
        HoldOutcome::Created => {}
        HoldOutcome::KeyUsed {
            out_refund_no,
            request_hash,
        } => {
            if ask.idempotency.map(|(_, hash)| hash) != Some(request_hash.as_str()) {
                return Err(ApiError::unprocessable(
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used for a different refund",
                ));
            }
            let first = state
                .store
                .refund(&out_refund_no)
                .await?
                .ok_or_else(ApiError::internal)?;
            return Ok((first, false));
        }
        HoldOutcome::NotPaid => {
            return Err(ApiError::conflict(
                "ORDER_NOT_PAID",
                format!(
                    "order {} is not paid: there is nothing to refund",
                    order.order_no
                ),
            ));
        }
        HoldOutcome::TooMuch { refundable } => {
            return Err(ApiError::unprocessable(
                "REFUND_TOO_LARGE",
                format!(
                    "{} fen asked, {refundable} fen left to refund (paid {}, held by earlier \
                     refunds {})",
                    ask.amount_fen,
                    order.amount_fen,
                    order.amount_fen - refundable
                ),
            ));
        }
    }
    state.metrics.refund("requested");
    tracing::info!(order_no = %order.order_no, %out_refund_no, amount_fen = ask.amount_fen, "refund requested");
    let refund = state
        .store
        .refund(&out_refund_no)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok((refund, true))
}

/// Sends a pending refund's stored request and applies the answer. An unanswered call
/// leaves it pending and is an error (the reconciler sends the identical request again);
/// a refusal closes it and gives its hold back.
pub(crate) async fn submit(state: &AppState, refund: &RefundRow) -> Result<(), ApiError> {
    let order = state
        .store
        .order(&refund.order_no)
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    let gateway = state.gateway_for(&order)?;
    match gateway.refund(&refund.request).await {
        Ok(answer) => apply(state, refund, &answer, "request").await.map(|_| ()),
        Err(error) if error.transient => {
            state.metrics.wechat_failure("refund");
            tracing::warn!(out_refund_no = %refund.out_refund_no, %error, "refund request unanswered: sent again later");
            Err(unavailable(&error))
        }
        Err(error) => {
            refused(state, refund, &error).await;
            Ok(())
        }
    }
}

async fn refused(state: &AppState, refund: &RefundRow, error: &GatewayError) {
    state.metrics.wechat_failure("refund");
    state.metrics.refund("refused");
    tracing::error!(out_refund_no = %refund.out_refund_no, %error, "WeChat refused the refund");
    if let Err(e) = state
        .store
        .refund_refused(&refund.out_refund_no, &error.message, now_ms())
        .await
    {
        tracing::error!(out_refund_no = %refund.out_refund_no, error = %e, "cannot record the refusal");
    }
}

/// Applies a verified answer about `refund` (after checking it is about this refund).
pub(crate) async fn apply(
    state: &AppState,
    refund: &RefundRow,
    answer: &RefundAnswer,
    source: &'static str,
) -> Result<RefundChange, ApiError> {
    if answer.amount.is_some_and(|a| a.get() != refund.amount_fen) {
        tracing::error!(out_refund_no = %refund.out_refund_no, "WeChat's refund amount differs from ours: nothing changed");
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "REFUND_MISMATCH",
            "WeChat reports another amount for this refund; it has been logged",
        ));
    }
    let now = now_ms();
    let change = state
        .store
        .apply_refund_result(&RefundResult {
            out_refund_no: &refund.out_refund_no,
            status: answer.status,
            refund_id: answer.refund_id.as_deref(),
            source,
            fields: &answer.fields,
            now,
            next_check_at: state.settings.orders.next_refund_check_at(now),
        })
        .await?;
    note(state, refund, change);
    Ok(change)
}

fn note(state: &AppState, refund: &RefundRow, change: RefundChange) {
    let no = &refund.out_refund_no;
    match change {
        RefundChange::Moved(RefundState::Succeeded) => {
            state.metrics.refund("succeeded");
            tracing::info!(out_refund_no = %no, order_no = %refund.order_no, "refund succeeded");
        }
        RefundChange::Moved(RefundState::Closed) => {
            state.metrics.refund("closed");
            tracing::warn!(out_refund_no = %no, "refund closed at WeChat: its amount is refundable again");
        }
        RefundChange::Moved(RefundState::Abnormal) => {
            state.metrics.refund("abnormal");
            tracing::warn!(out_refund_no = %no, "refund abnormal: WeChat could not pay it out; resolve it on the merchant platform");
        }
        RefundChange::SucceededAfterClose => {
            state.metrics.refund("succeeded_after_close");
            tracing::error!(out_refund_no = %no, order_no = %refund.order_no, "WeChat refunded a refund closed here: recorded; check the order's refunds");
        }
        RefundChange::Moved(_) | RefundChange::Unchanged => {}
    }
}

/// For the reconciler: a pending refund is sent again (the identical request); one that
/// is processing or abnormal is asked about.
pub(crate) async fn sync(state: &AppState, refund: &RefundRow) -> Result<(), ApiError> {
    match refund.status {
        RefundState::Succeeded | RefundState::Closed => Ok(()),
        RefundState::Pending => submit(state, refund).await,
        RefundState::Processing | RefundState::Abnormal => {
            let order = state
                .store
                .order(&refund.order_no)
                .await?
                .ok_or_else(ApiError::order_not_found)?;
            match state
                .gateway_for(&order)?
                .query_refund(&refund.out_refund_no)
                .await
            {
                Ok(answer) => apply(state, refund, &answer, "query").await.map(|_| ()),
                Err(error) if error.says == Some(WechatSays::NoSuchOrder) && !error.transient => {
                    tracing::error!(out_refund_no = %refund.out_refund_no, "WeChat does not know a refund it accepted; kept for an operator");
                    Err(unavailable(&error))
                }
                Err(error) => {
                    state.metrics.wechat_failure("refundquery");
                    Err(unavailable(&error))
                }
            }
        }
    }
}

fn unavailable(error: &GatewayError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "WECHAT_UNAVAILABLE",
        format!("WeChat Pay did not answer about the refund ({error}); asked again later"),
    )
}

/// A refund result from a notify: it must be about this refund (its order and amount).
pub(crate) fn matches_notify(refund: &RefundRow, out_trade_no: &str, amount: Fen) -> bool {
    refund.order_no == out_trade_no && refund.amount_fen == amount.get()
}

/// `orders.late_payment = "refund"`: a payment that arrived for an order no longer
/// awaiting it is refunded in full, once (the same idempotency key on every path that
/// sees it, and again on WeChat's retries of the notify, so a crash between recording the
/// payment and recording its refund is healed by the retry). The refund is recorded
/// before this returns; the reconciler sends it.
pub(crate) async fn refund_late_payment(state: &AppState, order_no: &str) {
    if state.settings.orders.late_payment != LATE_PAYMENT_REFUND {
        return;
    }
    let Ok(Some(order)) = state.store.order(order_no).await else {
        tracing::error!(%order_no, "late payment: cannot load the order to refund it");
        return;
    };
    if !order.late_payment {
        return;
    }
    let ask = RefundAsk {
        order_no,
        amount_fen: order.amount_fen,
        reason: Some(LATE_PAYMENT_REASON),
        idempotency: Some((LATE_PAYMENT_KEY, LATE_PAYMENT_KEY)),
    };
    // Due now: the reconciler's next pass sends it (durably: nothing is spawned here).
    match record(state, &ask, now_ms()).await {
        Ok((refund, true)) => {
            tracing::warn!(%order_no, out_refund_no = %refund.out_refund_no, "late payment: refunding it in full (orders.late_payment = \"refund\")");
        }
        Ok((_, false)) => {}
        Err(error) => {
            tracing::error!(%order_no, error = %error.message, "late payment: cannot refund it; an operator must");
        }
    }
}

/// The `orders.late_payment` value that refunds late payments.
pub(crate) const LATE_PAYMENT_REFUND: &str = "refund";
const LATE_PAYMENT_KEY: &str = "late-payment";
/// Shown to the payer by WeChat (at most 80 characters).
const LATE_PAYMENT_REASON: &str = "订单已关闭，款项原路退回";
