//! What a payment call answers when it cannot go on: WeChat did not answer (503, the
//! order kept), the order is no longer open (409), or WeChat refused the order for good
//! (it fails here too, 502).

use actix_web::http::StatusCode;

use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::state::AppState;
use crate::store::{OrderRow, OrderStatus};
use crate::wechat::GatewayError;

pub(super) fn unavailable(order_no: &str, error: &GatewayError) -> ApiError {
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

pub(super) fn already_paid() -> ApiError {
    ApiError::conflict("ORDER_ALREADY_PAID", "the order is already paid")
}

pub(super) fn closed() -> ApiError {
    ApiError::conflict("ORDER_CLOSED", "the order is closed; create a new order")
}

/// The 409 for an order that is no longer open.
pub(super) fn not_open(order: &OrderRow) -> ApiError {
    match order.status {
        OrderStatus::Paid => already_paid(),
        _ => closed(),
    }
}

/// open -> failed: WeChat refused the order and does not hold it.
pub(super) async fn fail(
    state: &AppState,
    order: &OrderRow,
    error: &GatewayError,
) -> Result<ApiError, ApiError> {
    tracing::error!(order_no = %order.order_no, %error, "WeChat Pay refused the order");
    state
        .store
        .finish_unpaid(
            &order.order_no,
            OrderStatus::Failed,
            Some(&error.to_string()),
            now_ms(),
        )
        .await?;
    Ok(rejected(&order.order_no, error))
}

/// The 502 for a prepay WeChat refused for good.
pub(super) fn rejected(order_no: &str, error: &GatewayError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "WECHAT_REJECTED",
        format!("WeChat Pay refused the order: {error}"),
    )
    .for_order(order_no)
}
