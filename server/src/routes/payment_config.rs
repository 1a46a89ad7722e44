//! `GET /v1/payment-config`: what a front end's debug build needs to check the payment
//! params it gets before calling `wx.requestPayment`: the API, the appid, and on v3 the
//! merchant's public key (public material: WeChat verifies paySign with it). Never a key
//! that signs: the v2 API key stays on the server.

use actix_web::{HttpResponse, web};
use base64::Engine as _;
use serde::Serialize;

use crate::config::ApiVersion;
use crate::state::AppState;

#[derive(Debug, Serialize)]
struct PaymentConfig<'a> {
    /// The API of new orders: `v2` or `v3` (an order's params say theirs in `signType`).
    api: &'static str,
    appid: &'a str,
    /// v3: the key `paySign` verifies with (PKCS#1 PEM), for wxpay-sign's
    /// `checkV3PaymentParams`.
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_public_key_pem: Option<String>,
}

pub(super) async fn get(state: web::Data<AppState>) -> HttpResponse {
    let credentials = &state.credentials;
    let merchant_public_key_pem = credentials
        .v3
        .as_ref()
        .map(|v3| pem("RSA PUBLIC KEY", v3.merchant_key.public_key().pkcs1_der()));
    HttpResponse::Ok().json(PaymentConfig {
        api: match credentials.api_version {
            ApiVersion::V2 => "v2",
            ApiVersion::V3 => "v3",
        },
        appid: &credentials.appid,
        merchant_public_key_pem,
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
