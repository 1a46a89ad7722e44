//! WeChat Pay API v3 as the simulator speaks it: the same trades as v2 (a trade is a
//! trade), reached through JSON endpoints with RSA signatures both ways.
//!
//! - [`forge`]: keys and certificates derived from the seed;
//! - [`account`]: a merchant's key mode, migration week and rotations, resolved to keys;
//! - `auth`: the request's `Authorization`; `wire`: signed replies and v3 errors;
//! - `transactions`: prepay (JSAPI), query by either id, close; `certificates`:
//!   `GET /v3/certificates`; [`notify`]: v3 notifies; `control`: the `/sim/` v3 endpoints.

pub mod account;
mod auth;
pub(crate) mod bill;
mod certificates;
pub(crate) mod control;
pub mod forge;
pub(crate) mod notify;
mod sandbox_keys;
pub(crate) mod transactions;
pub(crate) mod wire;

use std::sync::Arc;

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};

use crate::faults::{Endpoint, FaultKind};
use crate::ids;
use crate::state::{Sim, SimState};
use account::V3Merchant;
pub use sandbox_keys::{SandboxCertificate, SandboxKeys};
use wire::{Answer, Unsigned, V3Error};

/// A v3 call that passed its `Authorization` check, for an API's business rules.
pub(crate) struct V3Request<'a> {
    pub merchant: &'a V3Merchant,
    /// The path's `{...}` value, if the route has one.
    pub path_value: &'a str,
    pub query: &'a str,
    pub body: &'a [u8],
    /// `scheme://host` as the caller reached the simulator (for download URLs).
    pub origin: String,
    /// The fault this call drew, for APIs whose outcome it shapes (refunds).
    pub fault: Option<FaultKind>,
}

impl V3Request<'_> {
    /// A query parameter, percent-decoded.
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

type V3Api = fn(&Sim, &mut SimState, &V3Request<'_>) -> Result<Answer, V3Error>;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v3/pay/transactions/jsapi",
        web::post().to(|sim, req, body| {
            handle(sim, req, body, Endpoint::Unifiedorder, transactions::prepay)
        }),
    )
    .route(
        "/v3/pay/transactions/id/{transaction_id}",
        web::get().to(|sim, req, body| {
            handle(
                sim,
                req,
                body,
                Endpoint::Orderquery,
                transactions::query_by_id,
            )
        }),
    )
    .route(
        "/v3/pay/transactions/out-trade-no/{out_trade_no}",
        web::get().to(|sim, req, body| {
            handle(
                sim,
                req,
                body,
                Endpoint::Orderquery,
                transactions::query_by_out_trade_no,
            )
        }),
    )
    .route(
        "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
        web::post()
            .to(|sim, req, body| handle(sim, req, body, Endpoint::Closeorder, transactions::close)),
    )
    .route(
        "/v3/refund/domestic/refunds",
        web::post().to(|sim, req, body| {
            handle(sim, req, body, Endpoint::Refund, crate::refund::v3::create)
        }),
    )
    .route(
        "/v3/refund/domestic/refunds/{out_refund_no}",
        web::get().to(|sim, req, body| {
            handle(
                sim,
                req,
                body,
                Endpoint::Refundquery,
                crate::refund::v3::query,
            )
        }),
    )
    .route(
        "/v3/bill/tradebill",
        web::get().to(|sim, req, body| handle(sim, req, body, Endpoint::Bill, bill::tradebill)),
    )
    .route(
        "/v3/billdownload/file",
        web::get().to(|sim, req, body| handle(sim, req, body, Endpoint::Bill, bill::download)),
    )
    .route(
        "/v3/certificates",
        web::get().to(|sim, req, body| {
            handle(sim, req, body, Endpoint::Certificates, certificates::list)
        }),
    );
}

/// The steps every v3 API takes: who is calling (the `Authorization`), faults, the API's
/// rules under the state lock, then the reply signed with the key the merchant's mode
/// picks for this request.
async fn handle(
    sim: web::Data<Arc<Sim>>,
    req: HttpRequest,
    body: Bytes,
    endpoint: Endpoint,
    api: V3Api,
) -> HttpResponse {
    let authorization = match auth::read_authorization(&req) {
        Ok(authorization) => authorization,
        Err(error) => return Unsigned::from_result(Err(error)).unsigned(&sim),
    };
    let merchant = match account::snapshot(&sim, &authorization.mchid).await {
        Ok(Some(merchant)) => merchant,
        Ok(None) => {
            let error = V3Error::new(400, "MCH_NOT_EXISTS", "商户号不存在");
            return Unsigned::from_result(Err(error)).unsigned(&sim);
        }
        Err(error) => {
            tracing::error!(%error, "cannot make the merchant's v3 keys");
            let error = V3Error::new(500, "SYSTEM_ERROR", "系统错误");
            return Unsigned::from_result(Err(error)).unsigned(&sim);
        }
    };
    let requested_serial = req
        .headers()
        .get("Wechatpay-Serial")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let reply = |sim: &Sim, result: Result<Answer, V3Error>, corrupt: bool| {
        let unsigned = Unsigned::from_result(result);
        match merchant.response_key(requested_serial.as_deref()) {
            Some(key) => unsigned.signed(sim, key, corrupt),
            None => unsigned.unsigned(sim),
        }
    };
    let now = crate::clock::now().unix_timestamp();
    if let Err(error) = auth::check(&req, &body, &authorization, &merchant, now) {
        return reply(&sim, Err(error), false);
    }

    let fault = sim.state().take_fault(endpoint);
    let kind = fault.as_ref().map(|f| f.kind);
    if let Some(fault) = &fault
        && fault.kind == FaultKind::SlowRequest
    {
        tokio::time::sleep(fault.delay()).await;
    }
    let request = V3Request {
        merchant: &merchant,
        path_value: req.match_info().iter().next().map_or("", |(_, v)| v),
        query: req.query_string(),
        body: &body,
        origin: {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        },
        fault: kind,
    };
    let outcome = match kind {
        Some(FaultKind::Http5xx) => None,
        Some(FaultKind::UnsignedNotFound) => {
            let error = V3Error::new(404, "ORDER_NOT_EXIST", "订单不存在");
            return Unsigned::from_result(Err(error)).unsigned(&sim);
        }
        Some(FaultKind::SystemError) => Some(Err(V3Error::new(
            500,
            "SYSTEM_ERROR",
            "系统异常，请使用相同参数稍后重新调用",
        ))),
        Some(FaultKind::NotEnough) => Some(Err(V3Error::new(
            403,
            "NOT_ENOUGH",
            crate::refund::rules::Refusal::NotEnough.description(),
        ))),
        _ => Some(api(&sim, &mut sim.state(), &request)),
    };
    if let Some(fault) = &fault
        && matches!(fault.kind, FaultKind::Delay | FaultKind::Timeout)
    {
        tokio::time::sleep(fault.delay()).await;
    }
    match outcome {
        Some(Ok(Answer::File(bytes))) => HttpResponse::Ok()
            .insert_header(("Request-ID", ids::request_id(&mut sim.state().rng)))
            .content_type("application/octet-stream")
            .body(bytes),
        Some(result) => reply(&sim, result, kind == Some(FaultKind::BadSign)),
        None => crate::http_status(fault.and_then(|f| f.status).unwrap_or(500)),
    }
}
