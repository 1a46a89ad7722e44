//! The HTTP layer: the routes, the notify receivers, authentication, the access log and
//! how errors are written. Handlers parse, authorize and answer; what an order, payment
//! or refund does is in the domain folders below, which this layer may use (and every
//! layer under them), never the other way round.

pub(crate) mod access_log;
mod admin;
mod admin_auth;
mod admin_events;
pub(crate) mod auth;
mod debug_page;
mod error_response;
mod health;
mod login;
mod me;
mod merchant_orders;
mod notify;
pub(crate) mod openapi;
mod orders;
mod payment_config;
mod products;
mod routes;
mod shipping;

use actix_web::http::Method;
use actix_web::{HttpRequest, error, web};

use crate::base::error::ApiError;
use routes::Routes;

use crate::config::{NOTIFY_PATH, NOTIFY_PATH_V3, REFUND_NOTIFY_PATH, REFUND_NOTIFY_PATH_V3};

/// The API. `/metrics` is here unless it has its own listener (`server.metrics_bind`).
/// Returns each route served (`(method, path)`), which a test compares with the OpenAPI
/// document.
pub(crate) fn configure(
    cfg: &mut web::ServiceConfig,
    max_body_bytes: usize,
    metrics: bool,
    admin_api: bool,
    debug_page_dir: Option<&std::path::Path>,
) -> Vec<(Method, String)> {
    let mut routes = Routes::default();
    if metrics {
        routes.get("/metrics", health::metrics);
    }
    if admin_api {
        admin::routes(&mut routes);
    }
    if let Some(dir) = debug_page_dir {
        debug_page::configure(cfg, dir.to_path_buf());
    }
    routes
        .get("/openapi.json", openapi::serve)
        .get("/healthz", health::healthz)
        .get("/readyz", health::readyz)
        .post("/v1/login", login::login)
        .post("/v1/logout", login::logout)
        .post("/v1/me/phone", me::phone)
        .get("/v1/products", products::list)
        .get("/v1/payment-config", payment_config::get)
        .post("/v1/orders", orders::create)
        .get("/v1/orders/{order_no}", orders::get)
        .post("/v1/orders/{order_no}/payment", orders::payment)
        .post("/v1/orders/{order_no}/cancel", orders::cancel)
        .post(NOTIFY_PATH, notify::receive_v2)
        .post(NOTIFY_PATH_V3, notify::receive_v3)
        .post(REFUND_NOTIFY_PATH, notify::receive_refund_v2)
        // v3 notifies carry their event type: one handler for payments and refunds.
        .post(REFUND_NOTIFY_PATH_V3, notify::receive_refund_v3)
        .get(shipping::PUSH_PATH, shipping::push_handshake)
        .post(shipping::PUSH_PATH, shipping::push);
    cfg.app_data(json_config(max_body_bytes))
        .app_data(path_config())
        .app_data(query_config());
    let served = routes.register(cfg);
    cfg.default_service(web::to(not_found));
    served
}

/// `/metrics` alone, on its own listener.
pub(crate) fn configure_metrics(cfg: &mut web::ServiceConfig) {
    let mut routes = Routes::default();
    routes.get("/metrics", health::metrics);
    routes.register(cfg);
}

async fn not_found(req: HttpRequest) -> actix_web::HttpResponse {
    let error = ApiError::new(
        actix_web::http::StatusCode::NOT_FOUND,
        "NOT_FOUND",
        format!("no route for {} {}", req.method(), req.path()),
    );
    actix_web::ResponseError::error_response(&error)
}

/// JSON input: bounded, and a malformed body is a 400 that says what is wrong.
fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| {
            let api = match &err {
                error::JsonPayloadError::Overflow { .. }
                | error::JsonPayloadError::OverflowKnownLength { .. } => ApiError::new(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "request body is too large",
                ),
                error::JsonPayloadError::ContentType => ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UNSUPPORTED_MEDIA_TYPE",
                    "send JSON with Content-Type: application/json",
                ),
                other => {
                    ApiError::bad_request("INVALID_JSON", format!("invalid JSON body: {other}"))
                }
            };
            error::InternalError::from_response(err, actix_web::ResponseError::error_response(&api))
                .into()
        })
}

/// A query string that does not fit is a 400 that says why.
fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let api = ApiError::bad_request("INVALID_QUERY", err.to_string());
        error::InternalError::from_response(err, actix_web::ResponseError::error_response(&api))
            .into()
    })
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _| {
        let api = ApiError::bad_request("INVALID_PATH", err.to_string());
        error::InternalError::from_response(err, actix_web::ResponseError::error_response(&api))
            .into()
    })
}

const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// The request's `Idempotency-Key`, if it sent one (orders and refunds).
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 64 && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_owned())).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_IDEMPOTENCY_KEY",
            "Idempotency-Key must be 1 to 64 visible ASCII characters",
        )
    })
}
