//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `#[utoipa::path]`
//! attributes and the types they answer with; the webhooks wxpay sends are in it too.
//! Served at `GET /openapi.json` and checked in as `server/openapi.json`: tests fail when
//! the served routes, the document and the checked-in copy disagree, and schemathesis
//! holds the running sandbox to it in CI.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use actix_web::HttpResponse;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::error_response::ErrorBody;
use crate::store::DISPLAY_STATUSES;
use crate::webhooks::schema::webhooks;

/// Security scheme names (`Authorization: Bearer ...`).
pub(super) const USER_TOKEN: &str = "user_token";
pub(super) const ADMIN_TOKEN: &str = "admin_token";
pub(super) const METRICS_TOKEN: &str = "metrics_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wxpay",
        description = "WeChat Mini Program sign-in and WeChat Pay (v2 and v3): orders priced \
            from the catalog or by the merchant's backend, payment params for \
            wx.requestPayment, WeChat's notifies, refunds, reconciliation and the events \
            outbox. Money is integer fen. Errors are JSON {code, message, order_no?}. The \
            /v1/admin routes exist only when admin.token is set.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        serve,
        super::health::healthz,
        super::health::readyz,
        super::health::metrics,
        super::login::login,
        super::login::logout,
        super::me::phone,
        super::products::list,
        super::payment_config::get,
        super::orders::create,
        super::orders::get,
        super::orders::payment,
        super::orders::cancel,
        super::notify::receive_v2,
        super::notify::receive_v3,
        super::notify::receive_refund_v2,
        super::notify::receive_refund_v3,
        super::admin::list_orders,
        super::merchant_orders::create,
        super::admin::create_refund,
        super::admin::list_refunds,
        super::admin::reconciliation_report,
        super::admin::reconcile_day,
        super::admin_events::list,
        super::admin_events::get,
        super::admin_events::redeliver,
        super::shipping::upload,
        super::shipping::push_handshake,
        super::shipping::push,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes, &Webhooks),
    tags(
        (name = "session", description = "Sign-in through wx.login and code2session"),
        (name = "orders", description = "The mini program's orders and their payment params"),
        (name = "merchant", description = "The merchant's backend (admin token)"),
        (name = "events", description = "The outbox: what webhooks carry, to pull or replay"),
        (name = "wechat", description = "What WeChat calls: signed pay notifies and the Mini Program's message pushes"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
    )
)]
struct Document;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, about) in [
            (USER_TOKEN, "The token from POST /v1/login."),
            (ADMIN_TOKEN, "admin.token (WXPAY_ADMIN__TOKEN)."),
            (METRICS_TOKEN, "server.metrics_token, when it is set."),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(about))
                        .build(),
                ),
            );
        }
    }
}

/// Each event type as a webhook: `POST` to the merchant's `[webhooks] url`, signed per
/// Standard Webhooks; any 2xx acknowledges it.
struct Webhooks;

impl Modify for Webhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut schemas = Vec::new();
        let mut paths = PathsBuilder::new();
        for (webhook, schema) in webhooks() {
            schemas.push((webhook.schema.clone(), RefOr::T(schema)));
            let body = RequestBodyBuilder::new()
                .required(Some(utoipa::openapi::Required::True))
                .content(
                    "application/json",
                    Content::new(Some(Ref::from_schema_name(&webhook.schema))),
                )
                .build();
            let operation = OperationBuilder::new()
                .operation_id(Some(webhook.event_type.replace('.', "_")))
                .summary(Some(webhook.summary))
                .description(Some(SIGNED))
                .tag("events")
                .request_body(Some(body))
                .response(
                    "2XX",
                    ResponseBuilder::new()
                        .description("Received: not sent again")
                        .build(),
                )
                .response(
                    "default",
                    ResponseBuilder::new()
                        .description(
                            "Anything else, a timeout or no connection: sent again later, \
                             with the same webhook-id",
                        )
                        .build(),
                )
                .build();
            paths = paths.path(
                webhook.event_type,
                PathItem::new(HttpMethod::Post, operation),
            );
        }
        openapi.webhooks = Some(paths.build());
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.extend(schemas);
    }
}

const SIGNED: &str = "Headers webhook-id (the event's id, the same on every retry), \
    webhook-timestamp (Unix seconds) and webhook-signature (`v1,<base64 HMAC-SHA256 of \
    id.timestamp.body>` with the whsec_ secret; two during a rotation), per the Standard \
    Webhooks specification.";

/// The document, built once.
pub(crate) fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(Document::openapi);
    &DOCUMENT
}

/// The document as served and checked in (pretty JSON, a newline at the end).
pub(crate) fn document_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        let mut json = document()
            .to_pretty_json()
            .unwrap_or_else(|_| String::from("{}"));
        json.push('\n');
        json
    });
    &JSON
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)),
)]
pub(super) async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}

/// An order's status as shown: its state, or for a paid order WeChat refunded
/// `partially_refunded` / `refunded` (the values the admin list filters by).
pub(super) struct DisplayStatus;

impl utoipa::PartialSchema for DisplayStatus {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(DISPLAY_STATUSES))
                .build(),
        ))
    }
}

impl ToSchema for DisplayStatus {}

/// An order's shipping as shown (WeChat's order-shipping service).
pub(super) struct ShippingStatus;

impl utoipa::PartialSchema for ShippingStatus {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(crate::store::SHIPPING_STATUSES))
                .build(),
        ))
    }
}

impl ToSchema for ShippingStatus {}

/// An error response per status: JSON [`ErrorBody`].
fn error_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name(ErrorBody::name()))),
            )
            .build(),
    )
}

/// Named sets of error responses, to list in `responses(...)`.
macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident { $($status:literal => $about:literal),+ $(,)? })+) => {
        $(
            $(#[$doc])*
            pub(super) struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([$(($status.to_string(), error_response($about))),+])
                }
            }
        )+
    };
}

error_responses! {
    /// Every route that reads the database.
    Storage { 500 => "The database failed (logged; retry)" }
    /// Routes that take a JSON body.
    JsonBody {
        400 => "The body is not the JSON this route takes (the message says what is wrong)",
        413 => "The body is too large",
        415 => "Not Content-Type: application/json",
    }
    /// Routes with a query string or path parameters that can be malformed.
    BadInput { 400 => "A parameter is malformed (the message says which)" }
    UserAuth { 401 => "No token, or unknown or expired: log in again" }
    AdminAuth { 401 => "No admin token, or a wrong one" }
    /// Routes over every merchant (events, bills).
    PlatformOnly { 403 => "A merchant's admin token: this route covers every merchant (PLATFORM_ONLY)" }
    NotFound { 404 => "No such order (or not the caller's)" }
    RateLimited { 429 => "Too many requests: retry after Retry-After seconds" }
    Conflict { 409 => "The order's state does not allow it (the code says why)" }
    Unprocessable { 422 => "A field breaks a rule (the code names it)" }
    WeChatFailed {
        502 => "WeChat refused the call (logged)",
        503 => "WeChat did not answer in time: retry",
    }
    /// A message push refused: nothing it says was used (WeChat sends it again).
    PushRefused {
        400 => "Not WeChat's XML or JSON",
        401 => "The signature, msg_signature or appid does not verify, or the timestamp is stale",
        500 => "Not recorded here (logged): WeChat sends it again",
        502 => "WeChat refused the check of what the push says: WeChat sends it again",
        503 => "The message push is not configured, or WeChat could not be asked: WeChat sends it again",
    }
}

/// Why a notify is refused (WeChat sends it again later): unreadable or unverified (400),
/// not ours (404), not matching the order (409), too large (413), the wrong content
/// type (415), or a failure here (5xx: WeChat's retry is the recovery).
const NOTIFY_REFUSALS: [(u16, &str); 8] = [
    (400, "Unreadable or unverified: nothing changed"),
    (404, "Verified, but about no order of ours"),
    (
        409,
        "Verified, but not matching the order (amount, appid or merchant)",
    ),
    (413, "The body is too large"),
    (415, "The wrong content type"),
    (500, "Not recorded here (logged): WeChat sends it again"),
    (
        502,
        "WeChat's own answer about it did not verify: WeChat sends it again",
    ),
    (
        503,
        "This API is not configured, or a dependency is down: WeChat sends it again",
    ),
];

/// A v2 notify refused: WeChat's XML `<return_code>FAIL</return_code>` reply.
pub(super) struct NotifyRefusedV2;

impl IntoResponses for NotifyRefusedV2 {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let xml = || {
            Content::new(Some(RefOr::T(Schema::Object(
                ObjectBuilder::new().schema_type(Type::String).build(),
            ))))
        };
        NOTIFY_REFUSALS
            .into_iter()
            .map(|(status, about)| {
                let response = ResponseBuilder::new()
                    .description(about)
                    .content("text/xml", xml())
                    .build();
                (status.to_string(), RefOr::T(response))
            })
            .collect()
    }
}

/// A v3 notify refused: `{"code": "FAIL", "message"}`.
pub(super) struct NotifyRefusedV3;

impl IntoResponses for NotifyRefusedV3 {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        NOTIFY_REFUSALS
            .into_iter()
            .map(|(status, about)| (status.to_string(), error_response(about)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::App;
    use serde_json::Value;

    use super::*;

    fn documented() -> BTreeSet<(String, String)> {
        let json: Value = serde_json::from_str(document_json()).unwrap();
        let mut routes = BTreeSet::new();
        for (path, item) in json["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                routes.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        routes
    }

    #[test]
    fn every_route_served_is_documented_and_every_documented_one_served() {
        let mut served = Vec::new();
        let _app = App::new().configure(|cfg| {
            served = super::super::configure(cfg, 1024, true, true, None);
        });
        let served: BTreeSet<(String, String)> = served
            .into_iter()
            .map(|(method, path)| (method.to_string(), path))
            .collect();
        assert_eq!(served.len(), 29, "{served:#?}");
        assert_eq!(served, documented());
    }

    #[test]
    fn the_checked_in_document_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        if checked_in != document_json() && std::env::var_os("WXPAY_UPDATE_OPENAPI").is_some() {
            std::fs::write(path, document_json()).unwrap();
            return;
        }
        assert!(
            checked_in == document_json(),
            "server/openapi.json is not the document the code generates: run \
             `cargo run -p wxpay-server -- openapi > server/openapi.json` (or this test with \
             WXPAY_UPDATE_OPENAPI=1) and review the difference"
        );
    }

    /// Every `$ref` names a schema the document holds, and every security requirement a
    /// scheme it defines (schemathesis and code generators stop at either).
    #[test]
    fn every_reference_resolves() {
        let json: Value = serde_json::from_str(document_json()).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let schemas = json["components"]["schemas"].as_object().unwrap();
        let schemes = json["components"]["securitySchemes"].as_object().unwrap();
        let mut stack = vec![&json];
        let mut refs = 0;
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let name = target.strip_prefix("#/components/schemas/").unwrap();
                        assert!(schemas.contains_key(name), "{target}");
                        refs += 1;
                    }
                    if let Some(Value::Array(requirements)) = map.get("security") {
                        for requirement in requirements {
                            for scheme in requirement.as_object().unwrap().keys() {
                                assert!(schemes.contains_key(scheme), "{scheme}");
                            }
                        }
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        assert!(refs > 40, "{refs}");
        let webhooks: Vec<&String> = json["webhooks"].as_object().unwrap().keys().collect();
        let types: Vec<&str> = crate::store::EventType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect();
        assert_eq!(webhooks.len(), types.len());
        assert!(types.iter().all(|t| webhooks.iter().any(|w| w == t)));
    }
}
