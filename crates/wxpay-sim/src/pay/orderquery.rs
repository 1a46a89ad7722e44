//! `POST /pay/orderquery`: the trade as WeChat sees it.

use super::{BizError, BizResult, Request};
use crate::state::{Sim, SimState};

pub(super) fn apply(_sim: &Sim, state: &mut SimState, request: &Request<'_>) -> BizResult {
    request.require("appid")?;
    request.require("nonce_str")?;
    let mch_id = request.require("mch_id")?;
    // transaction_id wins when both are given.
    let trade = match (request.get("transaction_id"), request.get("out_trade_no")) {
        (Some(transaction_id), _) => state
            .trades
            .values()
            .find(|t| t.mch_id == mch_id && t.transaction_id.as_deref() == Some(transaction_id)),
        (None, Some(out_trade_no)) => state
            .trades
            .get(&(mch_id.to_owned(), out_trade_no.to_owned())),
        (None, None) => {
            return Err(BizError::new(
                "LACK_PARAMS",
                "transaction_id 与 out_trade_no 须至少填一个",
            ));
        }
    };
    let trade = trade
        .filter(|t| Some(t.appid.as_str()) == request.get("appid"))
        .ok_or_else(|| BizError::new("ORDERNOTEXIST", "此交易订单号不存在"))?;

    let mut fields = vec![
        ("trade_state", trade.state.wire().to_owned()),
        ("trade_state_desc", trade.state.description().to_owned()),
        ("out_trade_no", trade.out_trade_no.clone()),
        ("total_fee", trade.total_fee.to_string()),
        ("fee_type", "CNY".to_owned()),
        ("trade_type", "JSAPI".to_owned()),
        ("openid", trade.openid.clone()),
    ];
    if let Some(attach) = trade.field("attach") {
        fields.push(("attach", attach.to_owned()));
    }
    if trade.state.was_paid() {
        fields.extend([
            ("is_subscribe", "N".to_owned()),
            ("bank_type", "CFT".to_owned()),
            ("cash_fee", trade.total_fee.to_string()),
            ("cash_fee_type", "CNY".to_owned()),
            (
                "transaction_id",
                trade.transaction_id.clone().unwrap_or_default(),
            ),
            ("time_end", trade.time_end().unwrap_or_default()),
        ]);
    }
    Ok(fields)
}
