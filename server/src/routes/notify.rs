//! `POST /wechat/pay/notify`: WeChat's pay result notify. The pipeline is fixed: bounded
//! raw body -> strict XML -> signature (sign type from the message, else the order's) ->
//! integrity against the stored order -> exactly-once transition -> WeChat's reply.
//! Anything refused gets FAIL, changes nothing, and is logged and counted.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use wxpay_core::notify::{ExpectedOrder, NotifyError, UnverifiedPayNotify};
use wxpay_core::xml::XmlParser;
use wxpay_core::{Fen, reply};

use crate::clock::now_ms;
use crate::metrics::OutcomeLabel;
use crate::state::AppState;
use crate::store::{SettleOutcome, Settlement};

/// An oversized body is read (and dropped) up to this much so the FAIL reply reaches the
/// sender; a larger one is cut off.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// The outcome of the notify that paid its order.
const PAID: &str = "paid";

/// What happened to one notify: the HTTP status, the reply and the metric label.
struct Verdict {
    status: StatusCode,
    outcome: &'static str,
    reason: &'static str,
}

impl Verdict {
    fn accepted(outcome: &'static str) -> Verdict {
        Verdict {
            status: StatusCode::OK,
            outcome,
            reason: "",
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
        // A paid notify has already logged "order paid (notify)" with its order number in
        // this request's span; a second line would say nothing new (and costs ~7 µs of a
        // notify's CPU at peak, BENCHMARKS.md).
        if verdict.outcome != PAID {
            tracing::info!(outcome = verdict.outcome, "notify acknowledged");
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
        Err(NotifyError::ReturnFail { .. }) => {
            return Verdict::refused(
                StatusCode::BAD_REQUEST,
                "return_fail",
                "return_code is not SUCCESS",
            );
        }
        Err(_) => {
            return Verdict::refused(StatusCode::BAD_REQUEST, "malformed", "malformed notify");
        }
    };
    // Verified before any database work, so a forgery costs no query. The sign type is
    // the message's (its sign_type, else the sign's length); that it is the order's own
    // type is a guard of the paying statement, checked below when it does not pay.
    let notify = match unverified.verify(&state.credentials.api_key, None) {
        Ok(notify) => notify,
        Err(NotifyError::Signature(_)) => {
            return Verdict::refused(
                StatusCode::BAD_REQUEST,
                "bad_signature",
                "signature check failed",
            );
        }
        Err(NotifyError::ResultFail { .. }) => {
            return Verdict::refused(
                StatusCode::BAD_REQUEST,
                "result_fail",
                "result_code is not SUCCESS",
            );
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
    // One statement pays the order only if amount, appid, mch_id and sign type all
    // equal the order's (the happy path: a single database round trip).
    let settled = state
        .store
        .try_settle(&Settlement {
            order_no: notify.out_trade_no(),
            transaction_id: notify.transaction_id(),
            amount_fen: notify.total_fee().get(),
            appid: notify.appid(),
            mch_id: notify.mch_id(),
            sign_type: notify.sign_type().as_str(),
            time_end: notify.time_end(),
            source: "notify",
            fields: &fields,
            now: now_ms(),
        })
        .await;
    if let Ok(Some(SettleOutcome::Paid)) = settled {
        state
            .metrics
            .settlements
            .get_or_create(&OutcomeLabel { outcome: "notify" })
            .inc();
        tracing::info!(order_no = %notify.out_trade_no(), "order paid (notify)");
        return Verdict::accepted(PAID);
    }
    // It did not pay: say exactly why, from the stored order (read once, for the checks
    // below and for the outcome).
    let order = match state.store.order(notify.out_trade_no()).await {
        Ok(Some(order)) => order,
        Ok(None) => {
            return Verdict::refused(
                StatusCode::NOT_FOUND,
                "unknown_order",
                "unknown out_trade_no",
            );
        }
        Err(error) => {
            tracing::error!(%error, "notify: cannot load the order");
            return Verdict::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "temporary failure",
            );
        }
    };
    if order.sign_type != notify.sign_type().as_str() {
        return Verdict::refused(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            "signed with another sign type than the order's",
        );
    }
    let expected = ExpectedOrder {
        appid: &order.appid,
        mch_id: &order.mch_id,
        out_trade_no: &order.order_no,
        total_fee: Fen::new(order.amount_fen),
    };
    if let Err(mismatch) = notify.check_matches(&expected) {
        tracing::error!(order_no = %order.order_no, field = mismatch.0, "genuine notify does not match the order");
        return Verdict::refused(
            StatusCode::BAD_REQUEST,
            "mismatch",
            "notify does not match the order",
        );
    }
    let settled = settled.map(|decided| {
        decided.unwrap_or_else(|| {
            SettleOutcome::for_order(
                order.status.as_str(),
                order.transaction_id.as_deref(),
                notify.transaction_id(),
            )
        })
    });
    match settled {
        // Already paid by this transaction (`Paid` returned above and does not come here).
        Ok(SettleOutcome::Paid | SettleOutcome::AlreadyPaid) => Verdict::accepted("duplicate"),
        Ok(SettleOutcome::Refused(reason)) => {
            tracing::error!(order_no = %order.order_no, reason, "verified notify refused");
            Verdict::refused(StatusCode::CONFLICT, "refused", reason)
        }
        Err(error) => {
            // Not acknowledged: WeChat will retry, and the reconciler also looks.
            tracing::error!(order_no = %order.order_no, %error, "notify: cannot record the payment");
            Verdict::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "temporary failure",
            )
        }
    }
}
