//! The service's other calls: `get_order`, `notify_confirm_receive`,
//! `is_trade_managed`, `set_msg_jump_path`, and the express companies
//! (`get_delivery_list`).

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{find_trade, order_state};
use crate::state::{Sim, SimState, TradeKey};
use crate::token::{TokenQuery, error, invalid_token};

/// A few of the ids WeChat's list holds (it has over a thousand).
const DELIVERY_COMPANIES: [(&str, &str); 8] = [
    ("SF", "顺丰速运"),
    ("YTO", "圆通速递"),
    ("ZTO", "中通快递"),
    ("STO", "申通快递"),
    ("YD", "韵达速递"),
    ("JTSD", "极兔速递"),
    ("JD", "京东物流"),
    ("YZPY", "邮政快递包裹"),
];

/// The body as JSON and the token's app, or WeChat's refusal.
fn open(
    state: &SimState,
    query: &TokenQuery,
    body: &[u8],
) -> Result<(String, Value), HttpResponse> {
    let token = query.access_token.as_deref().unwrap_or_default();
    let appid = state
        .tokens
        .appid_of(token, Instant::now())
        .ok_or_else(invalid_token)?;
    let body = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| error(47001, "data format error"))?;
    Ok((appid, body))
}

/// `{transaction_id}` or `{merchant_id, merchant_trade_no}`.
fn named_trade(state: &SimState, appid: &str, body: &Value) -> Result<TradeKey, HttpResponse> {
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    if field("transaction_id").is_none()
        && (field("merchant_id").is_none() || field("merchant_trade_no").is_none())
    {
        return Err(error(10060014, "请求参数非法"));
    }
    find_trade(
        state,
        appid,
        field("transaction_id"),
        field("merchant_id"),
        field("merchant_trade_no"),
    )
    .ok_or_else(|| error(10060001, "支付单不存在"))
}

pub(crate) async fn get_order(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let state = sim.state();
    let (appid, body) = match open(&state, &query, &body) {
        Ok(opened) => opened,
        Err(refusal) => return refusal,
    };
    let key = match named_trade(&state, &appid, &body) {
        Ok(key) => key,
        Err(refusal) => return refusal,
    };
    let Some(trade) = state.trades.get(&key) else {
        return error(10060001, "支付单不存在");
    };
    let shipment = state.shipping.shipments.get(&key);
    let shipping = shipment.map_or_else(
        || json!({}),
        |s| {
            let list: Vec<Value> = s
                .parcels
                .iter()
                .map(|p| {
                    json!({
                        "tracking_no": p.get("tracking_no").cloned().unwrap_or(json!("")),
                        "express_company": p.get("express_company").cloned().unwrap_or(json!("")),
                        "goods_desc": p.get("item_desc").cloned().unwrap_or(json!("")),
                        "upload_time": s.upload_unix,
                    })
                })
                .collect();
            json!({
                "delivery_mode": s.delivery_mode,
                "logistics_type": s.logistics_type,
                "finish_shipping": s.finished_at.is_some(),
                "finish_shipping_count": match (s.finished_at, s.reshipped) {
                    (None, _) => 0,
                    (Some(_), false) => 1,
                    (Some(_), true) => 2,
                },
                "goods_desc": "",
                "shipping_list": list,
            })
        },
    );
    let description: String = trade
        .field("body")
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect();
    HttpResponse::Ok().json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "order": {
            "transaction_id": trade.transaction_id.clone().unwrap_or_default(),
            "merchant_id": trade.mch_id,
            "sub_merchant_id": "",
            "merchant_trade_no": trade.out_trade_no,
            "description": description,
            "paid_amount": trade.total_fee.get(),
            "openid": trade.openid,
            "trade_create_time": trade.paid_at.map_or(0, |t| t.unix_timestamp()),
            "pay_time": trade.paid_at.map_or(0, |t| t.unix_timestamp()),
            "order_state": order_state(trade, shipment),
            "in_complaint": false,
            "shipping": shipping,
        }
    }))
}

pub(crate) async fn notify_confirm_receive(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let mut state = sim.state();
    let (appid, body) = match open(&state, &query, &body) {
        Ok(opened) => opened,
        Err(refusal) => return refusal,
    };
    let key = match named_trade(&state, &appid, &body) {
        Ok(key) => key,
        Err(refusal) => return refusal,
    };
    let Some(received) = body.get("received_time").and_then(Value::as_i64) else {
        return error(10060014, "received_time 不能为空");
    };
    let Some(trade) = state.trades.get(&key) else {
        return error(10060001, "支付单不存在");
    };
    let shipped_state = order_state(trade, state.shipping.shipments.get(&key));
    let Some(shipment) = state.shipping.shipments.get_mut(&key) else {
        return error(10060028, "支付单不是已发货状态");
    };
    if shipped_state != 2 {
        return error(10060028, "支付单不是已发货状态");
    }
    if shipment.logistics_type != 1 {
        return error(10060032, "只有物流快递发货时允许提醒用户确认收货");
    }
    if shipment.reminded {
        return error(10060030, "支付单已使用提醒收货机会");
    }
    if received <= shipment.finished_at.unwrap_or_default() {
        return error(10060029, "签收时间非法");
    }
    shipment.reminded = true;
    error(0, "ok")
}

pub(crate) async fn is_trade_managed(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let state = sim.state();
    let (appid, body) = match open(&state, &query, &body) {
        Ok(opened) => opened,
        Err(refusal) => return refusal,
    };
    // A mini program may only ask about itself.
    if body.get("appid").and_then(Value::as_str) != Some(appid.as_str()) {
        return error(40013, "invalid appid");
    }
    let managed = state
        .shipping
        .apps
        .get(&appid)
        .is_some_and(|a| a.trade_managed);
    HttpResponse::Ok().json(json!({ "errcode": 0, "errmsg": "ok", "is_trade_managed": managed }))
}

pub(crate) async fn set_msg_jump_path(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let mut state = sim.state();
    let (appid, body) = match open(&state, &query, &body) {
        Ok(opened) => opened,
        Err(refusal) => return refusal,
    };
    let Some(path) = body.get("path").and_then(Value::as_str) else {
        return error(47001, "data format error");
    };
    state.shipping.apps.entry(appid).or_default().jump_path = Some(path.to_owned());
    error(0, "ok")
}

pub(crate) async fn delivery_list(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let state = sim.state();
    if let Err(refusal) = open(&state, &query, &body) {
        return refusal;
    }
    let list: Vec<Value> = DELIVERY_COMPANIES
        .iter()
        .map(|(id, name)| json!({ "delivery_id": id, "delivery_name": name }))
        .collect();
    HttpResponse::Ok().json(json!({
        "errcode": 0, "delivery_list": list, "count": list.len(),
    }))
}
