//! Per request: an id (also sent back as `X-Request-Id`), one structured log line
//! (method, route, status, time, and the order and outcome where a handler records them;
//! never the query string or body), and metrics.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use tracing::Instrument;

use crate::state::AppState;
use crate::state::metrics::{HttpLabels, RouteLabel, method_label};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// The process id prefixes request ids (unique across instances on one host); read once,
/// since `getpid` is a system call and this runs on every request.
static PROCESS_ID: OnceLock<u32> = OnceLock::new();

pub(crate) async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = format!(
        "{:x}-{}",
        PROCESS_ID.get_or_init(std::process::id),
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    );
    // Both from closed sets: the standard methods (else OTHER) and the registered route
    // patterns (else `unmatched`), so no request can add a label value.
    let method = method_label(req.method());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    // `order_no` and `outcome` are filled in by handlers that have them, so a paid notify
    // or a new order is this one line, not a line of its own beside it.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        order_no = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut response = next.call(req).instrument(span.clone()).await;
    let status = match &response {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    let elapsed = started.elapsed().as_secs_f64();
    // Milliseconds to the microsecond (0.58, not 0.5799289999999999).
    let elapsed_ms = (elapsed * 1_000_000.0).round() / 1000.0;
    span.in_scope(|| tracing::info!(status, elapsed_ms, "handled"));
    if let Some(metrics) = metrics {
        metrics
            .http_requests
            .get_or_create(&HttpLabels {
                method,
                route: route.clone(),
                status,
            })
            .inc();
        metrics
            .http_latency
            .get_or_create(&RouteLabel { route })
            .observe(elapsed);
    }
    if let (Ok(r), Ok(value)) = (&mut response, HeaderValue::from_str(&request_id)) {
        r.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    response
}
