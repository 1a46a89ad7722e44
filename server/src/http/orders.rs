//! Orders: priced from our catalog, paid through WeChat, read back by their owner.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::openapi::ShippingStatus;
use super::openapi::{
    BadInput, Conflict, DisplayStatus, JsonBody, NotFound, RateLimited, Storage, Unprocessable,
    UserAuth, WeChatFailed,
};
use crate::base::clock::rfc3339;
use crate::base::error::ApiError;
use crate::base::ids;
use crate::http::auth::CurrentUser;
use crate::orders::create::{OrderAsk, Payer, create_order, reload};
use crate::orders::pricing::{self, CartLine};
use crate::payments::{self, Attempt};
use crate::state::AppState;
use crate::store::{KeyScope, OrderItem, OrderRow, OrderStatus};
use crate::wechat::PaymentParams;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateOrder {
    /// 1 to 20 lines, each sku once; the server prices them.
    items: Vec<CartLine>,
}

/// An order as its owner sees it (and the merchant's backend that created it).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct OrderView {
    order_no: String,
    /// The merchant's own order id (orders its backend created).
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    amount_fen: i64,
    /// `OrderStatus`, or for a paid order WeChat refunded `partially_refunded` /
    /// `refunded`.
    #[schema(value_type = DisplayStatus)]
    status: &'static str,
    /// What WeChat has refunded of it (succeeded refunds).
    #[serde(skip_serializing_if = "is_zero")]
    refunded_fen: i64,
    created_at: String,
    expires_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<String>,
    /// Paid while it was not awaiting payment here (closed, failed, or before its
    /// prepay_id was recorded), or found paid only after WeChat refunded it: the merchant
    /// fulfils or refunds it.
    late_payment: bool,
    /// A second WeChat transaction paid it too: one must be refunded.
    double_payment: bool,
    /// Its shipping (WeChat's order-shipping service): `not_required`, `pending` (paid,
    /// to be uploaded), `uploaded`, `confirmed` (receipt), `settled`.
    #[schema(value_type = ShippingStatus)]
    shipping_status: &'static str,
    items: Vec<OrderItem>,
    /// Pass straight to `wx.requestPayment`.
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<PaymentParams>,
}

fn is_zero(fen: &i64) -> bool {
    *fen == 0
}

pub(super) async fn view(
    state: &AppState,
    order: &OrderRow,
    payment: Option<PaymentParams>,
) -> Result<OrderView, ApiError> {
    let items = state.store.order_items(&order.order_no).await?;
    Ok(view_with_items(state, order, items, payment))
}

/// The view when the lines are already at hand (just priced), saving a query.
pub(super) fn view_with_items(
    state: &AppState,
    order: &OrderRow,
    items: Vec<OrderItem>,
    payment: Option<PaymentParams>,
) -> OrderView {
    OrderView {
        order_no: order.order_no.clone(),
        reference: order.reference.clone(),
        amount_fen: order.amount_fen,
        status: order.display_status(),
        refunded_fen: order.refunded_fen,
        created_at: rfc3339(order.created_at),
        expires_at: rfc3339(order.expires_at),
        paid_at: order.paid_at.map(rfc3339),
        transaction_id: order.transaction_id.clone(),
        late_payment: order.late_payment,
        double_payment: order.double_payment,
        shipping_status: order.shipping_status(state.settings.shipping.enabled),
        items,
        payment,
    }
}

/// The order, if it exists and belongs to `user` (else not found: other users' orders
/// are not even acknowledged to exist).
async fn owned_order(
    state: &AppState,
    user: &CurrentUser,
    order_no: &str,
) -> Result<OrderRow, ApiError> {
    if !ids::plausible_id(order_no) {
        return Err(ApiError::order_not_found());
    }
    match state.store.order(order_no).await? {
        Some(order) if order.user_id == user.0.user_id => Ok(order),
        _ => Err(ApiError::order_not_found()),
    }
}

/// `POST /v1/orders`: create, price, and get WeChat's prepay_id.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", operation_id = "create_order",
    security(("user_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,64}$",
        description = "1 to 64 visible ASCII characters: a retry with it returns the first order")),
    request_body = CreateOrder,
    responses(
        (status = 201, description = "Created, with its payment params", body = OrderView),
        (status = 200, description = "The order this Idempotency-Key created before",
            body = OrderView, headers(("Idempotent-Replayed" = String))),
        JsonBody, UserAuth, Unprocessable, Conflict, RateLimited, WeChatFailed, Storage,
    ))]
pub(super) async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    req: HttpRequest,
    request: web::Json<CreateOrder>,
) -> Result<HttpResponse, ApiError> {
    state
        .limits
        .order(user.0.user_id, state.limits.client(&req))?;
    let key = super::idempotency_key(&req)?;
    let (items, total) = pricing::price(&state, &request.items).await?;
    let fingerprint = ids::fingerprint(
        serde_json::to_string(&*request)
            .unwrap_or_default()
            .as_bytes(),
    );
    let ask = OrderAsk {
        payer: Payer {
            user_id: user.0.user_id,
            openid: &user.0.openid,
            appid: user.0.appid.as_deref(),
        },
        items: &items,
        total,
        description: None,
        ttl_ms: None,
        reference: None,
        attach: None,
        idempotency: key.as_deref().map(|k| (k, fingerprint.as_str())),
        key_scope: KeyScope::User,
    };
    let created = create_order(&state, &ask).await?;
    let (order, payment) = (created.order, created.payment);
    if created.replayed {
        let view = view(&state, &order, payment).await?;
        return Ok(HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(view));
    }
    Ok(HttpResponse::Created().json(view_with_items(&state, &order, items, payment)))
}

/// `GET /v1/orders/{order_no}`: the order; when it still awaits payment and our last
/// word from WeChat is stale, WeChat is asked first (the front end's "success" is
/// never trusted).
#[utoipa::path(get, path = "/v1/orders/{order_no}", tag = "orders", operation_id = "get_order",
    security(("user_token" = [])),
    params(("order_no" = String, Path, description = "The order number")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        BadInput, UserAuth, NotFound, WeChatFailed, Storage,
    ))]
pub(super) async fn get(
    state: web::Data<AppState>,
    user: CurrentUser,
    order_no: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let order = owned_order(&state, &user, &order_no).await?;
    let stale_ms = i64::try_from(
        state
            .settings
            .orders
            .query_stale_after_secs
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX);
    let order = payments::refresh_if_stale(&state, order, stale_ms).await?;
    Ok(HttpResponse::Ok().json(view(&state, &order, None).await?))
}

/// `POST /v1/orders/{order_no}/payment`: fresh `wx.requestPayment` params (and a new
/// prepay_id when the old one expired but the order has not). Params are only given for
/// an order that is open after the prepay_id was obtained: a cancel that wins the race
/// makes this a 409.
#[utoipa::path(post, path = "/v1/orders/{order_no}/payment", tag = "orders",
    operation_id = "order_payment",
    security(("user_token" = [])),
    params(("order_no" = String, Path, description = "The order number")),
    responses(
        (status = 200, description = "The order with fresh payment params", body = OrderView),
        BadInput, UserAuth, NotFound, Conflict, WeChatFailed, Storage,
    ))]
pub(super) async fn payment(
    state: web::Data<AppState>,
    user: CurrentUser,
    order_no: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let order = owned_order(&state, &user, &order_no).await?;
    let prepay = payments::ensure_prepay(&state, &order, Attempt::Later).await?;
    let payment = payments::payment_params(&state, &prepay)?;
    Ok(HttpResponse::Ok().json(view(&state, &prepay.order, Some(payment)).await?))
}

/// `POST /v1/orders/{order_no}/cancel`: closes the order at WeChat, then here.
#[utoipa::path(post, path = "/v1/orders/{order_no}/cancel", tag = "orders",
    operation_id = "cancel_order",
    security(("user_token" = [])),
    params(("order_no" = String, Path, description = "The order number")),
    responses(
        (status = 200, description = "The order, closed (or already final)", body = OrderView),
        BadInput, UserAuth, NotFound, Conflict, WeChatFailed, Storage,
    ))]
pub(super) async fn cancel(
    state: web::Data<AppState>,
    user: CurrentUser,
    order_no: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let order = owned_order(&state, &user, &order_no).await?;
    if order.status.is_open() {
        payments::close_at_wechat(&state, &order).await?;
    }
    let order = reload(&state, &order.order_no).await?;
    if order.status == OrderStatus::Paid {
        return Err(ApiError::conflict(
            "ORDER_ALREADY_PAID",
            "the order was paid and cannot be cancelled; refund it instead",
        ));
    }
    Ok(HttpResponse::Ok().json(view(&state, &order, None).await?))
}
