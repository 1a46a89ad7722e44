//! Control calls: an app's shipping settings (`POST /sim/apps/{appid}/shipping`:
//! trade managed or not, its message push URL, Token, EncodingAESKey, mode and format),
//! the payer confirming receipt (`POST /sim/shipping/confirm`, which settles the funds
//! unless told not to), the 48-hour reminder on demand (`POST /sim/shipping/remind`),
//! any other push (`POST /sim/pushes/send`) and the push log (`GET /sim/pushes`).

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use wxpay_core::push::PushKey;

use super::push::{self, Message, PushConfig};
use super::{find_trade, order_state};
use crate::control::bad_request;
use crate::state::Sim;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppSettings {
    trade_managed: Option<bool>,
    /// Its push settings; `null` removes them.
    #[serde(default, deserialize_with = "present")]
    push: Option<Option<PushConfig>>,
}

/// A field given as `null` is `Some(None)`, one left out `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<PushConfig>>, D::Error> {
    Option::<PushConfig>::deserialize(d).map(Some)
}

pub(crate) async fn configure_app(
    sim: web::Data<Arc<Sim>>,
    appid: web::Path<String>,
    settings: web::Json<AppSettings>,
) -> HttpResponse {
    let mut state = sim.state();
    if state.merchant_by_appid(&appid).is_none() {
        return bad_request(format!("unknown appid {appid}"));
    }
    let settings = settings.into_inner();
    if let Some(Some(config)) = &settings.push {
        if let Err(error) = PushKey::from_encoding_aes_key(&config.encoding_aes_key) {
            return bad_request(error.to_string());
        }
        if !config.url.starts_with("http://") && !config.url.starts_with("https://") {
            return bad_request("push.url must be an http(s) URL".into());
        }
        if config.token.len() < 3 || config.token.len() > 32 {
            return bad_request("push.token must be 3 to 32 characters, as WeChat's".into());
        }
    }
    let app = state.shipping.apps.entry(appid.into_inner()).or_default();
    if let Some(managed) = settings.trade_managed {
        app.trade_managed = managed;
    }
    if let Some(config) = settings.push {
        app.push = config;
    }
    HttpResponse::Ok().json(describe(app))
}

fn describe(app: &super::AppShipping) -> Value {
    json!({
        "trade_managed": app.trade_managed,
        "jump_path": app.jump_path,
        "push": app.push.as_ref().map(|p| json!({"url": p.url, "mode": p.mode, "format": p.format})),
    })
}

pub(crate) async fn app_settings(
    sim: web::Data<Arc<Sim>>,
    appid: web::Path<String>,
) -> HttpResponse {
    let state = sim.state();
    let app = state
        .shipping
        .apps
        .get(appid.as_str())
        .cloned()
        .unwrap_or_default();
    HttpResponse::Ok().json(describe(&app))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Confirm {
    appid: String,
    transaction_id: Option<String>,
    mch_id: Option<String>,
    out_trade_no: Option<String>,
    /// Settle at once (default), or stay at "receipt confirmed".
    #[serde(default = "yes")]
    settle: bool,
    /// 1 automatic (the confirmation period ended), 2 the payer (default).
    #[serde(default = "by_payer")]
    method: i64,
}

fn yes() -> bool {
    true
}

fn by_payer() -> i64 {
    2
}

/// The payer confirms receipt (or the period ends): a shipped trade moves to 3, then,
/// when settled, to 4 with its settlement push.
pub(crate) async fn confirm(sim: web::Data<Arc<Sim>>, request: web::Json<Confirm>) -> HttpResponse {
    let mut state = sim.state();
    let Some(key) = find_trade(
        &state,
        &request.appid,
        request.transaction_id.as_deref(),
        request.mch_id.as_deref(),
        request.out_trade_no.as_deref(),
    ) else {
        return HttpResponse::NotFound().json(json!({"error": "no such paid trade"}));
    };
    let Some(trade) = state.trades.get(&key) else {
        return HttpResponse::NotFound().json(json!({"error": "no such paid trade"}));
    };
    let current = order_state(trade, state.shipping.shipments.get(&key));
    if current != 2 && !(current == 3 && request.settle) {
        return HttpResponse::Conflict().json(
            json!({"error": "only a shipped trade can be confirmed", "order_state": current}),
        );
    }
    let now = crate::clock::now().unix_timestamp();
    let Some(shipment) = state.shipping.shipments.get_mut(&key) else {
        return HttpResponse::Conflict().json(json!({"error": "not shipped"}));
    };
    let confirmed_at = *shipment.confirmed_at.get_or_insert(now);
    let shipped_at = shipment.finished_at.unwrap_or(now);
    let settlement = request.settle.then(|| {
        shipment.settled_at = Some(now);
        (request.method, confirmed_at)
    });
    let Some(trade) = state.trades.get(&key) else {
        return HttpResponse::NotFound().json(json!({"error": "no such paid trade"}));
    };
    let message =
        settlement.map(|settled| push::settlement_phase(trade, shipped_at, Some(settled)));
    let now_state = order_state(trade, state.shipping.shipments.get(&key));
    drop(state);
    if let Some(message) = message {
        push::spawn(Arc::clone(&sim), &request.appid, message);
    }
    HttpResponse::Ok().json(json!({ "order_state": now_state }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Remind {
    appid: String,
    /// Only this trade (default: every paid trade of the app not yet shipped).
    out_trade_no: Option<String>,
}

/// What WeChat sends 48 hours after a payment with no shipping.
pub(crate) async fn remind(sim: web::Data<Arc<Sim>>, request: web::Json<Remind>) -> HttpResponse {
    let messages: Vec<Message> = {
        let state = sim.state();
        state
            .trades
            .iter()
            .filter(|(key, trade)| {
                trade.appid == request.appid
                    && trade.state.was_paid()
                    && request.out_trade_no.as_ref().is_none_or(|no| *no == key.1)
                    && order_state(trade, state.shipping.shipments.get(*key)) == 1
            })
            .map(|(_, trade)| push::remind_shipping(trade))
            .collect()
    };
    let count = messages.len();
    for message in messages {
        push::spawn(Arc::clone(&sim), &request.appid, message);
    }
    HttpResponse::Ok().json(json!({ "reminded": count }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendPush {
    appid: String,
    event: String,
    /// The event's own fields (strings and numbers).
    #[serde(default)]
    fields: serde_json::Map<String, Value>,
}

/// Any push (another of the many events the same URL receives).
pub(crate) async fn send_push(
    sim: web::Data<Arc<Sim>>,
    request: web::Json<SendPush>,
) -> HttpResponse {
    let request = request.into_inner();
    let message = Message {
        event: request.event,
        fields: request.fields.into_iter().collect(),
    };
    push::spawn(Arc::clone(&sim), &request.appid, message);
    HttpResponse::Accepted().json(json!({ "sent": true }))
}

pub(crate) async fn pushes(sim: web::Data<Arc<Sim>>) -> HttpResponse {
    HttpResponse::Ok().json(&sim.state().shipping.pushes)
}
