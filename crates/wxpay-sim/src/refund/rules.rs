//! WeChat's refund rules, shared by v2 and v3 (each answers a refusal in its own words).

use std::time::Instant;

use wxpay_core::Fen;

use super::{MAX_REFUNDS_PER_TRADE, Refund, RefundApi, RefundKey, RefundStatus};
use crate::clock::now;
use crate::faults::FaultKind;
use crate::ids;
use crate::state::SimState;

/// Which trade a refund is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TradeRef<'a> {
    TransactionId(&'a str),
    OutTradeNo(&'a str),
}

/// A refund request, once its fields were read.
#[derive(Debug)]
pub(crate) struct RefundAsk<'a> {
    pub mch_id: &'a str,
    pub trade: TradeRef<'a>,
    pub out_refund_no: &'a str,
    pub amount: Fen,
    pub total: Fen,
    pub reason: Option<&'a str>,
    pub notify_url: Option<&'a str>,
    pub api: RefundApi,
    pub request: serde_json::Value,
}

/// Why WeChat refuses a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No such trade, or it was never paid.
    NoTrade,
    /// `total` is not the trade's amount.
    TotalMismatch,
    /// More than what is left to refund.
    TooMuch,
    /// The 51st refund of a trade.
    TooMany,
    /// The same out_refund_no with another request.
    Reused,
    /// The merchant's refundable balance is too low (fault).
    NotEnough,
}

impl Refusal {
    pub(crate) fn description(self) -> &'static str {
        match self {
            Refusal::NoTrade => "订单不存在或未支付",
            Refusal::TotalMismatch => "订单金额与原订单不一致",
            Refusal::TooMuch => "退款金额超过订单剩余可退金额",
            Refusal::TooMany => "一笔订单最多可退款50次",
            Refusal::Reused => "同一退款单号的请求参数与原请求不一致",
            Refusal::NotEnough => "基本账户余额不足，请充值后重新发起",
        }
    }
}

/// `out_refund_no`: 1-64 of digits, letters and `_ - | * @`.
pub(crate) fn out_refund_no_ok(value: &str) -> bool {
    let allowed =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@');
    !value.is_empty() && value.len() <= 64 && value.bytes().all(allowed)
}

/// Creates the refund (PROCESSING), or finds the one this exact request made before.
/// Returns its key and whether it is new.
pub(crate) fn create(
    state: &mut SimState,
    ask: &RefundAsk<'_>,
    fault: Option<FaultKind>,
) -> Result<(RefundKey, bool), Refusal> {
    let key = (ask.mch_id.to_owned(), ask.out_refund_no.to_owned());
    if let Some(existing) = state.refunds.get(&key) {
        return if existing.request == ask.request {
            Ok((key, false))
        } else {
            Err(Refusal::Reused)
        };
    }
    let trade = state
        .trades
        .values()
        .find(|t| {
            t.mch_id == ask.mch_id
                && match ask.trade {
                    TradeRef::TransactionId(id) => t.transaction_id.as_deref() == Some(id),
                    TradeRef::OutTradeNo(no) => t.out_trade_no == no,
                }
        })
        .filter(|t| t.state.was_paid())
        .ok_or(Refusal::NoTrade)?;
    if ask.total != trade.total_fee {
        return Err(Refusal::TotalMismatch);
    }
    let earlier: Vec<&Refund> = state
        .refunds
        .values()
        .filter(|r| r.mch_id == ask.mch_id && r.out_trade_no == trade.out_trade_no)
        .collect();
    if earlier.len() >= MAX_REFUNDS_PER_TRADE {
        return Err(Refusal::TooMany);
    }
    let held: i64 = earlier
        .iter()
        .filter(|r| r.status.holds_money())
        .map(|r| r.amount.get())
        .sum();
    if !ask.amount.is_positive() || held + ask.amount.get() > trade.total_fee.get() {
        return Err(Refusal::TooMuch);
    }
    if fault == Some(FaultKind::NotEnough) {
        return Err(Refusal::NotEnough);
    }
    let refund = Refund {
        mch_id: ask.mch_id.to_owned(),
        appid: trade.appid.clone(),
        out_trade_no: trade.out_trade_no.clone(),
        transaction_id: trade.transaction_id.clone().unwrap_or_default(),
        out_refund_no: ask.out_refund_no.to_owned(),
        refund_id: ids::refund_id(&mut state.rng),
        amount: ask.amount,
        total: trade.total_fee,
        reason: ask.reason.map(str::to_owned),
        notify_url: ask.notify_url.map(str::to_owned),
        api: ask.api.clone(),
        request: ask.request.clone(),
        status: RefundStatus::Processing,
        ends: match fault {
            Some(FaultKind::RefundAbnormal) => RefundStatus::Abnormal,
            Some(FaultKind::RefundClosed) => RefundStatus::Closed,
            _ => RefundStatus::Success,
        },
        created: Instant::now(),
        created_at: now(),
        success_time: None,
    };
    state.refunds.insert(key.clone(), refund);
    Ok((key, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_refund_no_rules() {
        assert!(out_refund_no_ok("R20261130-1|a*b@c_d"));
        assert!(!out_refund_no_ok(""));
        assert!(!out_refund_no_ok(&"1".repeat(65)));
        assert!(!out_refund_no_ok("no spaces"));
    }
}
