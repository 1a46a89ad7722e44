//! `POST /pay/unifiedorder` (trade_type JSAPI): creates the trade, or answers a repeat.

use std::time::Instant;

use wxpay_core::v2::Params;

use super::{BizError, BizResult, Request, rules};
use crate::clock::{beijing_compact, now};
use crate::ids;
use crate::state::{PREPAY_TTL, Protocol, Sim, SimState, Trade, TradeState};

const REQUIRED: [&str; 8] = [
    "appid",
    "nonce_str",
    "body",
    "out_trade_no",
    "total_fee",
    "spbill_create_ip",
    "notify_url",
    "trade_type",
];

/// Fields that identify the request rather than the order: a repeat may change them.
const PER_CALL: [&str; 2] = ["nonce_str", "sign"];

pub(super) fn apply(sim: &Sim, state: &mut SimState, request: &Request<'_>) -> BizResult {
    for field in REQUIRED {
        request.require(field)?;
    }
    let appid = request.require("appid")?;
    let mch_id = request.require("mch_id")?;
    if state
        .merchant_by_mch_id(mch_id)
        .is_none_or(|m| m.config.appid != appid)
    {
        return Err(BizError::new(
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ));
    }
    if request.require("trade_type")? != "JSAPI" {
        return Err(BizError::new(
            "INVALID_REQUEST",
            "trade_type 仅支持 JSAPI（小程序支付）",
        ));
    }
    let openid = request
        .get("openid")
        .ok_or_else(|| BizError::new("LACK_PARAMS", "trade_type=JSAPI 时 openid 为必填参数"))?;
    let out_trade_no = request.require("out_trade_no")?;
    rules::out_trade_no(out_trade_no)?;
    let total_fee = rules::total_fee(request.require("total_fee")?)?;
    rules::notify_url(request.require("notify_url")?)?;
    rules::ip(request.require("spbill_create_ip")?)?;
    rules::max_chars("nonce_str", request.require("nonce_str")?, 32)?;
    rules::max_chars("body", request.require("body")?, 128)?;
    rules::max_chars("openid", openid, 128)?;
    if let Some(attach) = request.get("attach") {
        rules::max_chars("attach", attach, 127)?;
    }
    for field in ["time_start", "time_expire"] {
        if let Some(value) = request.get(field) {
            rules::compact_time(field, value)?;
        }
    }

    let mut order_fields: Params<'static> = request
        .params
        .iter()
        .filter(|(k, _)| !PER_CALL.contains(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if order_fields.get("sign_type").is_none() {
        order_fields.insert("sign_type", request.sign_type.as_str());
    }

    let key = (mch_id.to_owned(), out_trade_no.to_owned());
    if let Some(existing) = state.trades.get(&key) {
        match existing.state {
            TradeState::Success | TradeState::Refund => {
                return Err(BizError::new("ORDERPAID", "该订单已支付"));
            }
            TradeState::Closed => return Err(BizError::new("ORDERCLOSED", "该订单已关闭")),
            TradeState::Notpay if !existing.has_v2_fields(&order_fields) => {
                return Err(BizError::new(
                    "OUT_TRADE_NO_USED",
                    "商户订单号重复，且参数与原订单不一致",
                ));
            }
            TradeState::Notpay => return Ok(prepay_reply(current_prepay_id(sim, state, &key))),
        }
    }

    let prepay_id = ids::prepay_id(&mut state.rng, &beijing_compact(now()));
    state.prepay_index.insert(prepay_id.clone(), key.clone());
    state.trades.insert(
        key.clone(),
        Trade {
            appid: appid.to_owned(),
            mch_id: mch_id.to_owned(),
            out_trade_no: out_trade_no.to_owned(),
            openid: openid.to_owned(),
            total_fee,
            protocol: Protocol::V2 {
                sign_type: request.sign_type,
                order_fields,
            },
            notify_url: request.require("notify_url")?.to_owned(),
            prepay_id: prepay_id.clone(),
            prepay_issued: Instant::now(),
            state: TradeState::Notpay,
            transaction_id: None,
            paid_at: None,
        },
    );
    Ok(prepay_reply(prepay_id))
}

/// A repeated order's prepay_id (v2 and v3): the one it has while valid, else a fresh one.
pub(crate) fn current_prepay_id(sim: &Sim, state: &mut SimState, key: &(String, String)) -> String {
    let fresh = ids::prepay_id(&mut state.rng, &beijing_compact(now()));
    let SimState {
        trades,
        prepay_index,
        ..
    } = state;
    let Some(trade) = trades.get_mut(key) else {
        return fresh;
    };
    if sim.elapsed(trade.prepay_issued, PREPAY_TTL) {
        prepay_index.insert(fresh.clone(), key.clone());
        trade.prepay_id = fresh;
        trade.prepay_issued = Instant::now();
    }
    trade.prepay_id.clone()
}

fn prepay_reply(prepay_id: String) -> Vec<(&'static str, String)> {
    vec![("trade_type", "JSAPI".to_owned()), ("prepay_id", prepay_id)]
}
