//! `GET /v1/payment-config`: what a front end's debug build needs to check the payment
//! params it gets before calling `wx.requestPayment`: the API, the appid, and on v3 the
//! merchant's public key (public material: WeChat verifies paySign with it). Never a key
//! that signs: the v2 API key stays on the server.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct PaymentConfig<'a> {
    /// The API of new orders: `v2` or `v3` (an order's params say theirs in `signType`).
    #[schema(examples("v3"))]
    api: &'static str,
    appid: &'a str,
    /// v3: the key `paySign` verifies with (PKCS#1 PEM), for wxpay-sign's
    /// `checkV3PaymentParams`.
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_public_key_pem: Option<String>,
}

/// What a debug build checks the payment params with: the API, the appid, the v3 key.
#[utoipa::path(get, path = "/v1/payment-config", tag = "orders", operation_id = "payment_config",
    responses((status = 200, description = "The configuration", body = PaymentConfig)))]
pub(super) async fn get(state: web::Data<AppState>) -> HttpResponse {
    let credentials = &state.merchant().credentials;
    let merchant_public_key_pem = credentials
        .v3
        .as_ref()
        .map(|v3| v3.merchant_key.public_key().pkcs1_pem());
    HttpResponse::Ok().json(PaymentConfig {
        api: credentials.api_version.as_str(),
        appid: &credentials.appid,
        merchant_public_key_pem,
    })
}
