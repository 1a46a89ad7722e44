//! The v2 adapter: strict XML, the signature (sign type from the message; that it is the
//! order's own type is a guard of the recording statement), WeChat's XML replies.
//! `return_code` FAIL and a signed `result_code` FAIL are acknowledged and change nothing.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use wxpay_core::v2::notify::{NotifyError, UnverifiedPayNotify};
use wxpay_core::v2::reply;
use wxpay_core::v2::xml::XmlParser;

use super::verdict::{Verdict, record};
use crate::base::clock::now_ms;
use crate::state::AppState;
use crate::store::Settlement;

/// SUCCESS, or FAIL with the reason.
pub(super) fn reply(verdict: &Verdict) -> HttpResponse {
    if verdict.is_acknowledged() {
        HttpResponse::Ok()
            .content_type("text/xml")
            .body(reply::SUCCESS_REPLY)
    } else {
        HttpResponse::build(verdict.status)
            .content_type("text/xml")
            .body(reply::fail_reply(verdict.reason))
    }
}

pub(super) async fn handle(state: &AppState, body: &[u8]) -> Verdict {
    let parsed = XmlParser::new()
        .max_bytes(state.settings.server.notify_max_body_bytes)
        .parse(body)
        .map_err(NotifyError::from)
        .and_then(UnverifiedPayNotify::from_params);
    let unverified = match parsed {
        Ok(notify) => notify,
        // A communication-level failure report: nothing to verify or record. WeChat's
        // rule (protocol §2.11) is to acknowledge it and log it.
        Err(NotifyError::ReturnFail { .. }) => {
            return Verdict::acknowledged("return_fail", "return_code is not SUCCESS");
        }
        Err(_) => {
            return Verdict::refused(StatusCode::BAD_REQUEST, "malformed", "malformed notify");
        }
    };
    // The key is the merchant's the notify names: a notify signed with another
    // merchant's key does not verify, and one naming its own merchant for another's
    // order fails the recording statement's mch_id guard.
    let claimed = unverified.params().get("mch_id").unwrap_or_default();
    let Some(merchant) = state.merchants.by_mch_id(claimed) else {
        return Verdict::refused(
            StatusCode::BAD_REQUEST,
            "unknown_merchant",
            "mch_id is not a merchant of this server",
        );
    };
    let Some(v2) = merchant.gateways.v2() else {
        // Not configured (a v3-only server): WeChat retries, and restoring the API key
        // serves it.
        return Verdict::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "error",
            "API v2 is not configured",
        );
    };
    // Verified before any database work, so a forgery costs no query. The sign type is
    // the message's (its sign_type, else the sign's length); that it is the order's own
    // type is a guard of the recording statement.
    let notify = match unverified.verify(v2.key(), None) {
        Ok(notify) => notify,
        Err(NotifyError::Signature(_)) => {
            return Verdict::refused(
                StatusCode::BAD_REQUEST,
                "bad_signature",
                "signature check failed",
            );
        }
        // Signed, and says the payment failed: acknowledged (else WeChat retries it for a
        // day), and no order changes.
        Err(NotifyError::ResultFail { .. }) => {
            return Verdict::acknowledged("result_fail", "result_code is not SUCCESS");
        }
        Err(_) => {
            return Verdict::refused(
                StatusCode::BAD_REQUEST,
                "malformed",
                "required fields missing",
            );
        }
    };
    let fields = serde_json::to_string(notify.params()).unwrap_or_default();
    record(
        state,
        &Settlement {
            order_no: notify.out_trade_no(),
            transaction_id: notify.transaction_id(),
            amount_fen: notify.total_fee().get(),
            appid: notify.appid(),
            mch_id: notify.mch_id(),
            sign_type: notify.sign_type().as_str(),
            time_end: notify.time_end(),
            source: "notify",
            fields: &fields,
            refunded: false,
            now: now_ms(),
        },
    )
    .await
}
