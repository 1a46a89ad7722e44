//! The v3 adapter: the signature over the raw body (headers, the 300 s window, the key by
//! `Wechatpay-Serial`: a public key, a platform certificate, or either in the migration
//! week; an unknown serial makes a merchant on certificates download them once), then the
//! resource decrypted with the APIv3 key, then the payment. Success is 204; failure a
//! 4xx/5xx with `{"code":"FAIL","message":...}` (protocol §3.8).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;
use wxpay_core::v3::notify::NotifyError;
use wxpay_core::v3::verify::SignatureHeaders;
use wxpay_core::v3::{VerifiedNotify, VerifyError};

use super::verdict::{Verdict, record, refused};
use crate::base::clock::now_ms;
use crate::state::AppState;
use crate::store::Settlement;
use crate::wechat::V3_SIGN_TYPE;

/// 204, or the failure JSON.
pub(super) fn reply(verdict: &Verdict) -> HttpResponse {
    if verdict.is_acknowledged() {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::build(verdict.status)
            .json(json!({ "code": "FAIL", "message": verdict.reason }))
    }
}

/// Each way a signature fails, its own metric label.
fn unverified(error: &VerifyError) -> Verdict {
    match error {
        VerifyError::SignatureProbe => refused("probe", "a signature probe is not a signature"),
        VerifyError::OutsideWindow { .. } => {
            refused("stale", "Wechatpay-Timestamp is 300 s or more from now")
        }
        VerifyError::UnknownSerial(_) => refused("unknown_serial", "no key for Wechatpay-Serial"),
        VerifyError::MissingHeader(_) => refused("bad_signature", "signature headers missing"),
        _ => refused("bad_signature", "signature check failed"),
    }
}

pub(super) async fn handle(state: &AppState, req: &HttpRequest, body: &[u8]) -> Verdict {
    let headers = match SignatureHeaders::from_lookup(|name| {
        req.headers().get(name).and_then(|v| v.to_str().ok())
    }) {
        Ok(headers) => headers,
        Err(error) => return unverified(&error),
    };
    // Verified before any database work, so a forgery costs no query: by the first
    // merchant on v3 whose WeChat keys it verifies under (each merchant has its own
    // WeChat Pay key; the resource then opens only under that merchant's APIv3 key).
    let now = now_ms() / 1000;
    let mut outcome = None;
    for v3 in state.merchants.iter().filter_map(|m| m.gateways.v3()) {
        match v3.client().verify_refreshing(&headers, body, now).await {
            Ok(verified) => {
                outcome = Some(Ok((v3, verified)));
                break;
            }
            Err(error) => outcome = Some(Err(error)),
        }
    }
    let (v3, verified) = match outcome {
        Some(Ok(found)) => found,
        Some(Err(error)) => return unverified(&error),
        // Not configured: WeChat retries, and configuring v3 serves it.
        None => {
            return Verdict::refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "error",
                "API v3 is not configured",
            );
        }
    };
    let notify = match VerifiedNotify::parse(verified) {
        Ok(notify) => notify,
        Err(_) => return refused("malformed", "not a v3 notify"),
    };
    if notify.event_type().starts_with("REFUND.") {
        return super::refund::handle_v3(state, &notify, v3.client()).await;
    }
    if notify.event_type() != "TRANSACTION.SUCCESS" {
        // Signed by WeChat and about something this server does not act on: taken, so
        // WeChat does not retry it for a day.
        return Verdict::acknowledged("ignored_event", "not a payment or refund notify");
    }
    let decrypted = match notify.decrypt(&v3.client().credentials().apiv3_key) {
        Ok(decrypted) => decrypted,
        // A wrong APIv3 key or a tampered resource: nothing readable; WeChat retries and
        // the reconciler queries the order meanwhile.
        Err(NotifyError::Decrypt(_)) => {
            return refused("decrypt_failed", "the resource does not decrypt");
        }
        Err(_) => return refused("malformed", "the resource cannot be read"),
    };
    let payment = match decrypted.transaction() {
        Ok(payment) => payment,
        Err(_) => return refused("malformed", "the payment cannot be read"),
    };
    let (Some(transaction_id), Some(amount)) = (payment.transaction_id.as_deref(), &payment.amount)
    else {
        return refused("malformed", "transaction_id or amount missing");
    };
    if payment.mchid != v3.client().mchid() {
        return refused("mismatch", "the payment is another merchant's");
    }
    if payment.trade_state != "SUCCESS" {
        return Verdict::acknowledged("result_fail", "trade_state is not SUCCESS");
    }
    record(
        state,
        &Settlement {
            order_no: &payment.out_trade_no,
            transaction_id,
            amount_fen: amount.total,
            appid: &payment.appid,
            mch_id: &payment.mchid,
            sign_type: V3_SIGN_TYPE,
            time_end: payment.success_time.as_deref().unwrap_or_default(),
            source: "notify",
            fields: &decrypted.plaintext,
            refunded: false,
            now: now_ms(),
        },
    )
    .await
}
