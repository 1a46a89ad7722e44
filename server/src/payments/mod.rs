//! The payment side of an order: getting a prepay_id from WeChat (always with the
//! order's first request, byte for byte, so WeChat never holds two orders for it), the
//! `wx.requestPayment` params, recording verified payments (exactly once per transaction,
//! whatever the order's local state), and bringing an order in line with WeChat's view
//! (query / close). Each order goes through the gateway of the API it was created on.
//!
//! Domain: uses `refunds` (a late payment can be refunded at once) and the layers below.

mod prepay;
mod settle;
mod sync;

use actix_web::http::StatusCode;

use crate::base::error::ApiError;
use crate::store::{OrderRow, OrderStatus};
use crate::wechat::GatewayError;

pub(crate) use prepay::{Attempt, ensure_prepay, payment_params};
pub(crate) use settle::note_settlement;
pub(crate) use sync::{
    PaidAtWechat, close_at_wechat, refresh_if_stale, settle_if_paid_at_wechat, sync_with_wechat,
};

fn unavailable(order_no: &str, error: &GatewayError) -> ApiError {
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

pub(crate) fn already_paid() -> ApiError {
    ApiError::conflict("ORDER_ALREADY_PAID", "the order is already paid")
}

pub(crate) fn closed() -> ApiError {
    ApiError::conflict("ORDER_CLOSED", "the order is closed; create a new order")
}

/// The 409 for an order that is no longer open.
fn not_open(order: &OrderRow) -> ApiError {
    match order.status {
        OrderStatus::Paid => already_paid(),
        _ => closed(),
    }
}
