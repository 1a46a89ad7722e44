//! Health, readiness and metrics.

use actix_web::{HttpResponse, web};
use serde_json::json;

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

pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    match state.store.count_orders_by_status().await {
        Ok(counts) => state.metrics.set_orders_by_status(&counts),
        Err(error) => tracing::warn!(%error, "cannot count orders for /metrics"),
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.render())
}
