//! The payment side of an order: getting a prepay_id from WeChat (always with identical
//! parameters for one order, so WeChat never holds two orders for it), the
//! `wx.requestPayment` params, settling from a verified proof (exactly once), and
//! bringing an open order in line with WeChat's view (orderquery / closeorder).

use actix_web::http::StatusCode;
use wxpay_client::{CloseOutcome, PayError, QueriedTrade, TradeState, UnifiedOrder};
use wxpay_core::{Fen, RequestPayment};

use crate::clock::{beijing_compact, now_ms};
use crate::error::ApiError;
use crate::ids;
use crate::state::AppState;
use crate::store::{OrderRow, OrderStatus, SettleOutcome, Settlement};

/// WeChat keeps a prepay_id for 2 hours; ask for a fresh one 5 minutes before that.
const PREPAY_LIFETIME_MS: i64 = (2 * 60 - 5) * 60 * 1000;

/// The unifiedorder request for an order, derived only from what is stored, so a
/// repeat is byte-for-byte the same order at WeChat.
fn unified_order<'a>(
    state: &'a AppState,
    order: &'a OrderRow,
    time_expire: &'a str,
) -> UnifiedOrder<'a> {
    UnifiedOrder {
        out_trade_no: &order.order_no,
        body: &order.description,
        total_fee: Fen::new(order.amount_fen),
        openid: &order.openid,
        notify_url: &state.notify_url,
        spbill_create_ip: &state.settings.wechat.spbill_create_ip,
        attach: None,
        time_expire: Some(time_expire),
    }
}

fn unavailable(order_no: &str, error: &PayError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "WECHAT_UNAVAILABLE",
        format!(
            "WeChat Pay did not answer in time ({error}); the order is kept: \
             retry with POST /v1/orders/{order_no}/payment"
        ),
    )
    .for_order(order_no)
}

fn already_paid() -> ApiError {
    ApiError::conflict("ORDER_ALREADY_PAID", "the order is already paid")
}

fn closed() -> ApiError {
    ApiError::conflict("ORDER_CLOSED", "the order is closed; create a new order")
}

/// open -> closed, with why (for the record).
async fn mark_closed(
    state: &AppState,
    order: &OrderRow,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    state
        .store
        .finish_unpaid(&order.order_no, OrderStatus::Closed, reason, now_ms())
        .await?;
    Ok(())
}

/// A usable prepay_id for an open order.
#[derive(Debug)]
pub(crate) struct Prepay {
    pub prepay_id: String,
    /// The order as stored right after a new prepay_id was recorded (None when the
    /// stored one was still fresh, or the order stopped being open meanwhile).
    pub updated: Option<OrderRow>,
}

/// A usable prepay_id for an open order: the stored one while it is fresh, else a new
/// unifiedorder with the order's identical parameters.
pub(crate) async fn ensure_prepay(state: &AppState, order: &OrderRow) -> Result<Prepay, ApiError> {
    let now = now_ms();
    match order.status {
        OrderStatus::Paid => {
            return Err(already_paid());
        }
        OrderStatus::Closed | OrderStatus::Failed => {
            return Err(closed());
        }
        OrderStatus::Created | OrderStatus::AwaitingPayment => {}
    }
    if now >= order.expires_at {
        return Err(ApiError::conflict(
            "ORDER_EXPIRED",
            "the order expired unpaid; create a new order",
        ));
    }
    if let (Some(prepay_id), Some(valid_until)) = (&order.prepay_id, order.prepay_expires_at)
        && now < valid_until
    {
        return Ok(Prepay {
            prepay_id: prepay_id.clone(),
            updated: None,
        });
    }
    let time_expire = beijing_compact(order.expires_at);
    match state
        .pay
        .unified_order(&unified_order(state, order, &time_expire))
        .await
    {
        Ok(prepay) => {
            let updated = state
                .store
                .set_prepay(
                    &order.order_no,
                    &prepay.prepay_id,
                    now + PREPAY_LIFETIME_MS,
                    now,
                )
                .await?;
            Ok(Prepay {
                prepay_id: prepay.prepay_id,
                updated,
            })
        }
        Err(error) if error.is_retryable() => {
            state.metrics.wechat_failure("unifiedorder");
            tracing::warn!(order_no = %order.order_no, %error, "unifiedorder unavailable");
            Err(unavailable(&order.order_no, &error))
        }
        Err(error) => {
            state.metrics.wechat_failure("unifiedorder");
            match error.err_code() {
                Some("ORDERPAID") => {
                    sync_with_wechat(state, order).await?;
                    Err(already_paid())
                }
                Some("ORDERCLOSED") => {
                    mark_closed(state, order, Some("closed at WeChat")).await?;
                    Err(closed())
                }
                _ => {
                    tracing::error!(order_no = %order.order_no, %error, "WeChat Pay refused the order");
                    let reason = error.to_string();
                    state
                        .store
                        .finish_unpaid(&order.order_no, OrderStatus::Failed, Some(&reason), now)
                        .await?;
                    Err(ApiError::new(
                        StatusCode::BAD_GATEWAY,
                        "WECHAT_REJECTED",
                        format!("WeChat Pay refused the order: {error}"),
                    )
                    .for_order(&order.order_no))
                }
            }
        }
    }
}

/// Fresh `wx.requestPayment` params for a prepay_id (new nonce and timestamp each time).
pub(crate) fn payment_params(
    state: &AppState,
    prepay_id: &str,
) -> Result<RequestPayment, ApiError> {
    let seconds = u64::try_from(now_ms() / 1000).unwrap_or_default();
    RequestPayment::build(
        &state.credentials.appid,
        prepay_id,
        &state.credentials.api_key,
        state.credentials.sign_type,
        &ids::nonce(),
        seconds,
    )
    .map_err(|e| {
        tracing::error!(error = %e, "cannot build payment params");
        ApiError::internal()
    })
}

/// Applies a verified orderquery SUCCESS through the same exactly-once path as notifies.
async fn settle_from_query(
    state: &AppState,
    order: &OrderRow,
    trade: &QueriedTrade,
) -> Result<SettleOutcome, ApiError> {
    let amount_ok = trade.total_fee == Some(Fen::new(order.amount_fen));
    let ids_ok = trade.out_trade_no == order.order_no
        && trade.appid == order.appid
        && trade.mch_id == order.mch_id;
    let Some(transaction_id) = trade
        .transaction_id
        .as_deref()
        .filter(|_| amount_ok && ids_ok)
    else {
        // WeChat says paid but the facts differ from our order: never mark it paid.
        tracing::error!(order_no = %order.order_no, "orderquery SUCCESS does not match the order");
        state.metrics.wechat_failure("orderquery_mismatch");
        return Ok(SettleOutcome::Refused(
            "orderquery does not match the order",
        ));
    };
    let fields = serde_json::to_string(&trade.fields).unwrap_or_default();
    let outcome = state
        .store
        .settle(&Settlement {
            order_no: &order.order_no,
            transaction_id,
            amount_fen: order.amount_fen,
            appid: &order.appid,
            mch_id: &order.mch_id,
            sign_type: &order.sign_type,
            time_end: trade.time_end.as_deref().unwrap_or_default(),
            source: "orderquery",
            fields: &fields,
            now: now_ms(),
        })
        .await?;
    if outcome == SettleOutcome::Paid {
        state
            .metrics
            .settlements
            .get_or_create(&crate::metrics::OutcomeLabel {
                outcome: "orderquery",
            })
            .inc();
        tracing::info!(order_no = %order.order_no, "order paid (orderquery)");
    }
    Ok(outcome)
}

/// Asks WeChat about an open order and applies the answer: paid (exactly once),
/// closed, or, past its expiry, closed at WeChat first. WeChat errors are returned for
/// the caller to log; the order is left as it was.
pub(crate) async fn sync_with_wechat(state: &AppState, order: &OrderRow) -> Result<(), ApiError> {
    if !order.status.is_open() {
        return Ok(());
    }
    let now = now_ms();
    state.store.touch_checked(&order.order_no, now).await?;
    let expired = now >= order.expires_at;
    match state.pay.order_query(&order.order_no).await {
        Ok(trade) => match trade.state {
            TradeState::Success => {
                settle_from_query(state, order, &trade).await?;
            }
            TradeState::Closed | TradeState::Revoked => {
                mark_closed(state, order, Some("closed at WeChat")).await?;
            }
            _ if expired => close_at_wechat(state, order).await?,
            _ => {}
        },
        Err(e) if e.err_code() == Some("ORDERNOTEXIST") && expired => {
            // WeChat never saw it (unifiedorder never got through): nothing to close there.
            mark_closed(state, order, Some("expired before reaching WeChat")).await?;
        }
        Err(e) if e.err_code() == Some("ORDERNOTEXIST") => {}
        Err(error) => {
            state.metrics.wechat_failure("orderquery");
            return Err(unavailable(&order.order_no, &error));
        }
    }
    Ok(())
}

/// Closes an open order at WeChat, then locally. If WeChat says it was paid meanwhile,
/// settles it instead (after querying the verified facts).
pub(crate) async fn close_at_wechat(state: &AppState, order: &OrderRow) -> Result<(), ApiError> {
    match state.pay.close_order(&order.order_no).await {
        Ok(CloseOutcome::Closed | CloseOutcome::AlreadyClosed | CloseOutcome::NotFound) => {
            mark_closed(state, order, None).await?;
            Ok(())
        }
        Ok(CloseOutcome::AlreadyPaid) => match state.pay.order_query(&order.order_no).await {
            Ok(trade) if trade.state == TradeState::Success => {
                settle_from_query(state, order, &trade).await.map(|_| ())
            }
            Ok(_) => Ok(()),
            Err(error) => {
                state.metrics.wechat_failure("orderquery");
                Err(unavailable(&order.order_no, &error))
            }
        },
        Err(error) => {
            state.metrics.wechat_failure("closeorder");
            Err(unavailable(&order.order_no, &error))
        }
    }
}
