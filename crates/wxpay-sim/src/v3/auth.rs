//! The `Authorization` of a v3 request, checked as WeChat does: the scheme and its five
//! parameters, a known merchant, its certificate serial, the timestamp window, and the
//! signature over exactly what arrived. A wrong signature gets WeChat's 401 `SIGN_ERROR`
//! with `detail.sign_information`, the message WeChat computed (cut short), so a developer
//! can compare it with the one they signed.

use actix_web::HttpRequest;
use actix_web::http::header;
use base64::Engine as _;
use serde_json::json;
use wxpay_core::v3::{Authorization, RequestToSign};

use super::account::V3Merchant;
use super::wire::V3Error;

/// |now - timestamp| at or beyond this is refused.
const WINDOW_SECS: i64 = 300;
/// `truncated_sign_message` keeps at most this many characters.
const SHOWN_MESSAGE_CHARS: usize = 256;

fn sign_error(message: &str) -> V3Error {
    V3Error::new(401, "SIGN_ERROR", message)
}

/// The merchant's parsed `Authorization`, before the merchant is looked up.
pub(crate) fn read_authorization(req: &HttpRequest) -> Result<Authorization, V3Error> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| sign_error("缺少 Authorization 请求头 (Authorization header missing)"))?
        .to_str()
        .map_err(|_| sign_error("Authorization 请求头含有非 ASCII 字符"))?;
    Authorization::parse(value).map_err(|e| {
        sign_error(&format!(
            "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》 ({e})"
        ))
    })
}

/// Checks everything but the merchant lookup.
pub(crate) fn check(
    req: &HttpRequest,
    body: &[u8],
    authorization: &Authorization,
    merchant: &V3Merchant,
    now: i64,
) -> Result<(), V3Error> {
    if !authorization
        .serial_no
        .eq_ignore_ascii_case(&merchant.merchant.serial_no)
    {
        return Err(sign_error(
            "商户证书序列号有误 (serial_no is not the merchant's API certificate serial)",
        ));
    }
    if (now - authorization.timestamp).abs() >= WINDOW_SECS {
        return Err(sign_error(&format!(
            "请求的时间戳与系统时间相差过大 (timestamp {} is {} s from now; the window is {WINDOW_SECS} s)",
            authorization.timestamp,
            now - authorization.timestamp
        )));
    }
    let url = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path(), |p| p.as_str());
    let method = req.method().as_str();
    let message = RequestToSign {
        method,
        url,
        timestamp: authorization.timestamp,
        nonce: &authorization.nonce_str,
        body,
    }
    .message()
    .map_err(|e| sign_error(&format!("签名串无法构造: {e}")))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&authorization.signature)
        .unwrap_or_default();
    if merchant.merchant.public.verify_sha256(&message, &signature) {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(&message);
    Err(sign_error("错误的签名，验签失败").with_detail(json!({
        "field": "signature",
        "location": "authorization",
        "detail": { "issue": "sign not match" },
        "sign_information": {
            "method": method,
            "url": url,
            "sign_message_length": message.len(),
            "truncated_sign_message": shown.chars().take(SHOWN_MESSAGE_CHARS).collect::<String>(),
        }
    })))
}
