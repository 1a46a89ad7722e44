//! Orders: priced from our catalog, paid through WeChat, read back by their owner.

use std::collections::HashSet;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use wxpay_core::Fen;

use crate::auth::CurrentUser;
use crate::clock::{now_ms, rfc3339};
use crate::error::ApiError;
use crate::gateway::{NewPrepay, PaymentParams};
use crate::ids;
use crate::payments::{self, Attempt};
use crate::state::AppState;
use crate::store::{InsertOutcome, NewOrder, OrderItem, OrderRow, OrderStatus};

const MAX_LINES: usize = 20;
const MAX_QUANTITY: u32 = 99;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateOrder {
    items: Vec<LineRequest>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LineRequest {
    sku: String,
    quantity: u32,
}

/// An order as its owner sees it.
#[derive(Debug, Serialize)]
struct OrderView {
    order_no: String,
    amount_fen: i64,
    /// `OrderStatus`, or for a paid order WeChat refunded `partially_refunded` /
    /// `refunded`.
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
    items: Vec<OrderItem>,
    /// Pass straight to `wx.requestPayment`.
    #[serde(skip_serializing_if = "Option::is_none")]
    payment: Option<PaymentParams>,
}

fn is_zero(fen: &i64) -> bool {
    *fen == 0
}

async fn view(
    state: &AppState,
    order: &OrderRow,
    payment: Option<PaymentParams>,
) -> Result<OrderView, ApiError> {
    let items = state.store.order_items(&order.order_no).await?;
    Ok(view_with_items(order, items, payment))
}

/// The view when the lines are already at hand (just priced), saving a query.
fn view_with_items(
    order: &OrderRow,
    items: Vec<OrderItem>,
    payment: Option<PaymentParams>,
) -> OrderView {
    OrderView {
        order_no: order.order_no.clone(),
        amount_fen: order.amount_fen,
        status: order.display_status(),
        refunded_fen: order.refunded_fen,
        created_at: rfc3339(order.created_at),
        expires_at: rfc3339(order.expires_at),
        paid_at: order.paid_at.map(rfc3339),
        transaction_id: order.transaction_id.clone(),
        late_payment: order.late_payment,
        double_payment: order.double_payment,
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
    match state.store.order(order_no).await? {
        Some(order) if order.user_id == user.0.user_id => Ok(order),
        _ => Err(ApiError::order_not_found()),
    }
}

async fn reload(state: &AppState, order_no: &str) -> Result<OrderRow, ApiError> {
    state
        .store
        .order(order_no)
        .await?
        .ok_or_else(ApiError::order_not_found)
}

/// Checks the lines and prices them from the catalog. The client sends no price.
async fn price(state: &AppState, request: &CreateOrder) -> Result<(Vec<OrderItem>, Fen), ApiError> {
    if request.items.is_empty() || request.items.len() > MAX_LINES {
        return Err(ApiError::unprocessable(
            "INVALID_ITEMS",
            format!("items must have 1 to {MAX_LINES} lines"),
        ));
    }
    let mut seen = HashSet::new();
    for line in &request.items {
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(ApiError::unprocessable(
                "INVALID_ITEMS",
                format!("quantity of {} must be 1 to {MAX_QUANTITY}", line.sku),
            ));
        }
        if !seen.insert(line.sku.as_str()) {
            return Err(ApiError::unprocessable(
                "INVALID_ITEMS",
                format!(
                    "sku {} appears twice; use one line with a quantity",
                    line.sku
                ),
            ));
        }
    }
    let skus: Vec<&str> = request.items.iter().map(|l| l.sku.as_str()).collect();
    let products = state.store.products_by_sku(&skus).await?;
    let mut items = Vec::with_capacity(request.items.len());
    let mut total = Fen::ZERO;
    for line in &request.items {
        let product = products.iter().find(|p| p.sku == line.sku).ok_or_else(|| {
            ApiError::unprocessable(
                "UNKNOWN_SKU",
                format!(
                    "no product with sku {:?}",
                    line.sku.chars().take(64).collect::<String>()
                ),
            )
        })?;
        let line_total = Fen::new(product.price_fen).checked_mul(line.quantity);
        total = line_total
            .and_then(|t| total.checked_add(t))
            .filter(|t| *t <= Fen::WECHAT_MAX)
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "INVALID_ITEMS",
                    format!(
                        "order total exceeds WeChat Pay's limit of {} fen",
                        Fen::WECHAT_MAX.get()
                    ),
                )
            })?;
        items.push(OrderItem {
            sku: product.sku.clone(),
            name: product.name.clone(),
            unit_price_fen: product.price_fen,
            quantity: i64::from(line.quantity),
        });
    }
    Ok((items, total))
}

/// `POST /v1/orders`: create, price, and get WeChat's prepay_id.
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
    let (items, total) = price(&state, &request).await?;
    let now = now_ms();
    let order_no = ids::order_no(now);
    let ttl_ms = i64::try_from(state.settings.orders.ttl().as_millis()).unwrap_or(i64::MAX);
    let fingerprint = ids::fingerprint(
        serde_json::to_string(&*request)
            .unwrap_or_default()
            .as_bytes(),
    );
    // At most 128 bytes: the configured part is checked at start-up for that.
    let description = format!("{}-{}", state.settings.orders.description, order_no);
    let expires_at = now.saturating_add(ttl_ms);
    let gateway = state.gateways.for_new_orders()?;
    let prepay_request = gateway.prepay_request(&NewPrepay {
        order_no: &order_no,
        description: &description,
        amount: total,
        openid: &user.0.openid,
        expires_at,
    });
    let new_order = NewOrder {
        order_no: &order_no,
        user_id: user.0.user_id,
        openid: &user.0.openid,
        amount_fen: total.get(),
        description: &description,
        sign_type: gateway.sign_type(),
        appid: &state.credentials.appid,
        mch_id: &state.credentials.mch_id,
        now,
        expires_at,
        prepay_request: &prepay_request,
        next_check_at: state.settings.orders.first_check_at(now, expires_at),
        items: &items,
        idempotency: key.as_deref().map(|k| (k, fingerprint.as_str())),
    };
    // A new order is known without reading it back; a replay is read as it is now.
    let (order, replayed) = match state.store.insert_order(&new_order).await? {
        InsertOutcome::Inserted => {
            state.metrics.orders_created.inc();
            // Always within this request: its log line carries the order.
            let _ = crate::access_log::record_order(&order_no, "created");
            (new_order.as_created_row(), false)
        }
        InsertOutcome::KeyUsed {
            request_hash,
            order_no,
        } => {
            if request_hash != fingerprint {
                return Err(ApiError::unprocessable(
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used for a different request",
                ));
            }
            (reload(&state, &order_no).await?, true)
        }
    };
    let attempt = if replayed {
        Attempt::Later
    } else {
        Attempt::First
    };
    let (order, payment) = if order.status.is_open() {
        let prepay = payments::ensure_prepay(&state, &order, attempt).await?;
        let params = payments::payment_params(&state, &prepay)?;
        (prepay.order, Some(params))
    } else {
        (order, None)
    };
    if replayed {
        let view = view(&state, &order, payment).await?;
        return Ok(HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(view));
    }
    Ok(HttpResponse::Created().json(view_with_items(&order, items, payment)))
}

/// `GET /v1/orders/{order_no}`: the order; when it still awaits payment and our last
/// word from WeChat is stale, WeChat is asked first (the front end's "success" is
/// never trusted).
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
