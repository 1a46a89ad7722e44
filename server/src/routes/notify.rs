//! `POST /wechat/pay/notify`: WeChat's pay result notify. The pipeline is fixed: bounded
//! raw body -> strict XML -> signature (sign type from the message; the order's type is
//! binding) -> integrity against the stored order -> recorded exactly once -> WeChat's
//! reply. A verified payment is recorded and acknowledged whatever the order's local
//! state (late and double payments are flagged, never refused); `return_code` FAIL and a
//! signed `result_code` FAIL are acknowledged and change nothing. Anything unverified or
//! not matching the order gets FAIL and changes nothing. Everything is logged and counted.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use wxpay_core::v2::notify::{NotifyError, UnverifiedPayNotify};
use wxpay_core::v2::reply;
use wxpay_core::v2::xml::XmlParser;

use crate::clock::now_ms;
use crate::payments::note_settlement;
use crate::state::AppState;
use crate::store::{Refusal, SettleOutcome, Settlement};

/// An oversized body is read (and dropped) up to this much so the FAIL reply reaches the
/// sender; a larger one is cut off.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Outcomes of notifies that recorded a payment (and logged it).
const RECORDED: [&str; 3] = ["paid", "late_payment", "double_payment"];

/// What happened to one notify: the HTTP status, the reply and the metric label.
struct Verdict {
    status: StatusCode,
    outcome: &'static str,
    reason: &'static str,
}

impl Verdict {
    fn accepted(outcome: &'static str) -> Verdict {
        Verdict::acknowledged(outcome, "")
    }

    /// SUCCESS, with a note for the log.
    fn acknowledged(outcome: &'static str, reason: &'static str) -> Verdict {
        Verdict {
            status: StatusCode::OK,
            outcome,
            reason,
        }
    }

    fn refused(status: StatusCode, outcome: &'static str, reason: &'static str) -> Verdict {
        Verdict {
            status,
            outcome,
            reason,
        }
    }
}

pub(super) async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let verdict = match read_body(&req, payload, state.settings.server.notify_max_body_bytes).await
    {
        Ok(body) => handle(&state, &body).await,
        Err(verdict) => verdict,
    };
    state.metrics.notify(verdict.outcome);
    if verdict.status == StatusCode::OK {
        // A notify that recorded a payment has already logged it with its order number in
        // this request's span; a second line would say nothing new (and costs ~7 µs of a
        // notify's CPU at peak, BENCHMARKS.md).
        if !RECORDED.contains(&verdict.outcome) {
            tracing::info!(
                outcome = verdict.outcome,
                detail = verdict.reason,
                "notify acknowledged"
            );
        }
        HttpResponse::Ok()
            .content_type("text/xml")
            .body(reply::SUCCESS_REPLY)
    } else {
        tracing::warn!(
            outcome = verdict.outcome,
            reason = verdict.reason,
            "notify refused"
        );
        HttpResponse::build(verdict.status)
            .content_type("text/xml")
            .body(reply::fail_reply(verdict.reason))
    }
}

/// The raw body, bounded, from an XML content type.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Vec<u8>, Verdict> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.starts_with("text/xml") || content_type.starts_with("application/xml")) {
        return Err(Verdict::refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "content type must be text/xml",
        ));
    }
    let too_large = || {
        Verdict::refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bad_request",
            "body too large",
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > DRAIN_LIMIT) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            Verdict::refused(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "body could not be read",
            )
        })?;
        seen = seen.saturating_add(chunk.len());
        if seen > DRAIN_LIMIT {
            break;
        }
        // Past the limit the rest is read and dropped, not kept, so the sender gets the
        // FAIL reply instead of a reset connection.
        if seen <= limit {
            body.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(body)
}

async fn handle(state: &AppState, body: &[u8]) -> Verdict {
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
    // Verified before any database work, so a forgery costs no query. The sign type is
    // the message's (its sign_type, else the sign's length); that it is the order's own
    // type is a guard of the recording statement.
    let notify = match unverified.verify(&state.credentials.api_key, None) {
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
    let settled = state
        .store
        .settle(&Settlement {
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
        })
        .await;
    let outcome = match settled {
        Ok(outcome) => outcome,
        Err(error) => {
            // Not acknowledged: WeChat will retry, and the reconciler also looks.
            tracing::error!(order_no = %notify.out_trade_no(), %error, "notify: cannot record the payment");
            return Verdict::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "temporary failure",
            );
        }
    };
    note_settlement(
        state,
        "notify",
        notify.out_trade_no(),
        notify.transaction_id(),
        outcome,
    );
    match outcome {
        SettleOutcome::Paid { late: false } => Verdict::accepted("paid"),
        SettleOutcome::Paid { late: true } => Verdict::accepted("late_payment"),
        SettleOutcome::ExtraPayment => Verdict::accepted("double_payment"),
        SettleOutcome::AlreadyRecorded => Verdict::accepted("duplicate"),
        SettleOutcome::Refused(refusal) => refused(refusal),
    }
}

/// The FAIL for a verified notify that does not match our records.
fn refused(refusal: Refusal) -> Verdict {
    let reason = refusal.reason();
    match refusal {
        Refusal::UnknownOrder => Verdict::refused(StatusCode::NOT_FOUND, "unknown_order", reason),
        Refusal::SignType => Verdict::refused(StatusCode::BAD_REQUEST, "bad_signature", reason),
        Refusal::Mismatch(_) => Verdict::refused(StatusCode::BAD_REQUEST, "mismatch", reason),
        // The records disagree with WeChat (its transaction ids are unique): not
        // acknowledged, so WeChat keeps the evidence coming while an operator looks.
        Refusal::TransactionConflict => {
            Verdict::refused(StatusCode::CONFLICT, "transaction_conflict", reason)
        }
    }
}
