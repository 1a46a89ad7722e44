//! Pay notify delivery: the signed v2 notify POSTed to `notify_url` on WeChat's retry
//! schedule until the merchant answers the SUCCESS XML, every attempt logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use tokio::time::sleep_until;
use wxpay_core::v2::{Params, sign, xml};

use crate::clock::now;
use crate::faults::{Endpoint, FaultKind, FaultSpec};
use crate::ids;
use crate::state::{Sim, TradeKey};

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;

/// Intervals between notifications after the first (protocol.md §2.11): 15 retries,
/// 24 h 4 min in all.
pub const RETRY_SCHEDULE: [Duration; 15] = [
    Duration::from_secs(15),
    Duration::from_secs(15),
    Duration::from_secs(30),
    Duration::from_secs(3 * MINUTE),
    Duration::from_secs(10 * MINUTE),
    Duration::from_secs(20 * MINUTE),
    Duration::from_secs(30 * MINUTE),
    Duration::from_secs(30 * MINUTE),
    Duration::from_secs(30 * MINUTE),
    Duration::from_secs(HOUR),
    Duration::from_secs(3 * HOUR),
    Duration::from_secs(3 * HOUR),
    Duration::from_secs(3 * HOUR),
    Duration::from_secs(6 * HOUR),
    Duration::from_secs(6 * HOUR),
];

/// How long WeChat waits for the merchant's reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// The scaled reply timeout never goes below this, so a busy test machine does not turn
/// every reply into a timeout at large time scales.
pub const MIN_REAL_REPLY_TIMEOUT: Duration = Duration::from_millis(250);
/// Longest merchant reply read.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// One delivery attempt, as `GET /sim/notifies` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct NotifyAttempt {
    pub mch_id: String,
    pub out_trade_no: String,
    /// 1 for the first notification, up to 16.
    pub attempt: u32,
    /// When it was sent (UTC, RFC 3339).
    pub at: String,
    /// Real milliseconds since the payment, to check the (scaled) schedule.
    pub since_paid_ms: u64,
    pub url: String,
    pub http_status: Option<u16>,
    pub return_code: Option<String>,
    pub return_msg: Option<String>,
    /// Why there was no reply (timeout, connection refused, dropped by a fault).
    pub error: Option<String>,
    pub acknowledged: bool,
    pub fault: Option<FaultKind>,
}

pub fn http_client() -> reqwest::Result<reqwest::Client> {
    // reqwest is built without a bundled crypto provider; ring is installed process-wide
    // (a second install is refused harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .build()
}

/// Starts a delivery for each trade sent on the channel (one task per trade).
pub async fn dispatcher(sim: Arc<Sim>, mut trades: mpsc::UnboundedReceiver<TradeKey>) {
    while let Some(key) = trades.recv().await {
        tokio::spawn(deliver(Arc::clone(&sim), key));
    }
}

/// The signed notify for a paid trade: every field WeChat sends for a JSAPI payment,
/// signed with the order's sign type and, like WeChat's HMAC notifies, without a
/// `sign_type` element.
fn build_notify(sim: &Sim, key: &TradeKey) -> Option<(String, String)> {
    let mut state = sim.state();
    let nonce = ids::nonce(&mut state.rng);
    let trade = state.trades.get(key)?;
    let merchant = state.merchant_by_mch_id(&trade.mch_id)?;
    let fee = trade.total_fee.to_string();
    let mut params: Params<'_> = [
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("result_code", "SUCCESS"),
        ("appid", trade.appid.as_str()),
        ("mch_id", trade.mch_id.as_str()),
        ("nonce_str", nonce.as_str()),
        ("openid", trade.openid.as_str()),
        ("is_subscribe", "N"),
        ("trade_type", "JSAPI"),
        ("bank_type", "CFT"),
        ("total_fee", fee.as_str()),
        ("fee_type", "CNY"),
        ("cash_fee", fee.as_str()),
        ("cash_fee_type", "CNY"),
        (
            "transaction_id",
            trade.transaction_id.as_deref().unwrap_or_default(),
        ),
        ("out_trade_no", trade.out_trade_no.as_str()),
        ("time_end", trade.time_end.as_deref().unwrap_or_default()),
    ]
    .into_iter()
    .collect();
    for optional in ["attach", "device_info"] {
        if let Some(value) = trade.field(optional) {
            params.insert(optional, value);
        }
    }
    let signature = sign::sign(&params, &merchant.key, trade.sign_type);
    params.insert("sign", signature.as_str().to_owned());
    let body = xml::to_xml(&params).ok()?;
    Some((trade.notify_url.clone(), body))
}

async fn deliver(sim: Arc<Sim>, key: TradeKey) {
    let Some((url, body)) = build_notify(&sim, &key) else {
        return;
    };
    let paid_at = Instant::now();
    let mut due = paid_at;
    let attempts = std::iter::once(Duration::ZERO).chain(RETRY_SCHEDULE);
    for (number, interval) in (1u32..).zip(attempts) {
        due += sim.scale.real(interval);
        sleep_until(due.into()).await;
        let attempt = Attempt {
            sim: &sim,
            key: &key,
            url: &url,
            body: &body,
            number,
            paid_at,
        };
        if attempt.run().await {
            return;
        }
    }
    tracing::warn!(out_trade_no = %key.1, "notify never acknowledged after 16 notifications");
}

struct Attempt<'a> {
    sim: &'a Sim,
    key: &'a TradeKey,
    url: &'a str,
    body: &'a str,
    number: u32,
    paid_at: Instant,
}

impl Attempt<'_> {
    /// Sends (or, under a fault, loses, doubles or holds) one notification. True when the
    /// merchant acknowledged it.
    async fn run(&self) -> bool {
        let fault = self.sim.state().take_fault(Endpoint::Notify);
        let kind = fault.as_ref().map(|f| f.kind);
        match kind {
            Some(FaultKind::Drop) => {
                self.record(Reply::failed("dropped by fault injection"), &fault);
                false
            }
            Some(FaultKind::Duplicate) => {
                let (first, second) = tokio::join!(self.send(), self.send());
                let acknowledged = first.acknowledged || second.acknowledged;
                self.record(first, &fault);
                self.record(second, &fault);
                acknowledged
            }
            Some(FaultKind::Delay | FaultKind::Reorder) => {
                if let Some(spec) = &fault {
                    tokio::time::sleep(spec.delay()).await;
                }
                self.send_and_record(&fault).await
            }
            _ => self.send_and_record(&fault).await,
        }
    }

    async fn send_and_record(&self, fault: &Option<FaultSpec>) -> bool {
        let reply = self.send().await;
        let acknowledged = reply.acknowledged;
        self.record(reply, fault);
        acknowledged
    }

    async fn send(&self) -> Reply {
        let timeout = self
            .sim
            .scale
            .real(REPLY_TIMEOUT)
            .max(MIN_REAL_REPLY_TIMEOUT);
        let sent = self
            .sim
            .http
            .post(self.url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(self.body.to_owned())
            .timeout(timeout)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return Reply::failed(&describe(&e)),
        };
        let status = response.status().as_u16();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(e) => {
                return Reply {
                    http_status: Some(status),
                    ..Reply::failed(&describe(&e))
                };
            }
        };
        let parsed = bytes
            .get(..bytes.len().min(MAX_REPLY_BYTES))
            .and_then(|b| xml::parse(b).ok());
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|p| p.get(name))
                .map(|v| v.chars().take(128).collect::<String>())
        };
        let return_code = field("return_code");
        Reply {
            http_status: Some(status),
            acknowledged: status == 200 && return_code.as_deref() == Some("SUCCESS"),
            return_code,
            return_msg: field("return_msg"),
            error: None,
        }
    }

    fn record(&self, reply: Reply, fault: &Option<FaultSpec>) {
        let attempt = NotifyAttempt {
            mch_id: self.key.0.clone(),
            out_trade_no: self.key.1.clone(),
            attempt: self.number,
            at: now().format(&Rfc3339).unwrap_or_default(),
            since_paid_ms: u64::try_from(self.paid_at.elapsed().as_millis()).unwrap_or(u64::MAX),
            url: self.url.to_owned(),
            http_status: reply.http_status,
            return_code: reply.return_code,
            return_msg: reply.return_msg,
            error: reply.error,
            acknowledged: reply.acknowledged,
            fault: fault.as_ref().map(|f| f.kind),
        };
        tracing::info!(
            out_trade_no = %attempt.out_trade_no,
            attempt = attempt.attempt,
            status = ?attempt.http_status,
            acknowledged = attempt.acknowledged,
            "notify delivered"
        );
        self.sim.state().notifies.push(attempt);
    }
}

struct Reply {
    http_status: Option<u16>,
    return_code: Option<String>,
    return_msg: Option<String>,
    error: Option<String>,
    acknowledged: bool,
}

impl Reply {
    fn failed(why: &str) -> Reply {
        Reply {
            http_status: None,
            return_code: None,
            return_msg: None,
            error: Some(why.to_owned()),
            acknowledged: false,
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout waiting for the merchant's reply".to_owned()
    } else if error.is_connect() {
        "could not connect to notify_url".to_owned()
    } else {
        format!("request failed: {error}")
    }
}
