//! v2 refunds: `POST /secapi/pay/refund` (served on the mutual-TLS listener only: the
//! client certificate must be the merchant's), `POST /pay/refundquery`, and the refund
//! notify (`req_info`: the `<root>` XML encrypted with AES-256-ECB under MD5(API key)).

use std::sync::Arc;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use wxpay_core::v2::refund::encrypt_refund_info;
use wxpay_core::v2::{Params, xml};

use super::rules::{self, RefundAsk, Refusal, TradeRef};
use super::{Refund, RefundApi, RefundKey};
use crate::faults::Endpoint;
use crate::pay::{self, BizError, BizResult, Request};
use crate::state::{Sim, SimState};

/// The TLS client certificate's CN, put on the connection by the `/secapi` listener.
#[derive(Debug, Clone)]
pub(crate) struct ClientCertificate(pub Option<String>);

/// `POST /secapi/pay/refund`. Without a client certificate WeChat's front end answers
/// like nginx does (HTTP 400, "No required SSL certificate was sent").
pub(crate) async fn refund(
    sim: web::Data<Arc<Sim>>,
    req: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    let certificate = req
        .conn_data::<ClientCertificate>()
        .and_then(|c| c.0.clone());
    let Some(certificate) = certificate else {
        return HttpResponse::BadRequest().content_type("text/html").body(
            "<html><head><title>400 No required SSL certificate was sent</title></head>\
                 <body><center><h1>400 Bad Request</h1></center><center>No required SSL \
                 certificate was sent</center></body></html>",
        );
    };
    pay::handle(
        &sim,
        &req,
        &body,
        Endpoint::Refund,
        apply,
        Some(certificate),
    )
    .await
}

/// `POST /pay/refundquery` (no certificate needed).
pub(crate) async fn refundquery(
    sim: web::Data<Arc<Sim>>,
    req: HttpRequest,
    body: Bytes,
) -> HttpResponse {
    pay::handle(&sim, &req, &body, Endpoint::Refundquery, query, None).await
}

fn refusal(refusal: Refusal) -> BizError {
    let code = match refusal {
        Refusal::NoTrade => "ORDERNOTEXIST",
        Refusal::NotEnough => "NOTENOUGH",
        Refusal::Reused | Refusal::TotalMismatch => "PARAM_ERROR",
        Refusal::TooMuch | Refusal::TooMany => "ERROR",
    };
    BizError::new(code, refusal.description())
}

fn amount(request: &Request<'_>, field: &'static str) -> Result<wxpay_core::Fen, BizError> {
    crate::pay::rules::total_fee(request.require(field)?).map_err(|_| {
        BizError::new(
            "PARAM_ERROR",
            format!("{field} 须为大于 0 的整数（单位：分）"),
        )
    })
}

fn apply(_sim: &Sim, state: &mut SimState, request: &Request<'_>) -> BizResult {
    let mch_id = request.require("mch_id")?;
    let appid = request.require("appid")?;
    request.require("nonce_str")?;
    if state
        .merchant_by_mch_id(mch_id)
        .is_none_or(|m| m.config.appid != appid)
    {
        return Err(BizError::new(
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ));
    }
    // The certificate must be this merchant's (its CN is the mch_id).
    if request.client_certificate.as_deref() != Some(mch_id) {
        return Err(BizError::new(
            "CERT_ERROR",
            "证书与商户号不匹配 (the client certificate is not this merchant's)",
        ));
    }
    let trade = match (request.get("transaction_id"), request.get("out_trade_no")) {
        (Some(id), _) => TradeRef::TransactionId(id),
        (None, Some(no)) => TradeRef::OutTradeNo(no),
        (None, None) => {
            return Err(BizError::new(
                "PARAM_ERROR",
                "transaction_id 与 out_trade_no 须至少填一个",
            ));
        }
    };
    let out_refund_no = request.require("out_refund_no")?;
    if !rules::out_refund_no_ok(out_refund_no) {
        return Err(BizError::new(
            "PARAM_ERROR",
            "out_refund_no 须为 64 个字符以内的数字、字母或 _-|*@",
        ));
    }
    let reason = request.get("refund_desc");
    if let Some(reason) = reason {
        crate::pay::rules::max_chars("refund_desc", reason, 80)?;
    }
    let notify_url = request.get("notify_url");
    if let Some(url) = notify_url {
        crate::pay::rules::notify_url(url)?;
    }
    // The fields that define the refund (all but nonce_str and sign).
    let definition: serde_json::Map<String, serde_json::Value> = request
        .params
        .iter()
        .filter(|(k, _)| !matches!(*k, "nonce_str" | "sign"))
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let ask = RefundAsk {
        mch_id,
        trade,
        out_refund_no,
        amount: amount(request, "refund_fee")?,
        total: amount(request, "total_fee")?,
        reason,
        notify_url,
        api: RefundApi::V2,
        request: serde_json::Value::Object(definition),
    };
    let (key, _) = rules::create(state, &ask, request.fault).map_err(refusal)?;
    let refund = state
        .refunds
        .get(&key)
        .ok_or_else(|| BizError::new("SYSTEMERROR", "系统错误"))?;
    let fee = |fen: wxpay_core::Fen| fen.get().to_string();
    Ok(vec![
        ("transaction_id", refund.transaction_id.clone()),
        ("out_trade_no", refund.out_trade_no.clone()),
        ("out_refund_no", refund.out_refund_no.clone()),
        ("refund_id", refund.refund_id.clone()),
        ("refund_fee", fee(refund.amount)),
        ("settlement_refund_fee", fee(refund.amount)),
        ("total_fee", fee(refund.total)),
        ("settlement_total_fee", fee(refund.total)),
        ("fee_type", "CNY".to_owned()),
        ("cash_fee", fee(refund.total)),
        ("cash_refund_fee", fee(refund.amount)),
        ("coupon_refund_fee", "0".to_owned()),
        ("coupon_refund_count", "0".to_owned()),
    ])
}

/// `refundquery`: by refund_id > out_refund_no > transaction_id > out_trade_no (WeChat's
/// precedence), every refund of the trade with `_$n` suffixes.
fn query(_sim: &Sim, state: &mut SimState, request: &Request<'_>) -> BizResult {
    let mch_id = request.require("mch_id")?;
    request.require("appid")?;
    request.require("nonce_str")?;
    let matches_key = |r: &&Refund| -> bool {
        if r.mch_id != mch_id {
            return false;
        }
        if let Some(id) = request.get("refund_id") {
            r.refund_id == id
        } else if let Some(no) = request.get("out_refund_no") {
            r.out_refund_no == no
        } else if let Some(id) = request.get("transaction_id") {
            r.transaction_id == id
        } else if let Some(no) = request.get("out_trade_no") {
            r.out_trade_no == no
        } else {
            false
        }
    };
    let mut found: Vec<&Refund> = state.refunds.values().filter(matches_key).collect();
    if found.is_empty() {
        return Err(BizError::new("REFUNDNOTEXIST", "退款订单查询失败"));
    }
    found.sort_by_key(|r| r.created_at);
    let first = found
        .first()
        .map(|r| (r.transaction_id.clone(), r.out_trade_no.clone(), r.total));
    let mut fields = Vec::new();
    if let Some((transaction_id, out_trade_no, total)) = first {
        fields.extend([
            ("transaction_id", transaction_id),
            ("out_trade_no", out_trade_no),
            ("total_fee", total.get().to_string()),
            ("cash_fee", total.get().to_string()),
            ("fee_type", "CNY".to_owned()),
            ("refund_count", found.len().to_string()),
            ("total_refund_count", found.len().to_string()),
        ]);
    }
    let mut numbered = Vec::new();
    for (n, refund) in found.iter().enumerate() {
        numbered.push((format!("out_refund_no_{n}"), refund.out_refund_no.clone()));
        numbered.push((format!("refund_id_{n}"), refund.refund_id.clone()));
        numbered.push((format!("refund_channel_{n}"), "ORIGINAL".to_owned()));
        numbered.push((format!("refund_fee_{n}"), refund.amount.get().to_string()));
        numbered.push((
            format!("settlement_refund_fee_{n}"),
            refund.amount.get().to_string(),
        ));
        numbered.push((format!("refund_status_{n}"), refund.status.v2().to_owned()));
        numbered.push((
            format!("refund_account_{n}"),
            "REFUND_SOURCE_UNSETTLED_FUNDS".to_owned(),
        ));
        numbered.push((format!("refund_recv_accout_{n}"), "支付用户零钱".to_owned()));
        if let Some(at) = refund.success_time {
            numbered.push((format!("refund_success_time_{n}"), success_time(at)));
        }
    }
    // The v2 reply takes static names: the numbered ones are interned, once per process
    // (at most 50 refunds per trade x 9 fields: a bounded set).
    fields.extend(numbered.into_iter().map(|(k, v)| (intern(k), v)));
    Ok(fields)
}

/// `yyyy-MM-dd HH:mm:ss`, Beijing time (v2 refunds use this format, not `time_end`'s).
fn success_time(at: time::OffsetDateTime) -> String {
    at.to_offset(time::macros::offset!(+8))
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// A `'static` copy of a field name (the numbered refundquery names).
fn intern(name: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(known) = names.get(name.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.into_boxed_str());
    names.insert(leaked);
    leaked
}

/// The v2 refund notify of a finished refund: unsigned outer XML, the result in `req_info`.
pub(crate) fn notify_body(state: &mut SimState, key: &RefundKey) -> Option<String> {
    let nonce = crate::ids::nonce(&mut state.rng);
    let refund = state.refunds.get(key)?;
    let merchant = state.merchant_by_mch_id(&refund.mch_id)?;
    let mut inner: Params<'_> = Params::new();
    let amount = refund.amount.get().to_string();
    let total = refund.total.get().to_string();
    for (name, value) in [
        ("transaction_id", refund.transaction_id.as_str()),
        ("out_trade_no", refund.out_trade_no.as_str()),
        ("refund_id", refund.refund_id.as_str()),
        ("out_refund_no", refund.out_refund_no.as_str()),
        ("total_fee", total.as_str()),
        ("settlement_total_fee", total.as_str()),
        ("refund_fee", amount.as_str()),
        ("settlement_refund_fee", amount.as_str()),
        ("refund_status", refund.status.v2()),
        ("refund_recv_accout", "支付用户零钱"),
        ("refund_account", "REFUND_SOURCE_UNSETTLED_FUNDS"),
        ("refund_request_source", "API"),
    ] {
        inner.insert(name, value.to_owned());
    }
    if let Some(at) = refund.success_time {
        inner.insert("success_time", success_time(at));
    }
    let root = xml::to_xml(&inner).ok()?.replacen("<xml>", "<root>", 1);
    let root = root.strip_suffix("</xml>").map(|r| format!("{r}</root>"))?;
    let mut outer: Params<'_> = Params::new();
    outer.insert("return_code", "SUCCESS");
    outer.insert("appid", refund.appid.clone());
    outer.insert("mch_id", refund.mch_id.clone());
    outer.insert("nonce_str", nonce);
    outer.insert("req_info", encrypt_refund_info(&root, &merchant.key));
    xml::to_xml(&outer).ok()
}
