//! prepay_ids and `wx.requestPayment` params. Every prepay for an order sends the request
//! stored with it at creation (never today's settings: a changed notify_url, IP or sign
//! type would make WeChat refuse the repeat of an order it still holds open), and params
//! are only ever handed out for an order that is open in the database after the prepay_id
//! was obtained.

use super::refusals::{already_paid, closed, fail, not_open, unavailable};
use super::sync;
use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::base::ids;
use crate::state::AppState;
use crate::store::{OrderRow, OrderStatus};
use crate::wechat::{GatewayError, PaymentParams, WechatSays};

/// WeChat keeps a prepay_id for 2 hours; ask for a fresh one 5 minutes before that.
const PREPAY_LIFETIME_MS: i64 = (2 * 60 - 5) * 60 * 1000;

/// A usable prepay_id and the order it belongs to, open in the database after the
/// prepay_id was obtained.
#[derive(Debug)]
pub(crate) struct Prepay {
    pub prepay_id: String,
    pub order: OrderRow,
}

/// Whether WeChat may already have seen this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The order was just created and this is its first unifiedorder: a refusal means
    /// WeChat does not hold it.
    First,
    /// Any later call: an earlier unifiedorder may have created it at WeChat (also one
    /// whose reply was lost).
    Later,
}

/// A usable prepay_id for an open order: the stored one while it is fresh, else a new
/// unifiedorder with the order's first request. Fails with 409 when the order is not
/// open (also when it stopped being open meanwhile, e.g. a cancel won the race).
pub(crate) async fn ensure_prepay(
    state: &AppState,
    order: &OrderRow,
    attempt: Attempt,
) -> Result<Prepay, ApiError> {
    let now = now_ms();
    if !order.status.is_open() {
        return Err(not_open(order));
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
        // Confirm the order is still open now (a cancel may have closed it since it was read).
        let current = state
            .store
            .order(&order.order_no)
            .await?
            .ok_or_else(ApiError::order_not_found)?;
        if !current.status.is_open() {
            return Err(not_open(&current));
        }
        return Ok(Prepay {
            prepay_id: prepay_id.clone(),
            order: current,
        });
    }
    let gateway = state.gateway_for(order)?;
    let result = gateway.prepay(order, order.prepay_request.as_deref()).await;
    match result {
        Ok(prepay_id) => {
            let updated = state
                .store
                .set_prepay(&order.order_no, &prepay_id, now + PREPAY_LIFETIME_MS, now)
                .await?;
            match updated {
                Some(order) => Ok(Prepay { prepay_id, order }),
                None => Err(stopped_being_open(state, &order.order_no).await?),
            }
        }
        Err(error) if error.transient => {
            state.metrics.wechat_failure("unifiedorder");
            tracing::warn!(order_no = %order.order_no, %error, "prepay unavailable");
            // WeChat may have created the trade anyway; if the order was closed here
            // meanwhile, that trade must be closed there.
            let current = state.store.order(&order.order_no).await?;
            if current.is_some_and(|o| !o.status.is_open()) {
                state
                    .store
                    .schedule_wechat_close(&order.order_no, now_ms())
                    .await?;
            }
            Err(unavailable(&order.order_no, &error))
        }
        Err(error) => {
            state.metrics.wechat_failure("unifiedorder");
            Err(refused(state, order, &error, attempt).await)
        }
    }
}

/// unifiedorder succeeded but the order is no longer open here (a cancel, an expiry or
/// a payment won the race): WeChat now holds an open trade for an order closed here, so
/// the reconciler closes it there. No params are handed out.
async fn stopped_being_open(state: &AppState, order_no: &str) -> Result<ApiError, ApiError> {
    let order = state
        .store
        .order(order_no)
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    if order.status != OrderStatus::Paid {
        state
            .store
            .schedule_wechat_close(order_no, now_ms())
            .await?;
        tracing::warn!(%order_no, "order closed while WeChat created its trade: closing it at WeChat");
    }
    Ok(not_open(&order))
}

/// WeChat refused a prepay for good. Paid and closed say what happened.
/// Anything else fails the order when this was its first request; after that, WeChat may
/// still hold the order from an earlier request (a refresh, or a call whose reply was
/// lost), so it is asked, and the order is failed only when WeChat has never seen it.
async fn refused(
    state: &AppState,
    order: &OrderRow,
    error: &GatewayError,
    attempt: Attempt,
) -> ApiError {
    let followed = match (error.says, attempt) {
        (Some(WechatSays::Paid), _) => sync::sync_with_wechat(state, order)
            .await
            .map(|()| already_paid()),
        (Some(WechatSays::Closed), _) => sync::mark_closed(state, order, Some("closed at WeChat"))
            .await
            .map(|()| closed()),
        (_, Attempt::First) => fail(state, order, error).await,
        (_, Attempt::Later) => sync::after_refusal(state, order, error).await,
    };
    followed.unwrap_or_else(|e| e)
}

/// Fresh `wx.requestPayment` params for the order's prepay_id (new nonce and timestamp
/// each time), signed the way of the order's own API and sign type.
pub(crate) fn payment_params(state: &AppState, prepay: &Prepay) -> Result<PaymentParams, ApiError> {
    let seconds = u64::try_from(now_ms() / 1000).unwrap_or_default();
    state
        .gateway_for(&prepay.order)?
        .payment_params(
            &prepay.order.appid,
            &prepay.prepay_id,
            &ids::nonce(),
            seconds,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "cannot build payment params");
            ApiError::internal()
        })
}
