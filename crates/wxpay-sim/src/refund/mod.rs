//! Refunds, v2 (`/secapi/pay/refund` over mutual TLS, `/pay/refundquery`) and v3
//! (`/v3/refund/domestic/refunds`), on the same trades: WeChat's rules (only paid trades,
//! the sum at most the total, at most 50 per trade, the same out_refund_no only with the
//! same request), then PROCESSING, and after a while SUCCESS (or ABNORMAL / CLOSED by
//! fault), with a refund notify when the request named a notify_url. A refunded trade's
//! `trade_state` is REFUND.

pub(crate) mod rules;
pub(crate) mod v2;
pub(crate) mod v3;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use wxpay_core::Fen;

use crate::clock::now;
use crate::notify::Delivery;
use crate::state::{Sim, TradeState};

/// How long a refund stays PROCESSING (simulated; WeChat's to a balance are quick).
pub const REFUND_PROCESSING: Duration = Duration::from_secs(10);
/// Partial refunds allowed per trade.
pub const MAX_REFUNDS_PER_TRADE: usize = 50;

/// A refund's state, in v3's words (v2: `PROCESSING`, `SUCCESS`, `REFUNDCLOSE`, `CHANGE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Processing,
    Success,
    Closed,
    Abnormal,
}

impl RefundStatus {
    pub fn v3(self) -> &'static str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Closed => "CLOSED",
            RefundStatus::Abnormal => "ABNORMAL",
        }
    }

    pub fn v2(self) -> &'static str {
        match self {
            RefundStatus::Processing => "PROCESSING",
            RefundStatus::Success => "SUCCESS",
            RefundStatus::Closed => "REFUNDCLOSE",
            RefundStatus::Abnormal => "CHANGE",
        }
    }

    /// Counts against the trade's refundable amount (a closed one gave it back).
    pub fn holds_money(self) -> bool {
        self != RefundStatus::Closed
    }
}

/// Which API asked for the refund: it decides the refund notify's format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundApi {
    V2,
    V3,
}

/// A refund as WeChat keeps it, keyed by (mch_id, out_refund_no).
#[derive(Debug, Clone)]
pub struct Refund {
    pub mch_id: String,
    pub appid: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub amount: Fen,
    pub total: Fen,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub api: RefundApi,
    /// What defines the request (all but nonce and signature): a repeat must match it.
    pub request: serde_json::Value,
    pub status: RefundStatus,
    /// Where it ends after PROCESSING (SUCCESS unless a fault said otherwise).
    pub ends: RefundStatus,
    pub created: Instant,
    pub created_at: OffsetDateTime,
    pub success_time: Option<OffsetDateTime>,
}

pub(crate) type RefundKey = (String, String);

/// Finishes the refunds whose processing time is over (their final status, the trade
/// REFUND on a success, their notify). Runs beside the notify dispatcher.
pub(crate) async fn ticker(sim: Arc<Sim>) {
    let processing = sim.scale.real(REFUND_PROCESSING);
    let every = (processing / 10).max(Duration::from_millis(5));
    loop {
        tokio::time::sleep(every).await;
        let due: Vec<(RefundKey, RefundStatus)> = sim
            .state()
            .refunds
            .iter()
            .filter(|(_, r)| {
                r.status == RefundStatus::Processing && r.created.elapsed() >= processing
            })
            .map(|(key, r)| (key.clone(), r.ends))
            .collect();
        for (key, ends) in due {
            finish(&sim, &key, ends);
        }
    }
}

/// Moves a refund to `status` (also an ABNORMAL one, resolved on the merchant platform)
/// and sends its notify.
pub(crate) fn finish(sim: &Sim, key: &RefundKey, status: RefundStatus) {
    let notify = {
        let mut state = sim.state();
        let Some(refund) = state.refunds.get_mut(key) else {
            return;
        };
        refund.status = status;
        if status == RefundStatus::Success {
            refund.success_time = Some(now());
        }
        let trade_key = (refund.mch_id.clone(), refund.out_trade_no.clone());
        let notify = refund.notify_url.is_some();
        if status == RefundStatus::Success
            && let Some(trade) = state.trades.get_mut(&trade_key)
        {
            trade.state = TradeState::Refund;
        }
        notify
    };
    if notify {
        // The dispatcher only stops when the simulator does.
        let _ = sim.deliveries.send(Delivery::Refund(key.clone()));
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusChange {
    status: RefundStatus,
    mch_id: Option<String>,
}

/// `POST /sim/refunds/{out_refund_no}/status {status, mch_id?}`: what the merchant
/// platform does to an ABNORMAL refund (or any refund, for tests): it becomes SUCCESS or
/// CLOSED, and its notify goes out.
pub(crate) async fn set_status(
    sim: actix_web::web::Data<Arc<Sim>>,
    out_refund_no: actix_web::web::Path<String>,
    change: actix_web::web::Json<StatusChange>,
) -> actix_web::HttpResponse {
    use actix_web::HttpResponse;
    use serde_json::json;
    if change.status == RefundStatus::Processing {
        return crate::control::bad_request("a refund cannot go back to PROCESSING".into());
    }
    let key = {
        let state = sim.state();
        state
            .refunds
            .keys()
            .find(|(mch, no)| {
                *no == *out_refund_no && change.mch_id.as_ref().is_none_or(|m| m == mch)
            })
            .cloned()
    };
    let Some(key) = key else {
        return HttpResponse::NotFound().json(json!({ "error": "no such refund" }));
    };
    finish(&sim, &key, change.status);
    HttpResponse::Ok().json(json!({ "out_refund_no": key.1, "status": change.status.v3() }))
}
