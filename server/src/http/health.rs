//! Health, readiness and metrics.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use secrecy::ExposeSecret;
use serde::Serialize;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::error_response::ErrorBody;
use crate::base::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub(super) struct Health {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    status: &'static str,
}

/// The process is up (no dependencies checked: this must answer while WeChat or the
/// database are down).
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "healthz",
    responses((status = 200, description = "Up", body = Health)))]
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Ready to serve: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readyz",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database does not answer", body = ErrorBody),
    ))]
pub(super) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.store.ping().await {
        HttpResponse::Ok().json(Health { status: "ready" })
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "DATABASE_UNAVAILABLE",
            "the database does not answer",
        )
        .error_response()
    }
}

/// Prometheus metrics; with `server.metrics_token` only for `Authorization: Bearer
/// <token>`. The order gauges come from a database count at most every few seconds.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    security((), ("metrics_token" = [])),
    responses(
        (status = 200, description = "OpenMetrics text",
            content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
            body = String),
        (status = 401, description = "server.metrics_token is set and was not sent", body = ErrorBody),
    ))]
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
