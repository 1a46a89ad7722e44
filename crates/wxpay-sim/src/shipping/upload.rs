//! `POST /wxa/sec/order/upload_shipping_info`: WeChat's rules, read from the wire (the
//! JSON a backend sent, not a typed copy of it), each refusal with WeChat's errcode.
//! Independent of `wxpay_client::shipping::ShippingInfo::check` on purpose: the client's
//! serialisation is what is tested against it.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpResponse, web};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Shipment, find_trade, order_state, push};
use crate::faults::{Endpoint, FaultKind};
use crate::state::{Sim, SimState, TradeKey, TradeState};
use crate::token::{TokenQuery, error, invalid_token};

/// 支付单不存在: no such payment (or, just after paying, not yet known to the service).
const PAYMENT_UNKNOWN: i64 = 10060001;

type Refusal = (i64, &'static str);

fn str_field<'a>(value: &'a Value, name: &str) -> Option<&'a str> {
    value
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The trade the `order_key` names.
fn trade_of(state: &SimState, appid: &str, body: &Value) -> Result<TradeKey, Refusal> {
    let Some(key) = body.get("order_key").filter(|k| k.is_object()) else {
        return Err((10060014, "order_key is required"));
    };
    let found = match key.get("order_number_type").and_then(Value::as_i64) {
        Some(1) => {
            let mchid = str_field(key, "mchid").ok_or((268485196, "mchid 不能为空"))?;
            let no = str_field(key, "out_trade_no").ok_or((268485197, "out_trade_no 不能为空"))?;
            find_trade(state, appid, None, Some(mchid), Some(no))
        }
        Some(2) => {
            let id =
                str_field(key, "transaction_id").ok_or((268485195, "transaction_id 不能为空"))?;
            find_trade(state, appid, Some(id), None, None)
        }
        _ => return Err((268485194, "订单单号类型非法")),
    };
    found.ok_or((PAYMENT_UNKNOWN, "支付单不存在"))
}

/// The fields' rules, in the order WeChat's table gives them.
fn check_fields(body: &Value) -> Result<(i64, i64, bool, Vec<Value>), Refusal> {
    let logistics = body.get("logistics_type").and_then(Value::as_i64);
    let logistics = logistics
        .filter(|t| (1..=4).contains(t))
        .ok_or((10060005, "物流类型有误"))?;
    let mode = body.get("delivery_mode").and_then(Value::as_i64);
    let mode = mode
        .filter(|m| *m == 1 || *m == 2)
        .ok_or((268485224, "发货模式非法"))?;
    if mode == 2 && logistics != 1 {
        return Err((10060006, "非快递发货时不允许分拆发货"));
    }
    let all_delivered = match (mode, body.get("is_all_delivered").and_then(Value::as_bool)) {
        (2, None) => return Err((10060007, "分拆发货模式下必须填写 is_all_delivered")),
        (2, Some(all)) => all,
        _ => true,
    };
    let parcels = body
        .get("shipping_list")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if parcels.is_empty() {
        return Err((10060014, "shipping_list 不能为空"));
    }
    if parcels.len() > 15 {
        return Err((10060024, "物流信息列表太长，不可大于 15"));
    }
    if mode == 1 && parcels.len() != 1 {
        return Err((268485228, "统一发货模式下物流信息列表长度必须为 1"));
    }
    for parcel in &parcels {
        check_parcel(parcel, logistics)?;
    }
    Ok((logistics, mode, all_delivered, parcels))
}

fn check_parcel(parcel: &Value, logistics: i64) -> Result<(), Refusal> {
    let desc = parcel
        .get("item_desc")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if desc.trim().is_empty() {
        return Err((10060008, "item_desc 不能为空"));
    }
    if desc.chars().count() > 120 {
        return Err((10060009, "item_desc 太长"));
    }
    let tracking = str_field(parcel, "tracking_no");
    let company = str_field(parcel, "express_company");
    if logistics == 1 {
        tracking.ok_or((268485226, "物流单号不能为空"))?;
        company.ok_or((268485227, "物流公司编码不能为空"))?;
    }
    if tracking.is_some_and(|t| t.len() > 128) {
        return Err((10060026, "物流单号太长"));
    }
    if company.is_some_and(|c| c.len() > 128) {
        return Err((10060025, "物流公司编码太长"));
    }
    let contact = parcel.get("contact");
    let has_contact = ["consignor_contact", "receiver_contact"]
        .iter()
        .any(|name| contact.and_then(|c| str_field(c, name)).is_some());
    if logistics == 1 && company == Some("SF") && !has_contact {
        return Err((10060014, "顺丰快递需填写收件人或寄件人联系方式"));
    }
    Ok(())
}

/// RFC 3339 with the colon in the offset (`+0800` is refused as WeChat refuses it).
fn upload_time(body: &Value) -> Result<OffsetDateTime, Refusal> {
    let refusal = (268485216, "上传时间非法，请按照 RFC 3339 格式填写");
    let text = body
        .get("upload_time")
        .and_then(Value::as_str)
        .ok_or(refusal)?;
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| refusal)
}

pub(crate) async fn upload_shipping_info(
    sim: web::Data<Arc<Sim>>,
    query: web::Query<TokenQuery>,
    body: web::Bytes,
) -> HttpResponse {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(47001, "data format error");
    };
    if !body.is_object() || body.get("shipping_list").is_some_and(|l| !l.is_array()) {
        return error(47001, "data format error");
    }
    let token = query.access_token.as_deref().unwrap_or_default();
    let (answer, fault) = {
        let mut state = sim.state();
        let Some(appid) = state.tokens.appid_of(token, Instant::now()) else {
            return invalid_token();
        };
        let fault = state.take_fault(Endpoint::ShippingUpload);
        let answer = match fault.as_ref().map(|f| (f.kind, f.status)) {
            // Refused before any work: nothing is recorded.
            Some((FaultKind::Busy, _)) => error(-1, "system error"),
            Some((FaultKind::Http5xx, status)) => crate::http_status(status.unwrap_or(500)),
            Some((FaultKind::PaymentNotYetKnown, _)) => error(PAYMENT_UNKNOWN, "支付单不存在"),
            _ => match apply(&mut state, &appid, &body) {
                Ok(Some(settlement)) => {
                    drop(state);
                    push::spawn(Arc::clone(&sim), &appid, settlement);
                    error(0, "ok")
                }
                Ok(None) => error(0, "ok"),
                Err((errcode, errmsg)) => error(errcode, errmsg),
            },
        };
        (answer, fault)
    };
    // A timeout recorded the upload and holds the answer: the caller gives up, although
    // WeChat took it (its retry then hears 10060023, "nothing changed").
    if let Some(fault) = fault.filter(|f| matches!(f.kind, FaultKind::Delay | FaultKind::Timeout)) {
        tokio::time::sleep(fault.delay()).await;
    }
    answer
}

/// Records the upload; the settlement push owed when it completed the shipping.
fn apply(
    state: &mut SimState,
    appid: &str,
    body: &Value,
) -> Result<Option<push::Message>, Refusal> {
    let key = trade_of(state, appid, body)?;
    let trade = state
        .trades
        .get(&key)
        .ok_or((PAYMENT_UNKNOWN, "支付单不存在"))?;
    let payer = body.pointer("/payer/openid").and_then(Value::as_str);
    match payer {
        None | Some("") => return Err((10060014, "payer.openid 不能为空")),
        Some(openid) if openid != trade.openid => {
            return Err((10060031, "该笔支付单不属于 openid 所指定的用户"));
        }
        Some(_) => {}
    }
    if trade.state == TradeState::Refund {
        return Err((10060004, "支付单处于不可发货的状态"));
    }
    let (logistics, mode, all_delivered, parcels) = check_fields(body)?;
    let mut content = body.clone();
    if let Some(map) = content.as_object_mut() {
        map.remove("upload_time");
    }
    let previous = state.shipping.shipments.get(&key);
    if previous.is_some_and(|p| p.content == content) {
        return Err((10060023, "发货信息未更新"));
    }
    let at = upload_time(body)?;
    let mut reshipped = false;
    if let Some(previous) = previous {
        if previous.confirmed_at.is_some() || order_state(trade, Some(previous)) > 2 {
            return Err((10060004, "支付单处于不可发货的状态"));
        }
        if at <= previous.upload_time {
            return Err((268485216, "上传时间非法，请按照 RFC 3339 格式填写"));
        }
        let changes_kind = previous.logistics_type != logistics || previous.delivery_mode != mode;
        if previous.finished_at.is_some() || changes_kind {
            if previous.reshipped {
                return Err((10060003, "支付单已使用重新发货机会"));
            }
            reshipped = true;
        }
        reshipped |= previous.reshipped;
    }
    let now = crate::clock::now().unix_timestamp();
    let was_finished = previous.and_then(|p| p.finished_at);
    let finished_at = if all_delivered {
        was_finished.or(Some(now))
    } else {
        None
    };
    let settlement = (was_finished.is_none() && finished_at.is_some())
        .then(|| push::settlement_phase(trade, now, None));
    let reminded = previous.is_some_and(|p| p.reminded);
    state.shipping.shipments.insert(
        key,
        Shipment {
            content,
            logistics_type: logistics,
            delivery_mode: mode,
            parcels,
            upload_time: at,
            upload_unix: now,
            finished_at,
            reshipped,
            reminded,
            confirmed_at: None,
            settled_at: None,
        },
    );
    Ok(settlement)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn upload_time_needs_rfc3339_with_a_colon_offset() {
        for good in ["2022-12-15T13:29:35.120+08:00", "2023-03-08T09:57:32+08:00"] {
            assert!(
                upload_time(&json!({ "upload_time": good })).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "2024-06-10T20:32:05+0800",
            "2022-12-15 13:29:35",
            "",
            "1670832735",
        ] {
            assert_eq!(
                upload_time(&json!({ "upload_time": bad })).unwrap_err().0,
                268485216,
                "{bad}"
            );
        }
    }

    #[test]
    fn field_rules_answer_wechats_errcodes() {
        let parcel = json!({"tracking_no": "T1", "express_company": "YTO", "item_desc": "书"});
        let base = json!({"logistics_type": 1, "delivery_mode": 1, "shipping_list": [parcel]});
        assert!(check_fields(&base).is_ok());
        let with = |patch: Value| {
            let mut body = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            check_fields(&body).unwrap_err().0
        };
        assert_eq!(with(json!({"logistics_type": 9})), 10060005);
        assert_eq!(
            with(json!({"delivery_mode": "UNIFIED_DELIVERY"})),
            268485224
        );
        assert_eq!(with(json!({"delivery_mode": 2})), 10060007);
        assert_eq!(
            with(json!({"logistics_type": 3, "delivery_mode": 2})),
            10060006
        );
        assert_eq!(with(json!({"shipping_list": []})), 10060014);
        assert_eq!(
            with(json!({"delivery_mode": 2, "is_all_delivered": true,
                "shipping_list": vec![parcel.clone(); 16]})),
            10060024
        );
        assert_eq!(
            with(json!({"shipping_list": [parcel.clone(), parcel.clone()]})),
            268485228
        );
        assert_eq!(
            with(json!({"shipping_list": [{"item_desc": "书"}]})),
            268485226
        );
        assert_eq!(
            with(json!({"shipping_list": [{"tracking_no": "T", "item_desc": "书"}]})),
            268485227
        );
        assert_eq!(
            with(
                json!({"shipping_list": [{"tracking_no": "T", "express_company": "SF",
                "item_desc": "书"}]})
            ),
            10060014
        );
        assert_eq!(
            with(
                json!({"shipping_list": [{"tracking_no": "T", "express_company": "YTO",
                "item_desc": "书".repeat(121)}]})
            ),
            10060009
        );
        let virtual_goods = json!({"logistics_type": 3, "delivery_mode": 1,
            "shipping_list": [{"item_desc": "会员月卡"}]});
        assert!(check_fields(&virtual_goods).is_ok());
    }
}
