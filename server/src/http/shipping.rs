//! The order-shipping service over HTTP: the merchant's upload
//! (`POST /v1/admin/orders/{order_no}/shipping`) and the Mini Program's message push
//! (`GET`/`POST /wechat/mp/events`), which carries WeChat's shipping events.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use wxpay_client::shipping::{Contact, LogisticsType, Parcel};

use super::admin::{Admin, AdminOrder};
use super::openapi::{
    AdminAuth, BadInput, Conflict, JsonBody, NotFound, PushRefused, Storage, Unprocessable,
    WeChatFailed,
};
use crate::base::error::ApiError;
use crate::base::ids;
use crate::mini_program::push::{self, PushQuery};
use crate::mini_program::shipping::{self, Shipping};
use crate::state::AppState;

/// The message push URL to set in the Mini Program's admin console.
pub(super) const PUSH_PATH: &str = "/wechat/mp/events";

/// A parcel: for express shipping its tracking number and company.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ParcelAsk {
    #[schema(max_length = 128)]
    tracking_no: Option<String>,
    /// An id of WeChat's express companies (`SF`, `YTO`, `ZTO`, `STO`, `YD`, `JTSD`...).
    #[schema(max_length = 128)]
    express_company: Option<String>,
    /// What is in it, at most 120 characters (default: the order's description).
    item_desc: Option<String>,
    /// Masked phone numbers (`189****1234`): SF Express needs one.
    consignor_contact: Option<String>,
    receiver_contact: Option<String>,
}

/// What was shipped.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ShippingAsk {
    /// `express`, `same_city`, `virtual` (nothing travels) or `self_pickup`.
    #[schema(value_type = String, examples("express"))]
    logistics_type: LogisticsType,
    /// 1 to 15 parcels; more than one (or `all_delivered: false`) is split shipping.
    parcels: Vec<ParcelAsk>,
    /// False when more parcels follow in a later upload (express only). Default true.
    all_delivered: Option<bool>,
}

/// `POST /v1/admin/orders/{order_no}/shipping`.
#[utoipa::path(post, path = "/v1/admin/orders/{order_no}/shipping", tag = "merchant",
    operation_id = "upload_shipping",
    security(("admin_token" = [])),
    params(("order_no" = String, Path, description = "The order number")),
    request_body = ShippingAsk,
    responses(
        (status = 200, description = "WeChat took it: the order with its shipping", body = AdminOrder),
        JsonBody, BadInput, AdminAuth, NotFound, Conflict, Unprocessable, WeChatFailed, Storage,
    ))]
pub(super) async fn upload(
    admin: Admin,
    state: web::Data<AppState>,
    order_no: web::Path<String>,
    body: web::Json<ShippingAsk>,
) -> Result<HttpResponse, ApiError> {
    if !ids::plausible_id(&order_no) {
        return Err(ApiError::order_not_found());
    }
    let order = admin.order(state.store.order(&order_no).await?)?;
    let body = body.into_inner();
    let parcels = body
        .parcels
        .into_iter()
        .map(|p| Parcel {
            tracking_no: p.tracking_no,
            express_company: p.express_company,
            item_desc: p.item_desc.unwrap_or_default(),
            contact: (p.consignor_contact.is_some() || p.receiver_contact.is_some()).then_some(
                Contact {
                    consignor_contact: p.consignor_contact,
                    receiver_contact: p.receiver_contact,
                },
            ),
        })
        .collect();
    let ask = Shipping {
        logistics_type: body.logistics_type,
        parcels,
        all_delivered: body.all_delivered.unwrap_or(true),
    };
    shipping::upload(&state, &order, &ask).await?;
    let order = state
        .store
        .order(&order.order_no)
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    Ok(HttpResponse::Ok().json(AdminOrder::of(&order, state.settings.shipping.enabled)))
}

/// `GET /wechat/mp/events`: the URL check of the message push settings.
#[utoipa::path(get, path = "/wechat/mp/events", tag = "wechat", operation_id = "mp_push_check",
    params(
        ("signature" = String, Query, description = "SHA1 of the sorted Token, timestamp, nonce"),
        ("timestamp" = String, Query), ("nonce" = String, Query),
        ("echostr" = String, Query, description = "Echoed when the signature is ours"),
    ),
    responses((status = 200, description = "`echostr`, as is", content_type = "text/plain", body = String),
        PushRefused))]
pub(super) async fn push_handshake(
    state: web::Data<AppState>,
    query: web::Query<PushQuery>,
) -> Result<HttpResponse, ApiError> {
    let echo = push::handshake(&state, &query).map_err(push::Refused::into_api)?;
    Ok(HttpResponse::Ok().content_type("text/plain").body(echo))
}

/// `POST /wechat/mp/events`: a message push (every Mini Program event comes here; the
/// shipping service's are acted on, the others acknowledged).
#[utoipa::path(post, path = "/wechat/mp/events", tag = "wechat", operation_id = "mp_push",
    params(
        ("signature" = String, Query), ("timestamp" = String, Query), ("nonce" = String, Query),
        ("encrypt_type" = Option<String>, Query, description = "`aes` in the compatible and secure modes"),
        ("msg_signature" = Option<String>, Query, description = "SHA1 of the sorted Token, timestamp, nonce, Encrypt"),
        ("openid" = Option<String>, Query),
    ),
    request_body(content = String, content_type = "text/xml",
        description = "WeChat's XML or JSON (application/json), plain or with Encrypt"),
    responses((status = 200, description = "Acknowledged: `success`", content_type = "text/plain", body = String),
        PushRefused))]
pub(super) async fn push(
    state: web::Data<AppState>,
    query: web::Query<PushQuery>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if body.len() > state.settings.server.notify_max_body_bytes {
        return Err(ApiError::bad_request(
            "INVALID_PUSH",
            "the push is too large",
        ));
    }
    let body = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("INVALID_PUSH", "the push is not UTF-8"))?;
    let message = push::open(&state, &query, body).map_err(|refused| {
        tracing::warn!(%refused, "message push refused");
        refused.into_api()
    })?;
    push::receive(&state, &message).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain")
        .body("success"))
}
