//! The control API under `/sim/` (JSON): faults, the notify log, trades and merchants.
//! `/sim/login` and `/sim/pay` live with the parts of WeChat they play.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::MerchantConfig;
use crate::faults::{FaultKind, FaultSpec};
use crate::state::{Sim, TradeState};

pub(crate) fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

pub(crate) async fn add_fault(
    sim: web::Data<Arc<Sim>>,
    spec: web::Json<FaultSpec>,
) -> HttpResponse {
    let spec = spec.into_inner();
    if let Err(message) = spec.validate() {
        return bad_request(message);
    }
    if spec.kind == FaultKind::RotateCertificate {
        // Not a fault on later calls: WeChat issues the certificates now.
        let Some(count) = spec.count else {
            return bad_request("rotate_certificate takes a count, not a probability".into());
        };
        return match crate::v3::control::rotate_certificates(&mut sim.state(), count) {
            Ok(merchants) => {
                HttpResponse::Created().json(json!({ "rotated_merchants": merchants }))
            }
            Err(response) => response,
        };
    }
    sim.state().faults.add(spec.clone());
    HttpResponse::Created().json(spec)
}

pub(crate) async fn list_faults(sim: web::Data<Arc<Sim>>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "faults": sim.state().faults.list() }))
}

pub(crate) async fn clear_faults(sim: web::Data<Arc<Sim>>) -> HttpResponse {
    sim.state().faults.clear();
    HttpResponse::NoContent().finish()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotifyFilter {
    out_trade_no: Option<String>,
}

pub(crate) async fn notifies(
    sim: web::Data<Arc<Sim>>,
    filter: web::Query<NotifyFilter>,
) -> HttpResponse {
    let state = sim.state();
    let attempts: Vec<_> = state
        .notifies
        .iter()
        .filter(|a| {
            filter
                .out_trade_no
                .as_ref()
                .is_none_or(|o| *o == a.out_trade_no)
        })
        .collect();
    HttpResponse::Ok().json(json!({ "attempts": attempts }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TradeFilter {
    mch_id: Option<String>,
}

/// The simulator's view of a trade.
#[derive(Debug, Serialize)]
struct TradeView<'t> {
    appid: &'t str,
    mch_id: &'t str,
    out_trade_no: &'t str,
    openid: &'t str,
    total_fee: i64,
    trade_state: &'static str,
    sign_type: &'static str,
    notify_url: &'t str,
    prepay_id: &'t str,
    transaction_id: Option<&'t str>,
    time_end: Option<String>,
    attach: Option<&'t str>,
    body: Option<&'t str>,
}

pub(crate) async fn trade(
    sim: web::Data<Arc<Sim>>,
    out_trade_no: web::Path<String>,
    filter: web::Query<TradeFilter>,
) -> HttpResponse {
    let state = sim.state();
    let found = state.trades.values().find(|t| {
        t.out_trade_no == *out_trade_no && filter.mch_id.as_ref().is_none_or(|m| *m == t.mch_id)
    });
    match found {
        None => HttpResponse::NotFound().json(json!({ "error": "no such trade" })),
        Some(t) => HttpResponse::Ok().json(TradeView {
            appid: &t.appid,
            mch_id: &t.mch_id,
            out_trade_no: &t.out_trade_no,
            openid: &t.openid,
            total_fee: t.total_fee.get(),
            trade_state: t.state.wire(),
            sign_type: t.sign_type_name(),
            notify_url: &t.notify_url,
            prepay_id: &t.prepay_id,
            transaction_id: t.transaction_id.as_deref(),
            time_end: t.time_end(),
            attach: t.field("attach"),
            body: t.field("body"),
        }),
    }
}

/// `POST /sim/trades/{out_trade_no}/refund`: the merchant refunded a paid trade in full
/// on WeChat's merchant platform (outside any API): orderquery now says `REFUND`.
pub(crate) async fn refund_trade(
    sim: web::Data<Arc<Sim>>,
    out_trade_no: web::Path<String>,
    filter: web::Query<TradeFilter>,
) -> HttpResponse {
    let mut state = sim.state();
    let found = state.trades.values_mut().find(|t| {
        t.out_trade_no == *out_trade_no && filter.mch_id.as_ref().is_none_or(|m| *m == t.mch_id)
    });
    match found {
        None => HttpResponse::NotFound().json(json!({ "error": "no such trade" })),
        Some(t) if t.state != TradeState::Success => {
            HttpResponse::Conflict().json(json!({ "error": "only a paid trade can be refunded" }))
        }
        Some(t) => {
            t.state = TradeState::Refund;
            HttpResponse::Ok().json(json!({ "trade_state": t.state.wire() }))
        }
    }
}

pub(crate) async fn add_merchant(
    sim: web::Data<Arc<Sim>>,
    merchant: web::Json<MerchantConfig>,
) -> HttpResponse {
    let merchant = merchant.into_inner();
    let view = json!({
        "appid": merchant.appid,
        "mch_id": merchant.mch_id,
        "unionid": merchant.unionid,
        "key_mode": merchant.key_mode.as_str(),
    });
    match sim.state().add_merchant(merchant) {
        Ok(()) => HttpResponse::Created().json(view),
        Err(e) => bad_request(e.to_string()),
    }
}

/// Merchants without their keys and secrets.
pub(crate) async fn merchants(sim: web::Data<Arc<Sim>>) -> HttpResponse {
    let state = sim.state();
    let list: Vec<_> = state.merchants.iter().map(|m| &m.config).collect();
    HttpResponse::Ok().json(json!({ "merchants": list }))
}
