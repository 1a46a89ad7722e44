//! Pay notify delivery: the trade's notify (signed XML for a v2 trade, signed and
//! encrypted JSON for a v3 one) POSTed to `notify_url` on WeChat's retry schedule until
//! the merchant acknowledges it (v2: the SUCCESS XML; v3: HTTP 200 or 204), every
//! attempt logged.

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
use crate::refund::{RefundApi, RefundKey};
use crate::state::{Protocol, Sim, TradeKey};

/// What a notify is about: a paid trade, or a refund that finished.
#[derive(Debug, Clone)]
pub enum Delivery {
    Payment(TradeKey),
    Refund(RefundKey),
}

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
    /// `payment` or `refund`.
    pub kind: &'static str,
    /// For a refund notify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_refund_no: Option<String>,
    /// 1 for the first notification, up to 16.
    pub attempt: u32,
    /// When it was sent (UTC, RFC 3339).
    pub at: String,
    /// Real milliseconds since the payment, to check the (scaled) schedule.
    pub since_paid_ms: u64,
    pub url: String,
    /// `v2` or `v3`.
    pub api: &'static str,
    /// v3: the `Wechatpay-Serial` this attempt named (the key that signed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    pub http_status: Option<u16>,
    /// v2: `return_code` of the reply; v3: the reply's `code`, if it sent JSON.
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

/// Starts a delivery for each notify sent on the channel (one task each).
pub async fn dispatcher(sim: Arc<Sim>, mut deliveries: mpsc::UnboundedReceiver<Delivery>) {
    while let Some(delivery) = deliveries.recv().await {
        tokio::spawn(deliver(Arc::clone(&sim), delivery));
    }
}

/// What is delivered, and what it is about.
struct Notification {
    url: String,
    body: String,
    /// v3 notifies are signed per attempt, by the merchant's key of the moment.
    v3_mchid: Option<String>,
    mch_id: String,
    out_trade_no: String,
    out_refund_no: Option<String>,
}

async fn build(sim: &Sim, delivery: &Delivery) -> Option<Notification> {
    match delivery {
        Delivery::Payment(key) => build_payment(sim, key).await,
        Delivery::Refund(key) => build_refund(sim, key).await,
    }
}

async fn build_payment(sim: &Sim, key: &TradeKey) -> Option<Notification> {
    let (url, is_v3) = {
        let state = sim.state();
        let trade = state.trades.get(key)?;
        let is_v3 = matches!(trade.protocol, Protocol::V3 { .. });
        (trade.notify_url.clone(), is_v3)
    };
    let body = if is_v3 {
        crate::v3::notify::body(sim, key).await?
    } else {
        v2_body(sim, key)?
    };
    Some(Notification {
        url,
        body,
        v3_mchid: is_v3.then(|| key.0.clone()),
        mch_id: key.0.clone(),
        out_trade_no: key.1.clone(),
        out_refund_no: None,
    })
}

/// A finished refund's notify, in the API it was asked in (only when it named a
/// notify_url; WeChat's platform-wide setting is not simulated).
async fn build_refund(sim: &Sim, key: &RefundKey) -> Option<Notification> {
    let (url, api, out_trade_no) = {
        let state = sim.state();
        let refund = state.refunds.get(key)?;
        (
            refund.notify_url.clone()?,
            refund.api.clone(),
            refund.out_trade_no.clone(),
        )
    };
    let body = match api {
        RefundApi::V2 => crate::refund::v2::notify_body(&mut sim.state(), key)?,
        RefundApi::V3 => {
            let merchant = crate::v3::account::snapshot(sim, &key.0)
                .await
                .ok()
                .flatten()?;
            crate::refund::v3::notify_body(&mut sim.state(), key, &merchant.apiv3_key)?
        }
    };
    Some(Notification {
        url,
        body,
        v3_mchid: (api == RefundApi::V3).then(|| key.0.clone()),
        mch_id: key.0.clone(),
        out_trade_no,
        out_refund_no: Some(key.1.clone()),
    })
}

/// The signed v2 notify for a paid trade: every field WeChat sends for a JSAPI payment,
/// signed with the order's sign type and, like WeChat's HMAC notifies, without a
/// `sign_type` element.
fn v2_body(sim: &Sim, key: &TradeKey) -> Option<String> {
    let mut state = sim.state();
    let nonce = ids::nonce(&mut state.rng);
    let trade = state.trades.get(key)?;
    let Protocol::V2 { sign_type, .. } = &trade.protocol else {
        return None;
    };
    let time_end = trade.time_end().unwrap_or_default();
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
        ("time_end", time_end.as_str()),
    ]
    .into_iter()
    .collect();
    for optional in ["attach", "device_info"] {
        if let Some(value) = trade.field(optional) {
            params.insert(optional, value);
        }
    }
    let signature = sign::sign(&params, &merchant.key, *sign_type);
    params.insert("sign", signature.as_str().to_owned());
    xml::to_xml(&params).ok()
}

async fn deliver(sim: Arc<Sim>, delivery: Delivery) {
    let Some(notification) = build(&sim, &delivery).await else {
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
            notification: &notification,
            number,
            paid_at,
        };
        if attempt.run().await {
            return;
        }
    }
    tracing::warn!(out_trade_no = %notification.out_trade_no, "notify never acknowledged after 16 notifications");
}

struct Attempt<'a> {
    sim: &'a Sim,
    notification: &'a Notification,
    number: u32,
    paid_at: Instant,
}

impl Attempt<'_> {
    /// Sends (or, under a fault, loses, doubles, holds or spoils) one notification. True
    /// when the merchant acknowledged it.
    async fn run(&self) -> bool {
        let fault = self.sim.state().take_fault(Endpoint::Notify);
        let kind = fault.as_ref().map(|f| f.kind);
        // The v3 faults mean nothing to a v2 notify, which is sent as usual.
        let v3 = self.notification.v3_mchid.is_some();
        let kind = kind.filter(|k| v3 || !k.is_v3_notify_only());
        match kind {
            Some(FaultKind::Drop) => {
                self.record(Reply::failed("dropped by fault injection"), None, &fault);
                false
            }
            Some(FaultKind::Duplicate) => {
                let (first, second) = tokio::join!(self.send(None), self.send(None));
                let acknowledged = first.0.acknowledged || second.0.acknowledged;
                self.record(first.0, first.1, &fault);
                self.record(second.0, second.1, &fault);
                acknowledged
            }
            Some(FaultKind::Delay | FaultKind::Reorder) => {
                if let Some(spec) = &fault {
                    tokio::time::sleep(spec.delay()).await;
                }
                self.send_and_record(None, &None).await
            }
            Some(FaultKind::Probe) => {
                // The probe is traffic of its own: whatever the merchant answers, the
                // real notification follows.
                let (probe, serial) = self.send(kind).await;
                self.record(probe, serial, &fault);
                self.send_and_record(None, &None).await
            }
            Some(FaultKind::StaleTimestamp | FaultKind::WrongSerial) => {
                self.send_and_record(kind, &fault).await
            }
            _ => self.send_and_record(None, &fault).await,
        }
    }

    async fn send_and_record(&self, spoil: Option<FaultKind>, fault: &Option<FaultSpec>) -> bool {
        let (reply, serial) = self.send(spoil).await;
        let acknowledged = reply.acknowledged;
        self.record(reply, serial, fault);
        acknowledged
    }

    /// One POST. A v3 notification is signed now (spoiled as `spoil` says, for the v3
    /// notify faults); returns the reply and the serial the attempt named.
    async fn send(&self, spoil: Option<FaultKind>) -> (Reply, Option<String>) {
        let timeout = self
            .sim
            .scale
            .real(REPLY_TIMEOUT)
            .max(MIN_REAL_REPLY_TIMEOUT);
        let notification = self.notification;
        let mut request = self
            .sim
            .http
            .post(&notification.url)
            .body(notification.body.clone())
            .timeout(timeout);
        let mut serial = None;
        match &notification.v3_mchid {
            None => {
                request = request.header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8");
            }
            Some(mchid) => {
                let Some(headers) =
                    crate::v3::notify::headers(self.sim, mchid, &notification.body, spoil).await
                else {
                    return (Reply::failed("no key to sign the notify with"), None);
                };
                request = request.header(reqwest::header::CONTENT_TYPE, "application/json");
                for (name, value) in headers {
                    if name == "Wechatpay-Serial" {
                        serial = Some(value.clone());
                    }
                    request = request.header(name, value);
                }
            }
        }
        let reply = match request.send().await {
            Ok(response) => read_reply(response, notification.v3_mchid.is_some()).await,
            Err(e) => Reply::failed(&describe(&e)),
        };
        (reply, serial)
    }

    fn record(&self, reply: Reply, serial: Option<String>, fault: &Option<FaultSpec>) {
        let attempt = NotifyAttempt {
            mch_id: self.notification.mch_id.clone(),
            out_trade_no: self.notification.out_trade_no.clone(),
            kind: if self.notification.out_refund_no.is_some() {
                "refund"
            } else {
                "payment"
            },
            out_refund_no: self.notification.out_refund_no.clone(),
            attempt: self.number,
            at: now().format(&Rfc3339).unwrap_or_default(),
            since_paid_ms: u64::try_from(self.paid_at.elapsed().as_millis()).unwrap_or(u64::MAX),
            url: self.notification.url.clone(),
            api: if self.notification.v3_mchid.is_some() {
                "v3"
            } else {
                "v2"
            },
            serial,
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

/// The merchant's answer. v2: acknowledged by HTTP 200 with `return_code` SUCCESS; v3:
/// by HTTP 200 or 204 (a body, if any, is only logged).
async fn read_reply(response: reqwest::Response, v3: bool) -> Reply {
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
    let bytes = bytes
        .get(..bytes.len().min(MAX_REPLY_BYTES))
        .unwrap_or_default();
    let cut = |v: &str| v.chars().take(128).collect::<String>();
    let (return_code, return_msg) = if v3 {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|p| p.get(name))
                .and_then(serde_json::Value::as_str)
                .map(cut)
        };
        (field("code"), field("message"))
    } else {
        let parsed = xml::parse(bytes).ok();
        let field = |name: &str| parsed.as_ref().and_then(|p| p.get(name)).map(cut);
        (field("return_code"), field("return_msg"))
    };
    let acknowledged = if v3 {
        matches!(status, 200 | 204)
    } else {
        status == 200 && return_code.as_deref() == Some("SUCCESS")
    };
    Reply {
        http_status: Some(status),
        return_code,
        return_msg,
        error: None,
        acknowledged,
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
