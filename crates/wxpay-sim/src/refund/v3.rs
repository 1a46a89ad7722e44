//! v3 refunds: `POST /v3/refund/domestic/refunds` and `GET .../refunds/{out_refund_no}`
//! (no client certificate: the request signature authenticates them), and the
//! `REFUND.*` notifies (the refund encrypted under the APIv3 key, AAD `refund`).

use serde_json::{Value, json};
use wxpay_core::Fen;

use super::rules::{self, RefundAsk, Refusal, TradeRef};
use super::{Refund, RefundApi, RefundKey, RefundStatus};
use crate::clock::beijing_rfc3339;
use crate::state::{Sim, SimState};
use crate::v3::V3Request;
use crate::v3::transactions::{Fields, json_object};
use crate::v3::wire::{Answer, V3Error};

fn refusal(refusal: Refusal) -> V3Error {
    let message = refusal.description();
    match refusal {
        Refusal::NoTrade => V3Error::new(404, "RESOURCE_NOT_EXISTS", message),
        Refusal::NotEnough => V3Error::new(403, "NOT_ENOUGH", message),
        Refusal::TotalMismatch => V3Error::param("amount/total", message),
        Refusal::Reused | Refusal::TooMuch | Refusal::TooMany => V3Error::invalid(message),
    }
}

fn fen(fields: &Fields<'_>, path: &str) -> Result<Fen, V3Error> {
    match fields.value(path) {
        None | Some(Value::Null) => Err(Fields::missing(path)),
        Some(value) => value
            .as_i64()
            .map(Fen::new)
            .filter(|f| f.is_positive())
            .ok_or_else(|| V3Error::param(path, "须为大于 0 的整数（单位：分）")),
    }
}

/// `POST /v3/refund/domestic/refunds`.
pub(crate) fn create(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    let body = json_object(request.body)?;
    let fields = Fields(&body);
    let trade = match (
        fields.optional_str("transaction_id", 32)?,
        fields.optional_str("out_trade_no", 32)?,
    ) {
        (Some(id), _) => TradeRef::TransactionId(id),
        (None, Some(no)) => TradeRef::OutTradeNo(no),
        (None, None) => {
            return Err(V3Error::param(
                "transaction_id",
                "transaction_id 与 out_trade_no 须至少填一个",
            ));
        }
    };
    let out_refund_no = fields.str("out_refund_no", 64)?;
    if !rules::out_refund_no_ok(out_refund_no) {
        return Err(V3Error::param(
            "out_refund_no",
            "须为 64 个字符以内的数字、字母或 _-|*@",
        ));
    }
    let reason = fields.optional_str("reason", 80)?;
    let notify_url = fields.optional_str("notify_url", 256)?;
    if let Some(url) = notify_url {
        crate::pay::rules::notify_url(url)
            .map_err(|e| V3Error::param("notify_url", e.description))?;
    }
    if let Some(currency) = fields.optional_str("amount/currency", 16)?
        && currency != "CNY"
    {
        return Err(V3Error::param("amount/currency", "仅支持 CNY"));
    }
    let ask = RefundAsk {
        mch_id: &request.merchant.mchid,
        trade,
        out_refund_no,
        amount: fen(&fields, "amount/refund")?,
        total: fen(&fields, "amount/total")?,
        reason,
        notify_url,
        api: RefundApi::V3,
        request: Value::Object(body.clone()),
    };
    let (key, _) = rules::create(state, &ask, request.fault).map_err(refusal)?;
    let refund = state
        .refunds
        .get(&key)
        .ok_or_else(|| V3Error::new(500, "SYSTEM_ERROR", "系统错误"))?;
    Ok(Answer::Json(view(refund)))
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
pub(crate) fn query(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    let key = (
        request.merchant.mchid.clone(),
        request.path_value.to_owned(),
    );
    let refund = state
        .refunds
        .get(&key)
        .ok_or_else(|| V3Error::new(404, "RESOURCE_NOT_EXISTS", "退款单不存在"))?;
    Ok(Answer::Json(view(refund)))
}

/// A refund as v3 shows it.
fn view(refund: &Refund) -> Value {
    let mut value = json!({
        "refund_id": refund.refund_id,
        "out_refund_no": refund.out_refund_no,
        "transaction_id": refund.transaction_id,
        "out_trade_no": refund.out_trade_no,
        "channel": "ORIGINAL",
        "user_received_account": "支付用户零钱",
        "create_time": beijing_rfc3339(refund.created_at),
        "status": refund.status.v3(),
        "funds_account": "AVAILABLE",
        "amount": {
            "total": refund.total.get(),
            "refund": refund.amount.get(),
            "payer_total": refund.total.get(),
            "payer_refund": refund.amount.get(),
            "settlement_total": refund.total.get(),
            "settlement_refund": refund.amount.get(),
            "discount_refund": 0,
            "currency": "CNY",
            "from": [],
        },
    });
    if let (Some(at), Some(object)) = (refund.success_time, value.as_object_mut()) {
        object.insert("success_time".into(), beijing_rfc3339(at).into());
    }
    value
}

/// The decrypted resource of a `REFUND.*` notify.
fn resource(refund: &Refund) -> Value {
    let mut value = json!({
        "mchid": refund.mch_id,
        "out_trade_no": refund.out_trade_no,
        "transaction_id": refund.transaction_id,
        "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id,
        "refund_status": refund.status.v3(),
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": refund.total.get(),
            "refund": refund.amount.get(),
            "payer_total": refund.total.get(),
            "payer_refund": refund.amount.get(),
        },
    });
    if let (Some(at), Some(object)) = (refund.success_time, value.as_object_mut()) {
        object.insert("success_time".into(), beijing_rfc3339(at).into());
    }
    value
}

/// `REFUND.SUCCESS` / `REFUND.ABNORMAL` / `REFUND.CLOSED`, and the summary WeChat gives.
fn event(status: RefundStatus) -> (&'static str, &'static str) {
    match status {
        RefundStatus::Success | RefundStatus::Processing => ("REFUND.SUCCESS", "退款成功"),
        RefundStatus::Abnormal => ("REFUND.ABNORMAL", "退款异常"),
        RefundStatus::Closed => ("REFUND.CLOSED", "退款关闭"),
    }
}

/// The notify of a finished v3 refund (encrypted with `apiv3_key`).
pub(crate) fn notify_body(
    state: &mut SimState,
    key: &RefundKey,
    apiv3_key: &str,
) -> Option<String> {
    let resource_nonce = crate::ids::resource_nonce(&mut state.rng);
    let id = crate::ids::event_id(&mut state.rng);
    let refund = state.refunds.get(key)?;
    let (event_type, summary) = event(refund.status);
    wxpay_core::v3::notify::notify_body(
        &wxpay_core::v3::notify::NotifyParts {
            event_type,
            summary,
            original_type: "refund",
            resource_json: &resource(refund).to_string(),
            id: &id,
            create_time: &beijing_rfc3339(crate::clock::now()),
        },
        apiv3_key.as_bytes(),
        &resource_nonce,
    )
    .ok()
}
