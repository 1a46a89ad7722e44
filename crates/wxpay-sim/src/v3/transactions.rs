//! `/v3/pay/transactions/...` (JSAPI): prepay, query by transaction_id or out_trade_no,
//! close. The trades are the v2 endpoints' trades.

use std::time::Instant;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wxpay_core::Fen;

use super::V3Request;
use super::wire::{Answer, V3Error};
use crate::clock::{beijing_compact, now};
use crate::ids;
use crate::pay::{BizError, current_prepay_id, rules};
use crate::state::{Protocol, Sim, SimState, Trade, TradeKey, TradeState};

/// The v2 field rules, answered the v3 way.
fn param_error(error: BizError) -> V3Error {
    V3Error::new(400, "PARAM_ERROR", error.description)
}

fn not_found() -> V3Error {
    V3Error::new(404, "ORDER_NOT_EXIST", "订单不存在")
}

/// The request body: a JSON object.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, V3Error> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(V3Error::param("body", "请求体须为 JSON 对象")),
        Err(e) => Err(V3Error::param(
            "body",
            format!("请求体不是有效的 JSON: {e}"),
        )),
    }
}

/// Reads typed fields of a JSON object by path (`amount/total`), WeChat-style errors.
pub(crate) struct Fields<'a>(pub &'a Map<String, Value>);

impl<'a> Fields<'a> {
    pub(crate) fn value(&self, path: &str) -> Option<&'a Value> {
        let mut parts = path.split('/');
        let first = self.0.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    }

    pub(crate) fn missing(path: &str) -> V3Error {
        V3Error::param(path, "必填性规则校验失败，此字段为必填项")
    }

    pub(crate) fn optional_str(
        &self,
        path: &str,
        max_chars: usize,
    ) -> Result<Option<&'a str>, V3Error> {
        match self.value(path) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                rules::max_chars(path, s, max_chars).map_err(param_error)?;
                Ok(Some(s.as_str()))
            }
            Some(_) => Err(V3Error::param(path, "须为字符串")),
        }
    }

    pub(crate) fn str(&self, path: &str, max_chars: usize) -> Result<&'a str, V3Error> {
        self.optional_str(path, max_chars)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Self::missing(path))
    }
}

/// What a prepay defines, checked against protocol §3.4.
struct Prepay<'a> {
    appid: &'a str,
    mchid: &'a str,
    out_trade_no: &'a str,
    notify_url: &'a str,
    total: Fen,
    openid: &'a str,
}

fn read_prepay<'a>(body: &'a Map<String, Value>) -> Result<Prepay<'a>, V3Error> {
    let fields = Fields(body);
    let appid = fields.str("appid", 32)?;
    let mchid = fields.str("mchid", 32)?;
    fields.str("description", 127)?;
    let out_trade_no = fields.str("out_trade_no", 32)?;
    rules::out_trade_no(out_trade_no).map_err(param_error)?;
    if out_trade_no.len() < 6 {
        return Err(V3Error::param("out_trade_no", "须为 6-32 个字符"));
    }
    let notify_url = fields.str("notify_url", 256)?;
    rules::notify_url(notify_url).map_err(param_error)?;
    fields.optional_str("attach", 128)?;
    fields.optional_str("goods_tag", 32)?;
    if let Some(time_expire) = fields.optional_str("time_expire", 64)? {
        check_time_expire(time_expire)?;
    }
    let total = match fields.value("amount/total") {
        None | Some(Value::Null) => return Err(Fields::missing("amount/total")),
        Some(value) => value
            .as_i64()
            .map(Fen::new)
            .filter(|fen| fen.is_positive() && *fen <= Fen::WECHAT_MAX)
            .ok_or_else(|| V3Error::param("amount/total", "须为大于 0 的整数（单位：分）"))?,
    };
    if let Some(currency) = fields.optional_str("amount/currency", 16)?
        && currency != "CNY"
    {
        return Err(V3Error::param("amount/currency", "仅支持 CNY"));
    }
    let openid = fields.str("payer/openid", 128)?;
    if fields.value("scene_info").is_some() {
        let ip = fields.str("scene_info/payer_client_ip", 45)?;
        rules::ip(ip).map_err(param_error)?;
    }
    Ok(Prepay {
        appid,
        mchid,
        out_trade_no,
        notify_url,
        total,
        openid,
    })
}

/// RFC 3339, at least 1 minute and at most 90 days ahead.
fn check_time_expire(value: &str) -> Result<(), V3Error> {
    let at = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        V3Error::param(
            "time_expire",
            "格式须为 RFC 3339，如 2026-06-08T10:34:56+08:00",
        )
    })?;
    let ahead = at - now();
    if ahead < time::Duration::minutes(1) || ahead > time::Duration::days(90) {
        return Err(V3Error::invalid(
            "time_expire 须在下单时间后 1 分钟至 90 天之间",
        ));
    }
    Ok(())
}

/// `POST /v3/pay/transactions/jsapi`.
pub(super) fn prepay(
    sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    let body = json_object(request.body)?;
    let order = read_prepay(&body)?;
    if order.mchid != request.merchant.mchid {
        return Err(V3Error::param("mchid", "与 Authorization 中的商户号不一致"));
    }
    if order.appid != request.merchant.appid {
        return Err(V3Error::new(
            400,
            "APPID_MCHID_NOT_MATCH",
            "AppID和mch_id不匹配",
        ));
    }
    let key: TradeKey = (order.mchid.to_owned(), order.out_trade_no.to_owned());
    let definition = Value::Object(body.clone());
    if let Some(existing) = state.trades.get(&key) {
        let same = matches!(&existing.protocol, Protocol::V3 { request } if *request == definition);
        return match existing.state {
            TradeState::Success | TradeState::Refund => {
                Err(V3Error::new(400, "ORDER_PAID", "该订单已支付"))
            }
            TradeState::Closed => Err(V3Error::new(400, "ORDER_CLOSED", "该订单已关闭")),
            TradeState::Notpay if !same => {
                Err(V3Error::invalid("商户订单号重复，且请求参数与原订单不一致"))
            }
            TradeState::Notpay => Ok(prepay_answer(current_prepay_id(sim, state, &key))),
        };
    }
    let prepay_id = ids::prepay_id(&mut state.rng, &beijing_compact(now()));
    state.prepay_index.insert(prepay_id.clone(), key.clone());
    state.trades.insert(
        key,
        Trade {
            appid: order.appid.to_owned(),
            mch_id: order.mchid.to_owned(),
            out_trade_no: order.out_trade_no.to_owned(),
            openid: order.openid.to_owned(),
            total_fee: order.total,
            protocol: Protocol::V3 {
                request: definition,
            },
            notify_url: order.notify_url.to_owned(),
            prepay_id: prepay_id.clone(),
            prepay_issued: Instant::now(),
            state: TradeState::Notpay,
            transaction_id: None,
            paid_at: None,
        },
    );
    Ok(prepay_answer(prepay_id))
}

fn prepay_answer(prepay_id: String) -> Answer {
    Answer::Json(json!({ "prepay_id": prepay_id }))
}

/// `?mchid=`: required, and the caller's own.
fn query_mchid(request: &V3Request<'_>) -> Result<(), V3Error> {
    match request.query_param("mchid") {
        None => Err(
            V3Error::param("mchid", "必填性规则校验失败，此字段为必填项")
                .with_detail(json!({ "field": "mchid", "location": "query" })),
        ),
        Some(mchid) if mchid != request.merchant.mchid => {
            Err(V3Error::param("mchid", "与 Authorization 中的商户号不一致"))
        }
        Some(_) => Ok(()),
    }
}

/// `GET /v3/pay/transactions/id/{transaction_id}?mchid=`.
pub(super) fn query_by_id(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    query_mchid(request)?;
    let trade = state
        .trades
        .values()
        .find(|t| {
            t.mch_id == request.merchant.mchid
                && t.transaction_id.as_deref() == Some(request.path_value)
        })
        .ok_or_else(not_found)?;
    Ok(Answer::Json(transaction(trade)))
}

/// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=`: the only way to see
/// an unpaid trade.
pub(super) fn query_by_out_trade_no(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    query_mchid(request)?;
    let key = (
        request.merchant.mchid.clone(),
        request.path_value.to_owned(),
    );
    let trade = state.trades.get(&key).ok_or_else(not_found)?;
    Ok(Answer::Json(transaction(trade)))
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` with `{"mchid"}`: 204.
pub(super) fn close(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    let body = json_object(request.body)?;
    let mchid = Fields(&body).str("mchid", 32)?;
    if mchid != request.merchant.mchid {
        return Err(V3Error::param("mchid", "与 Authorization 中的商户号不一致"));
    }
    let key = (mchid.to_owned(), request.path_value.to_owned());
    let trade = state.trades.get_mut(&key).ok_or_else(not_found)?;
    match trade.state {
        TradeState::Success | TradeState::Refund => Err(V3Error::new(
            400,
            "ORDER_PAID",
            "订单已支付，不能发起关单，请发起退款",
        )),
        TradeState::Closed => Err(V3Error::new(400, "ORDER_CLOSED", "订单已关闭")),
        TradeState::Notpay => {
            trade.state = TradeState::Closed;
            Ok(Answer::NoContent)
        }
    }
}

/// A trade as v3 shows it (query replies and, encrypted, notifies).
pub(crate) fn transaction(trade: &Trade) -> Value {
    let paid = trade.state.was_paid();
    let mut amount = json!({ "total": trade.total_fee.get(), "currency": "CNY" });
    let mut value = json!({
        "appid": trade.appid,
        "mchid": trade.mch_id,
        "out_trade_no": trade.out_trade_no,
        "trade_type": "JSAPI",
        "trade_state": trade.state.wire(),
        "trade_state_desc": trade.state.description(),
        "payer": { "openid": trade.openid },
    });
    let (Some(object), Some(amount_object)) = (value.as_object_mut(), amount.as_object_mut())
    else {
        return value;
    };
    if let Some(attach) = trade.field("attach") {
        object.insert("attach".into(), attach.into());
    }
    if paid {
        amount_object.insert("payer_total".into(), trade.total_fee.get().into());
        amount_object.insert("payer_currency".into(), "CNY".into());
        object.insert("bank_type".into(), "OTHERS".into());
        if let Some(id) = &trade.transaction_id {
            object.insert("transaction_id".into(), id.as_str().into());
        }
        if let Some(at) = trade.success_time() {
            object.insert("success_time".into(), at.into());
        }
    }
    object.insert("amount".into(), amount);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Map<String, Value> {
        json_object(json.as_bytes()).unwrap()
    }

    const GOOD: &str = r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}"#;

    #[test]
    fn the_documented_request_is_accepted() {
        let body = body(GOOD);
        let order = read_prepay(&body).unwrap();
        assert_eq!(order.total, Fen::new(100));
        assert_eq!(order.openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let cases = [
            (
                r#""amount":{"total":100,"currency":"CNY"}"#,
                r#""amount":{"total":0}"#,
                "amount/total",
            ),
            (
                r#""amount":{"total":100,"currency":"CNY"}"#,
                r#""amount":{"total":1.5}"#,
                "amount/total",
            ),
            (
                r#""amount":{"total":100,"currency":"CNY"}"#,
                r#""amount":{"total":"100"}"#,
                "amount/total",
            ),
            (
                r#""currency":"CNY""#,
                r#""currency":"USD""#,
                "amount/currency",
            ),
            (
                r#""out_trade_no":"1217752501201407033233368018""#,
                r#""out_trade_no":"12345""#,
                "out_trade_no",
            ),
            (
                r#""payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}"#,
                r#""payer":{}"#,
                "payer/openid",
            ),
            (
                r#""notify_url":"https://www.weixin.qq.com/wxpay/pay.php""#,
                r#""notify_url":"https://x.example/n?a=1""#,
                "notify_url",
            ),
            (r#""appid":"wxd678efh567hg6787""#, r#""appid":7"#, "appid"),
        ];
        for (from, to, field) in cases {
            let changed = GOOD.replace(from, to);
            assert_ne!(changed, GOOD, "{from}");
            let error = read_prepay(&body(&changed)).err().unwrap();
            assert_eq!(error.status.as_u16(), 400, "{to}");
            let said = format!("{} {:?}", error.message, error.detail);
            assert!(said.contains(field), "{to}: {said}");
        }
        let long = GOOD.replace("Image形象店-深圳腾大-QQ公仔", &"字".repeat(128));
        assert!(read_prepay(&body(&long)).is_err());
        let with_scene = GOOD.replace(
            r#""payer""#,
            r#""scene_info":{"payer_client_ip":"not-ip"},"payer""#,
        );
        assert!(read_prepay(&body(&with_scene)).is_err());
        assert!(json_object(b"[1]").is_err());
        assert!(json_object(b"{").is_err());
    }

    #[test]
    fn time_expire_is_rfc3339_between_a_minute_and_90_days() {
        let at = |offset: time::Duration| (now() + offset).format(&Rfc3339).unwrap();
        assert!(check_time_expire(&at(time::Duration::hours(2))).is_ok());
        assert!(check_time_expire(&at(time::Duration::seconds(30))).is_err());
        assert!(check_time_expire(&at(time::Duration::days(91))).is_err());
        assert!(check_time_expire("20261130120000").is_err());
    }
}
