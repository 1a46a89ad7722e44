//! The admin API (`/v1/admin/...`), for the merchant's staff and tools: refunds, order
//! lists and reconciliation reports. Authenticated by `admin_auth` (`admin.token` sees
//! every merchant, a `[[merchants]]` `admin_token` its own); without `admin.token` these
//! routes do not exist (404).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(crate) use super::admin_auth::Admin;
use super::error_response::ErrorBody;
use super::openapi::{
    AdminAuth, BadInput, Conflict, DisplayStatus, JsonBody, NotFound, PlatformOnly, Storage,
    Unprocessable, WeChatFailed,
};
use super::routes::Routes;
use crate::base::clock::rfc3339;
use crate::base::error::ApiError;
use crate::base::ids;
use crate::reconciliation::{self, Report};
use crate::refunds::{self, RefundAsk, RefundView};
use crate::state::AppState;
use crate::store::{DISPLAY_STATUSES, OrderFilter, OrderRow, SHIPPING_STATUSES};

/// WeChat's limit on a refund's reason (v2 refund_desc, v3 reason).
const MAX_REASON_CHARS: usize = 80;
/// The largest `limit` of an admin list.
const MAX_LIST: i64 = 500;

/// An admin list's `limit` (`default` when none was asked), 1 to [`MAX_LIST`].
pub(super) fn list_limit(asked: Option<i64>, default: i64) -> Result<i64, ApiError> {
    let limit = asked.unwrap_or(default);
    if !(1..=MAX_LIST).contains(&limit) {
        return Err(ApiError::bad_request(
            "INVALID_QUERY",
            format!("limit must be 1 to {MAX_LIST}"),
        ));
    }
    Ok(limit)
}

/// A query value that must be one of `known` (given as the known `&'static str`).
fn one_of<const N: usize>(
    name: &str,
    given: Option<&str>,
    known: [&'static str; N],
) -> Result<Option<&'static str>, ApiError> {
    let Some(given) = given else {
        return Ok(None);
    };
    known
        .into_iter()
        .find(|k| *k == given)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_QUERY",
                format!("{name} must be one of {}", known.join(", ")),
            )
        })
}

/// The routes, when `admin.token` is set.
pub(super) fn routes(routes: &mut Routes) {
    routes
        .get("/v1/admin/orders", list_orders)
        .post("/v1/admin/orders", super::merchant_orders::create)
        .get("/v1/admin/events", super::admin_events::list)
        .get("/v1/admin/events/{id}", super::admin_events::get)
        .post(
            "/v1/admin/events/{id}/redeliver",
            super::admin_events::redeliver,
        )
        .post("/v1/admin/orders/{order_no}/refunds", create_refund)
        .post(
            "/v1/admin/orders/{order_no}/shipping",
            super::shipping::upload,
        )
        .get("/v1/admin/orders/{order_no}/refunds", list_refunds)
        .get("/v1/admin/reconciliation/{date}", reconciliation_report)
        .post("/v1/admin/reconciliation/{date}", reconcile_day);
}

/// An order as an operator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct AdminOrder<'a> {
    order_no: &'a str,
    user_id: i64,
    openid: &'a str,
    amount_fen: i64,
    #[schema(value_type = DisplayStatus)]
    status: &'static str,
    refunded_fen: i64,
    /// Held by refunds not closed (pending, processing, abnormal, succeeded).
    refund_held_fen: i64,
    late_payment: bool,
    double_payment: bool,
    needs_attention: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<&'a str>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    paid_at: Option<String>,
    /// `v2` or `v3`: the API the order lives on.
    #[schema(examples("v3"))]
    api: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attach: Option<&'a str>,
    #[schema(value_type = super::openapi::ShippingStatus)]
    shipping_status: &'static str,
    /// The last upload WeChat accepted (logistics type, parcels, upload time).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    shipping: Option<serde_json::Value>,
    /// How many uploads WeChat accepted (the second is its one correction).
    shipping_uploads: i64,
    /// WeChat's last reminder that the order waits for its shipping.
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_reminded_at: Option<String>,
    /// Why WeChat refused the automatic upload of `shipping.auto_virtual` (an upload
    /// here clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_error: Option<&'a str>,
}

impl<'a> AdminOrder<'a> {
    pub(super) fn of(order: &'a OrderRow, shipping_enabled: bool) -> AdminOrder<'a> {
        AdminOrder {
            order_no: &order.order_no,
            user_id: order.user_id,
            openid: &order.openid,
            amount_fen: order.amount_fen,
            status: order.display_status(),
            refunded_fen: order.refunded_fen,
            refund_held_fen: order.refund_held_fen,
            late_payment: order.late_payment,
            double_payment: order.double_payment,
            needs_attention: order.needs_attention,
            transaction_id: order.transaction_id.as_deref(),
            created_at: rfc3339(order.created_at),
            paid_at: order.paid_at.map(rfc3339),
            api: crate::wechat::api_of(order).as_str(),
            reference: order.reference.as_deref(),
            attach: order.attach.as_deref(),
            shipping_status: order.shipping_status(shipping_enabled),
            shipping: order
                .shipping
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
            shipping_uploads: order.shipping_uploads,
            shipping_reminded_at: order.shipping_reminded_at.map(rfc3339),
            shipping_error: order.shipping_error.as_deref(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    #[param(value_type = Option<DisplayStatus>)]
    status: Option<String>,
    late_payment: Option<bool>,
    needs_attention: Option<bool>,
    /// The merchant's own order id.
    reference: Option<String>,
    #[param(value_type = Option<super::openapi::ShippingStatus>)]
    shipping_status: Option<String>,
    /// 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct AdminOrders<'a> {
    /// Newest first.
    orders: Vec<AdminOrder<'a>>,
}

/// `GET /v1/admin/orders?status=&late_payment=&needs_attention=&reference=&shipping_status=&limit=`.
#[utoipa::path(get, path = "/v1/admin/orders", tag = "merchant", operation_id = "list_orders",
    security(("admin_token" = [])),
    params(ListQuery),
    responses((status = 200, description = "Orders, newest first", body = AdminOrders),
        BadInput, AdminAuth, Storage))]
pub(super) async fn list_orders(
    admin: Admin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = one_of("status", query.status.as_deref(), DISPLAY_STATUSES)?;
    if query
        .reference
        .as_deref()
        .is_some_and(|r| r.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "INVALID_QUERY",
            "reference holds control characters (no order's does)",
        ));
    }
    let shipping_status = one_of(
        "shipping_status",
        query.shipping_status.as_deref(),
        SHIPPING_STATUSES,
    )?;
    let shipping_enabled = state.settings.shipping.enabled;
    let limit = list_limit(query.limit, 50)?;
    let orders = state
        .store
        .list_orders(&OrderFilter {
            status,
            late_payment: query.late_payment,
            needs_attention: query.needs_attention,
            reference: query.reference.as_deref(),
            shipping_status,
            shipping_enabled,
            mch_id: admin.mch_id.as_deref(),
            limit,
        })
        .await?;
    let orders = orders
        .iter()
        .map(|o| AdminOrder::of(o, shipping_enabled))
        .collect();
    Ok(HttpResponse::Ok().json(AdminOrders { orders }))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CreateRefund {
    /// At most what is left to refund.
    #[schema(minimum = 1)]
    amount_fen: i64,
    /// Shown to the user: at most 80 characters.
    #[schema(max_length = 80)]
    reason: Option<String>,
}

/// `POST /v1/admin/orders/{order_no}/refunds {amount_fen, reason?}` (`Idempotency-Key`
/// recommended: a retry with it returns the first refund, never a second one).
#[utoipa::path(post, path = "/v1/admin/orders/{order_no}/refunds", tag = "merchant",
    operation_id = "create_refund",
    security(("admin_token" = [])),
    params(("order_no" = String, Path, description = "The order number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,64}$",
            description = "1 to 64 visible ASCII characters: a retry returns the first refund")),
    request_body = CreateRefund,
    responses(
        (status = 201, description = "Asked of WeChat", body = RefundView),
        (status = 200, description = "The refund this Idempotency-Key created before",
            body = RefundView, headers(("Idempotent-Replayed" = String))),
        JsonBody, AdminAuth, NotFound, Conflict, Unprocessable, WeChatFailed, Storage,
    ))]
pub(super) async fn create_refund(
    admin: Admin,
    state: web::Data<AppState>,
    req: HttpRequest,
    order_no: web::Path<String>,
    body: web::Json<CreateRefund>,
) -> Result<HttpResponse, ApiError> {
    if !ids::plausible_id(&order_no) {
        return Err(ApiError::order_not_found());
    }
    if admin.mch_id.is_some() {
        admin.order(state.store.order(&order_no).await?)?;
    }
    if body.amount_fen < 1 {
        return Err(ApiError::unprocessable(
            "INVALID_AMOUNT",
            "amount_fen must be a positive number of fen",
        ));
    }
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(ApiError::unprocessable(
            "INVALID_REASON",
            format!("reason must be at most {MAX_REASON_CHARS} characters (shown to the user)"),
        ));
    }
    let key = super::idempotency_key(&req)?;
    let fingerprint =
        ids::fingerprint(serde_json::to_string(&*body).unwrap_or_default().as_bytes());
    let (refund, created) = refunds::create(
        &state,
        &RefundAsk {
            order_no: &order_no,
            amount_fen: body.amount_fen,
            reason,
            idempotency: key.as_deref().map(|k| (k, fingerprint.as_str())),
        },
    )
    .await?;
    let view = RefundView::of(&refund);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok()
            .insert_header(("Idempotent-Replayed", "true"))
            .json(view)
    })
}

#[derive(Serialize, ToSchema)]
pub(super) struct OrderRefunds<'a> {
    order: AdminOrder<'a>,
    /// Oldest first.
    refunds: Vec<RefundView>,
}

/// `GET /v1/admin/orders/{order_no}/refunds`: the order's refund sums and its refunds.
#[utoipa::path(get, path = "/v1/admin/orders/{order_no}/refunds", tag = "merchant",
    operation_id = "list_refunds",
    security(("admin_token" = [])),
    params(("order_no" = String, Path, description = "The order number")),
    responses((status = 200, description = "The order and its refunds", body = OrderRefunds),
        BadInput, AdminAuth, NotFound, Storage))]
pub(super) async fn list_refunds(
    admin: Admin,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !ids::plausible_id(&order_no) {
        return Err(ApiError::order_not_found());
    }
    let order = admin.order(state.store.order(&order_no).await?)?;
    let refunds = state.store.refunds_of(&order.order_no).await?;
    Ok(HttpResponse::Ok().json(OrderRefunds {
        order: AdminOrder::of(&order, state.settings.shipping.enabled),
        refunds: refunds.iter().map(RefundView::of).collect(),
    }))
}

/// A reconciled day's report; 404 for a day never reconciled.
#[utoipa::path(get, path = "/v1/admin/reconciliation/{date}", tag = "merchant",
    operation_id = "reconciliation_report",
    security(("admin_token" = [])),
    params(("date" = String, Path, description = "YYYY-MM-DD (Beijing)")),
    responses((status = 200, description = "The day's report", body = Report),
        (status = 404, description = "Not reconciled yet (NOT_RECONCILED)", body = ErrorBody),
        BadInput, AdminAuth, PlatformOnly, Storage))]
pub(super) async fn reconciliation_report(
    admin: Admin,
    state: web::Data<AppState>,
    date: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    admin.platform()?;
    match reconciliation::report(&state, &date).await? {
        Some(report) => Ok(HttpResponse::Ok().json(report)),
        None => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "NOT_RECONCILED",
            format!("{date} has not been reconciled; POST here to reconcile it"),
        )),
    }
}

/// Reconciles a day now (its stored bill, or downloaded) and returns the report.
#[utoipa::path(post, path = "/v1/admin/reconciliation/{date}", tag = "merchant",
    operation_id = "reconcile_day",
    security(("admin_token" = [])),
    params(("date" = String, Path, description = "YYYY-MM-DD (Beijing); a day that is over")),
    responses((status = 200, description = "The day's report", body = Report),
        (status = 409, description = "The day is not over (DAY_NOT_OVER)", body = ErrorBody),
        BadInput, AdminAuth, PlatformOnly, WeChatFailed, Storage))]
pub(super) async fn reconcile_day(
    admin: Admin,
    state: web::Data<AppState>,
    date: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    admin.platform()?;
    let report = reconciliation::reconcile_day(&state, &date).await?;
    Ok(HttpResponse::Ok().json(report))
}
