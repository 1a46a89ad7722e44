//! `POST /pay/closeorder`: closes an unpaid trade.

use super::{BizError, BizResult, Request};
use crate::state::{Sim, SimState, TradeState};

pub(super) fn apply(_sim: &Sim, state: &mut SimState, request: &Request<'_>) -> BizResult {
    let appid = request.require("appid")?;
    request.require("nonce_str")?;
    let mch_id = request.require("mch_id")?;
    let out_trade_no = request.require("out_trade_no")?;
    let trade = state
        .trades
        .get_mut(&(mch_id.to_owned(), out_trade_no.to_owned()))
        .filter(|t| t.appid == appid)
        .ok_or_else(|| BizError::new("ORDERNOTEXIST", "此交易订单号不存在"))?;
    match trade.state {
        TradeState::Success | TradeState::Refund => Err(BizError::new(
            "ORDERPAID",
            "订单已支付，不能发起关单，请发起退款",
        )),
        TradeState::Closed => Err(BizError::new("ORDERCLOSED", "订单已关闭，无需继续调用")),
        TradeState::Notpay => {
            trade.state = TradeState::Closed;
            Ok(vec![("result_msg", "OK".to_owned())])
        }
    }
}
