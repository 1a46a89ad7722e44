//! Bringing an order in line with WeChat's view: query and close (v2 orderquery /
//! closeorder, v3 their JSON equivalents), applied through the same exactly-once
//! settlement as notifies. Used by order reads, the reconciler, cancels and refused
//! prepays.

use actix_web::http::StatusCode;
use wxpay_client::{CloseOutcome, TradeState};

use super::refusals::{self, not_open, unavailable};
use super::settle;
use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::state::AppState;
use crate::store::{OrderRow, OrderStatus};
use crate::wechat::{GatewayError, WechatSays};

/// open -> closed, with why (for the record). The order leaves the work list.
pub(super) async fn mark_closed(
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

/// Asks WeChat about an order and applies the answer. An open order: paid (exactly
/// once), closed, or, past its expiry, closed at WeChat first. A closed or failed order
/// still on the work list (WeChat may hold its trade open): closed there, or recorded as
/// a late payment if it was paid. WeChat errors are returned (the order is left as it
/// was) for the caller to log or count.
pub(crate) async fn sync_with_wechat(state: &AppState, order: &OrderRow) -> Result<(), ApiError> {
    match order.status {
        OrderStatus::Paid => return Ok(()),
        OrderStatus::Closed | OrderStatus::Failed => {
            return if order.next_check_at.is_some() {
                close_at_wechat(state, order).await
            } else {
                Ok(())
            };
        }
        OrderStatus::Created | OrderStatus::AwaitingPayment => {}
    }
    let expired = now_ms() >= order.expires_at;
    match state.gateway_for(order)?.query(&order.order_no).await {
        Ok(trade) => match trade.state {
            TradeState::Success | TradeState::Refund => {
                settle::from_query(state, order, &trade).await.map(|_| ())
            }
            TradeState::Closed | TradeState::Revoked => {
                mark_closed(state, order, Some("closed at WeChat")).await
            }
            _ if expired => close_at_wechat(state, order).await,
            _ => Ok(()),
        },
        Err(e) if e.says == Some(WechatSays::NoSuchOrder) && expired => {
            // WeChat never saw it (the prepay never got through): nothing to close there.
            mark_closed(state, order, Some("expired before reaching WeChat")).await
        }
        Err(e) if e.says == Some(WechatSays::NoSuchOrder) => Ok(()),
        Err(error) => {
            state.metrics.wechat_failure("orderquery");
            Err(unavailable(&order.order_no, &error))
        }
    }
}

/// What a signed query said about an order some other source (a bill) claims is paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PaidAtWechat {
    /// Paid: recorded now (exactly once; late for an order that was not open).
    Settled,
    /// WeChat's verified query does not show it paid: the trade's state, None when
    /// WeChat does not know the order.
    NotPaid(Option<TradeState>),
}

/// Asks WeChat (a signed, verified query) whether an order is paid, whatever its state
/// here, and if so records the payment through the exactly-once path. The only way an
/// unsigned source (a bill) ever leads to a payment being recorded.
pub(crate) async fn settle_if_paid_at_wechat(
    state: &AppState,
    order: &OrderRow,
) -> Result<PaidAtWechat, ApiError> {
    match state.gateway_for(order)?.query(&order.order_no).await {
        Ok(trade) if matches!(trade.state, TradeState::Success | TradeState::Refund) => {
            settle::from_query(state, order, &trade).await?;
            Ok(PaidAtWechat::Settled)
        }
        Ok(trade) => Ok(PaidAtWechat::NotPaid(Some(trade.state))),
        Err(e) if e.says == Some(WechatSays::NoSuchOrder) => Ok(PaidAtWechat::NotPaid(None)),
        Err(error) => {
            state.metrics.wechat_failure("orderquery");
            Err(unavailable(&order.order_no, &error))
        }
    }
}

/// Closes an order's trade at WeChat, then here (an open order) or takes it off the work
/// list (a closed or failed one). If WeChat says it was paid, the payment is recorded
/// from a verified orderquery instead (late, for an order that was not open).
pub(crate) async fn close_at_wechat(state: &AppState, order: &OrderRow) -> Result<(), ApiError> {
    match state.gateway_for(order)?.close(&order.order_no).await {
        Ok(CloseOutcome::Closed | CloseOutcome::AlreadyClosed | CloseOutcome::NotFound) => {
            if order.status.is_open() {
                mark_closed(state, order, None).await
            } else {
                state.store.wechat_closed(&order.order_no, now_ms()).await?;
                Ok(())
            }
        }
        Ok(CloseOutcome::AlreadyPaid) => settle_paid_trade(state, order).await,
        Err(error) => {
            state.metrics.wechat_failure("closeorder");
            Err(unavailable(&order.order_no, &error))
        }
    }
}

/// WeChat says the trade was paid (the close said so): the verified facts come from a
/// query. `REFUND` (paid, then refunded at WeChat) is a payment too.
async fn settle_paid_trade(state: &AppState, order: &OrderRow) -> Result<(), ApiError> {
    match settle_if_paid_at_wechat(state, order).await? {
        PaidAtWechat::Settled => Ok(()),
        PaidAtWechat::NotPaid(trade_state) => Err(inconsistent(order, trade_state)),
    }
}

/// The close said paid, the query says otherwise: try again later (the reconciler backs
/// off and, if it never clears, flags the order for an operator).
fn inconsistent(order: &OrderRow, trade_state: Option<TradeState>) -> ApiError {
    let says = trade_state.map_or_else(|| "no such order".to_owned(), |s| format!("{s:?}"));
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "WECHAT_INCONSISTENT",
        format!("WeChat's close says paid but its query says {says}; retried later"),
    )
    .for_order(&order.order_no)
}

/// A later prepay refused for good (not paid / closed): WeChat may hold the order from
/// an earlier request, so it is asked. Never heard of it: the order failed. Otherwise its
/// answer is followed and the order is not failed; when it cannot be asked, the order
/// stays as it is (the reconciler asks later).
pub(super) async fn after_refusal(
    state: &AppState,
    order: &OrderRow,
    error: &GatewayError,
) -> Result<ApiError, ApiError> {
    let rejected = refusals::rejected(&order.order_no, error);
    match state.gateway_for(order)?.query(&order.order_no).await {
        Err(e) if e.says == Some(WechatSays::NoSuchOrder) => {
            refusals::fail(state, order, error).await
        }
        Err(query_error) if query_error.transient => {
            state.metrics.wechat_failure("orderquery");
            Err(unavailable(&order.order_no, &query_error))
        }
        Err(query_error) => {
            state.metrics.wechat_failure("orderquery");
            tracing::error!(order_no = %order.order_no, %error, %query_error, "WeChat Pay refused the order and cannot be asked about it; the order is kept");
            Ok(rejected)
        }
        Ok(trade) => {
            tracing::error!(
                order_no = %order.order_no,
                %error,
                trade_state = ?trade.state,
                "WeChat Pay refused a prepay for an order it holds; following its state"
            );
            match trade.state {
                TradeState::Success | TradeState::Refund => {
                    settle::from_query(state, order, &trade).await?;
                }
                TradeState::Closed | TradeState::Revoked => {
                    mark_closed(state, order, Some("closed at WeChat")).await?;
                }
                _ => {}
            }
            let current = state.store.order(&order.order_no).await?;
            Ok(match current {
                Some(current) if !current.status.is_open() => not_open(&current),
                _ => rejected,
            })
        }
    }
}

/// An order as its reader should see it: when it awaits payment and the last word from
/// WeChat is older than `stale_ms`, WeChat is asked first. Concurrent readers of one
/// order cause one orderquery: on this instance they wait for the first one's answer;
/// across instances the check is claimed in the database.
pub(crate) async fn refresh_if_stale(
    state: &AppState,
    order: OrderRow,
    stale_ms: i64,
) -> Result<OrderRow, ApiError> {
    let is_stale = |o: &OrderRow| o.status.is_open() && now_ms() - o.last_checked_at >= stale_ms;
    if !is_stale(&order) {
        return Ok(order);
    }
    let _turn = state.order_checks.lock(&order.order_no).await;
    let Some(order) = state.store.order(&order.order_no).await? else {
        return Err(ApiError::order_not_found());
    };
    if !is_stale(&order)
        || !state
            .store
            .claim_check(&order.order_no, order.last_checked_at, now_ms())
            .await?
    {
        return Ok(order);
    }
    if let Err(error) = sync_with_wechat(state, &order).await {
        // Answer from our records; the reconciler will try again.
        tracing::warn!(order_no = %order.order_no, %error, "could not refresh the order from WeChat");
    }
    state
        .store
        .order(&order.order_no)
        .await?
        .ok_or_else(ApiError::order_not_found)
}
