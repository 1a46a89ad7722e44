//! One log line per request: method, path (never the query string: code2session carries
//! the app secret there), status, time taken and a request id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::Instrument;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let request_id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!(
        "request",
        request_id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let response = next.call(req).instrument(span.clone()).await;
    let status = match &response {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    // Milliseconds to the microsecond (0.58, not 0.5799289999999999).
    let elapsed_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    span.in_scope(|| tracing::info!(status, elapsed_ms, "handled"));
    response
}
