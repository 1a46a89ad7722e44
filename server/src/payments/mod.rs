//! The payment side of an order: getting a prepay_id from WeChat (always with the
//! order's first request, byte for byte, so WeChat never holds two orders for it), the
//! `wx.requestPayment` params, recording verified payments (exactly once per transaction,
//! whatever the order's local state), and bringing an order in line with WeChat's view
//! (query / close). Each order goes through the gateway of the API it was created on.
//!
//! Domain: uses `refunds` (a late payment can be refunded at once) and the layers below.

mod prepay;
mod refusals;
mod settle;
mod sync;

pub(crate) use prepay::{Attempt, ensure_prepay, payment_params};
pub(crate) use settle::note_settlement;
pub(crate) use sync::{
    PaidAtWechat, close_at_wechat, refresh_if_stale, settle_if_paid_at_wechat, sync_with_wechat,
};
