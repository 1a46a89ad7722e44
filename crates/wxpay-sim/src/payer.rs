//! `POST /sim/pay`: plays `wx.requestPayment` on the user's phone. It checks the five
//! params and the paySign as the WeChat client does (v2: MD5 or HMAC-SHA256 with the
//! trade's sign type; v3: `RSA`, verified with the merchant's API certificate), then
//! pays, cancels or fails.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use wxpay_core::v2::RequestPayment;
use wxpay_core::v3::RequestPaymentV3;

use crate::clock::now;
use crate::ids;
use crate::state::{PREPAY_TTL, Protocol, Sim, SimState, TradeKey, TradeState};
use crate::v3::account::{self, V3Merchant};

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
    // A v3 trade's paySign is checked with the merchant's certificate: resolved first,
    // outside the state lock (only for v3 trades: v2 merchants never need v3 keys).
    let v3_merchant = match v3_mchid(&sim, &payment) {
        None => None,
        Some(mchid) => match account::snapshot(&sim, &mchid).await {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(%error, "cannot make the merchant's v3 keys");
                None
            }
        },
    };
    let mut state = sim.state();
    match check(&sim, &state, appid, openid, &payment, v3_merchant.as_ref()) {
        Err(message) => err_msg(&format!("fail {message}")),
        Ok(key) => match outcome {
            Outcome::Cancel => err_msg("fail cancel"),
            Outcome::Fail => err_msg("fail payment failed (simulated)"),
            Outcome::Ok => {
                settle(&mut state, &key);
                drop(state);
                // The dispatcher only stops when the simulator does.
                let _ = sim.deliveries.send(crate::notify::Delivery::Payment(key));
                err_msg("ok")
            }
        },
    }
}

/// The merchant of the v3 trade the params name, if they name one.
fn v3_mchid(sim: &Sim, payment: &RequestPayment) -> Option<String> {
    let state = sim.state();
    let key = state.prepay_index.get(payment.prepay_id()?)?;
    let trade = state.trades.get(key)?;
    matches!(trade.protocol, Protocol::V3 { .. }).then(|| trade.mch_id.clone())
}

/// The client's checks, in order. Returns the trade to pay.
fn check(
    sim: &Sim,
    state: &SimState,
    appid: &str,
    openid: &str,
    payment: &RequestPayment,
    v3_merchant: Option<&V3Merchant>,
) -> Result<TradeKey, &'static str> {
    if !matches!(payment.sign_type.as_str(), "MD5" | "HMAC-SHA256" | "RSA") {
        return Err("parameter error: signType must be MD5, HMAC-SHA256 or RSA");
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
    // sign type: a signType other than the order's fails here, as in the real client.
    let verified = match &trade.protocol {
        Protocol::V2 { sign_type, .. } => {
            matches!(payment.verify(appid, &merchant.key), Ok(t) if t == *sign_type)
        }
        Protocol::V3 { .. } => v3_merchant.is_some_and(|m| {
            payment.sign_type == "RSA"
                && RequestPaymentV3 {
                    time_stamp: payment.time_stamp.clone(),
                    nonce_str: payment.nonce_str.clone(),
                    package: payment.package.clone(),
                    sign_type: payment.sign_type.clone(),
                    pay_sign: payment.pay_sign.clone(),
                }
                .verify(appid, &m.merchant.public)
                .is_ok()
        }),
    };
    if !verified {
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
        trade.paid_at = Some(now());
    }
}
