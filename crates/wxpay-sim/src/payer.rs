//! `POST /sim/pay`: plays `wx.requestPayment` on the user's phone. It checks the five
//! params and the paySign as the WeChat client does, then pays, cancels or fails.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use wxpay_core::v2::RequestPayment;

use crate::clock::{beijing_compact, now};
use crate::ids;
use crate::state::{PREPAY_TTL, Sim, SimState, TradeKey, TradeState};

/// What the user does in the payment sheet.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    #[default]
    Ok,
    Cancel,
    Fail,
}

/// The five `wx.requestPayment` params, in the order WeChat's type check reports them.
const PARAMS: [&str; 5] = ["timeStamp", "nonceStr", "package", "signType", "paySign"];

fn err_msg(message: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "errMsg": format!("requestPayment:{message}") }))
}

/// JavaScript's name for a JSON value's type, as in the client's
/// "parameter.timeStamp should be String instead of Number;".
fn js_type(value: Option<&Value>) -> &'static str {
    match value {
        None => "Undefined",
        Some(Value::Null) => "Null",
        Some(Value::Bool(_)) => "Boolean",
        Some(Value::Number(_)) => "Number",
        Some(Value::String(_)) => "String",
        Some(Value::Array(_)) => "Array",
        Some(Value::Object(_)) => "Object",
    }
}

pub(crate) async fn pay(sim: web::Data<Arc<Sim>>, body: web::Json<Value>) -> HttpResponse {
    let body = body.into_inner();
    let text = |name: &str| body.get(name).and_then(Value::as_str);
    let type_errors: String = PARAMS
        .iter()
        .filter(|name| !matches!(body.get(**name), Some(Value::String(_))))
        .map(|name| {
            format!(
                "parameter.{name} should be String instead of {};",
                js_type(body.get(*name))
            )
        })
        .collect();
    if !type_errors.is_empty() {
        return err_msg(&format!("fail parameter error: {type_errors}"));
    }
    let (Some(appid), Some(openid)) = (text("appid"), text("openid")) else {
        return crate::control::bad_request(
            "appid and openid (strings) say which Mini Program and which user pay".into(),
        );
    };
    let outcome = match body.get("outcome") {
        None => Outcome::Ok,
        Some(value) => match Outcome::deserialize(value) {
            Ok(outcome) => outcome,
            Err(_) => {
                return crate::control::bad_request("outcome must be ok, cancel or fail".into());
            }
        },
    };
    let payment = RequestPayment {
        time_stamp: text("timeStamp").unwrap_or_default().to_owned(),
        nonce_str: text("nonceStr").unwrap_or_default().to_owned(),
        package: text("package").unwrap_or_default().to_owned(),
        sign_type: text("signType").unwrap_or_default().to_owned(),
        pay_sign: text("paySign").unwrap_or_default().to_owned(),
    };
    let mut state = sim.state();
    match check(&sim, &state, appid, openid, &payment) {
        Err(message) => err_msg(&format!("fail {message}")),
        Ok(key) => match outcome {
            Outcome::Cancel => err_msg("fail cancel"),
            Outcome::Fail => err_msg("fail payment failed (simulated)"),
            Outcome::Ok => {
                settle(&mut state, &key);
                drop(state);
                // The dispatcher only stops when the simulator does.
                let _ = sim.deliveries.send(key);
                err_msg("ok")
            }
        },
    }
}

/// The client's checks, in order. Returns the trade to pay.
fn check(
    sim: &Sim,
    state: &SimState,
    appid: &str,
    openid: &str,
    payment: &RequestPayment,
) -> Result<TradeKey, &'static str> {
    if !matches!(payment.sign_type.as_str(), "MD5" | "HMAC-SHA256") {
        return Err("parameter error: signType must be MD5 or HMAC-SHA256");
    }
    let merchant = state.merchant_by_appid(appid).ok_or("invalid appid")?;
    let prepay_id = payment
        .prepay_id()
        .ok_or("package must be prepay_id=<prepay_id>")?;
    let key = state
        .prepay_index
        .get(prepay_id)
        .ok_or("prepay_id not found")?;
    let trade = state.trades.get(key).ok_or("prepay_id not found")?;
    if trade.appid != appid {
        return Err("appid does not match the order's appid");
    }
    // The sign is checked with the calling Mini Program's merchant key and the order's
    // sign type: a signType other than unifiedorder's fails here, as in the real client.
    let verified = payment.verify(appid, &merchant.key);
    if !matches!(verified, Ok(t) if t == trade.sign_type) {
        return Err("支付验证签名失败 (paySign does not verify)");
    }
    if trade.prepay_id != prepay_id || sim.elapsed(trade.prepay_issued, PREPAY_TTL) {
        return Err("prepay_id expired");
    }
    match trade.state {
        TradeState::Success | TradeState::Refund => return Err("order already paid"),
        TradeState::Closed => return Err("order closed"),
        TradeState::Notpay => {}
    }
    if trade.openid != openid {
        return Err("the payer is not the user who placed the order (openid mismatch)");
    }
    Ok(key.clone())
}

fn settle(state: &mut SimState, key: &TradeKey) {
    let transaction_id = ids::transaction_id(&mut state.rng);
    if let Some(trade) = state.trades.get_mut(key) {
        trade.state = TradeState::Success;
        trade.transaction_id = Some(transaction_id);
        trade.time_end = Some(beijing_compact(now()));
    }
}
