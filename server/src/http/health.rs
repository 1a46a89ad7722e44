//! Health, readiness and metrics.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use secrecy::ExposeSecret;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::base::error::ApiError;
use crate::state::AppState;

/// The process is up (no dependencies checked: this must answer while WeChat or the
/// database are down).
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready to serve: the database answers.
pub(super) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.store.ping().await {
        HttpResponse::Ok().json(json!({ "status": "ready" }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({
            "code": "DATABASE_UNAVAILABLE",
            "message": "the database does not answer",
        }))
    }
}

/// Prometheus metrics; with `server.metrics_token` only for `Authorization: Bearer
/// <token>`. The order gauges come from a database count at most every few seconds.
pub(crate) async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Some(token) = &state.settings.server.metrics_token {
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(sent.as_bytes().ct_eq(token.expose_secret().as_bytes())) {
            return ApiError::unauthorized("send Authorization: Bearer <server.metrics_token>")
                .error_response();
        }
    }
    if state.metrics.order_counts_due() {
        match state.store.count_orders_by_status().await {
            Ok(counts) => state.metrics.set_order_counts(&counts),
            Err(error) => tracing::warn!(%error, "cannot count orders for /metrics"),
        }
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}
