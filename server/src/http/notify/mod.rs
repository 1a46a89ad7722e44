//! WeChat's pay result notifies, v2 (`POST /wechat/pay/notify`, XML) and v3
//! (`POST /wechat/pay/notify/v3`, JSON). One pipeline, two protocol adapters: bounded raw
//! body -> the API's parsing and signature check (before any database work) -> integrity
//! against the stored order -> recorded exactly once -> the API's reply. A verified
//! payment is recorded and acknowledged whatever the order's local state (late and double
//! payments are flagged, never refused). Anything unverified or not matching the order
//! gets the API's failure reply and changes nothing. Everything is logged and counted.

mod refund;
mod v2;
mod v3;
mod verdict;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use super::openapi::{NotifyRefusedV2, NotifyRefusedV3};
use crate::state::AppState;
use verdict::Verdict;

/// An oversized body is read (and dropped) up to this much so the failure reply reaches
/// the sender; a larger one is cut off.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

/// Outcomes of notifies that recorded a payment (and logged it).
const RECORDED: [&str; 3] = ["paid", "late_payment", "double_payment"];

/// The content types of each protocol's notifies.
const XML: &[&str] = &["text/xml", "application/xml"];
const JSON: &[&str] = &["application/json"];

/// `POST /wechat/pay/notify`.
#[utoipa::path(post, path = "/wechat/pay/notify", tag = "wechat", operation_id = "pay_notify_v2",
    request_body(content = String, content_type = "text/xml",
        description = "WeChat's signed XML notify (application/xml too)"),
    responses(
        (status = 200, description = "Acknowledged: `<return_code>SUCCESS</return_code>`",
            content_type = "text/xml", body = String),
        NotifyRefusedV2,
    ))]
pub(super) async fn receive_v2(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let verdict = judge(&state, &req, payload, XML, Verdict::from, async |body| {
        v2::handle(&state, &body).await
    })
    .await;
    v2::reply(&verdict)
}

/// `POST /wechat/pay/notify/v3`.
#[utoipa::path(post, path = "/wechat/pay/notify/v3", tag = "wechat", operation_id = "pay_notify_v3",
    params(
        ("Wechatpay-Timestamp" = String, Header, description = "Unix seconds"),
        ("Wechatpay-Nonce" = String, Header),
        ("Wechatpay-Signature" = String, Header, description = "base64 RSA-SHA256"),
        ("Wechatpay-Serial" = String, Header,
            description = "The platform certificate's serial or the public key's id"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "WeChat's signed notify: {id, create_time, event_type, resource_type, resource, summary}"),
    responses((status = 204, description = "Acknowledged"), NotifyRefusedV3))]
pub(super) async fn receive_v3(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let verdict = judge(&state, &req, payload, JSON, Verdict::from, async |body| {
        v3::handle(&state, &req, &body).await
    })
    .await;
    v3::reply(&verdict)
}

/// `POST /wechat/refund/notify` (v2, `req_info`).
#[utoipa::path(post, path = "/wechat/refund/notify", tag = "wechat",
    operation_id = "refund_notify_v2",
    request_body(content = String, content_type = "text/xml",
        description = "WeChat's signed XML notify (application/xml too)"),
    responses(
        (status = 200, description = "Acknowledged: `<return_code>SUCCESS</return_code>`",
            content_type = "text/xml", body = String),
        NotifyRefusedV2,
    ))]
pub(super) async fn receive_refund_v2(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let verdict = judge(
        &state,
        &req,
        payload,
        XML,
        Verdict::for_refund,
        async |body| refund::handle_v2(&state, &body).await,
    )
    .await;
    v2::reply(&verdict)
}

/// `POST /wechat/refund/notify/v3`: v3 notifies carry their event type, so this is the
/// payment receiver under the refund URL.
#[utoipa::path(post, path = "/wechat/refund/notify/v3", tag = "wechat",
    operation_id = "refund_notify_v3",
    params(
        ("Wechatpay-Timestamp" = String, Header, description = "Unix seconds"),
        ("Wechatpay-Nonce" = String, Header),
        ("Wechatpay-Signature" = String, Header, description = "base64 RSA-SHA256"),
        ("Wechatpay-Serial" = String, Header,
            description = "The platform certificate's serial or the public key's id"),
    ),
    request_body(content = Object, content_type = "application/json",
        description = "WeChat's signed notify: {id, create_time, event_type, resource_type, resource, summary}"),
    responses((status = 204, description = "Acknowledged"), NotifyRefusedV3))]
pub(super) async fn receive_refund_v3(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    receive_v3(state, req, payload).await
}

/// One notify through the pipeline: the bounded body of one of `content_types`, judged
/// by `handle` (`unread` says how a body that could not be read is refused), then counted
/// and logged.
async fn judge(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    content_types: &[&str],
    unread: fn(Verdict) -> Verdict,
    handle: impl AsyncFnOnce(Vec<u8>) -> Verdict,
) -> Verdict {
    let limit = state.settings.server.notify_max_body_bytes;
    let verdict = match read_body(req, payload, limit, content_types).await {
        Ok(body) => handle(body).await,
        Err(verdict) => unread(verdict),
    };
    answer(state, &verdict);
    verdict
}

/// Counts and logs a verdict.
fn answer(state: &AppState, verdict: &Verdict) {
    if verdict.refund {
        state.metrics.refund_notify(verdict.outcome);
    } else {
        state.metrics.notify(verdict.outcome);
    }
    if verdict.is_acknowledged() {
        // A notify that recorded a payment has put its order number and outcome on this
        // request's one log line; a line of its own would say nothing new (and costs ~7 µs
        // of a notify's CPU at peak, BENCHMARKS.md).
        if !RECORDED.contains(&verdict.outcome) {
            tracing::info!(
                outcome = verdict.outcome,
                detail = verdict.reason,
                "notify acknowledged"
            );
        }
    } else {
        tracing::warn!(
            outcome = verdict.outcome,
            reason = verdict.reason,
            "notify refused"
        );
    }
}

/// The raw body, bounded, of one of the `content_types`.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    content_types: &[&str],
) -> Result<Vec<u8>, Verdict> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_types.iter().any(|t| content_type.starts_with(t)) {
        return Err(Verdict::refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_request",
            "unexpected content type",
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
        // failure reply instead of a reset connection.
        if seen <= limit {
            body.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        return Err(too_large());
    }
    Ok(body)
}
