//! The simulator's memory: merchants, users and their login codes, trades, faults and
//! the notify log. One mutex guards it; no lock is held across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use tokio::sync::mpsc;
use wxpay_core::v2::{Params, SignType};
use wxpay_core::{ApiKey, Fen, SessionKey};

use crate::clock::TimeScale;
use crate::config::{ConfigError, MerchantConfig, SimConfig};
use crate::faults::{Endpoint, FaultBook, FaultSpec};
use crate::notify::{Delivery, NotifyAttempt};
use crate::refund::{Refund, RefundKey};
use crate::v3::account::V3Account;

/// How long a `wx.login` code stays valid.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(5 * 60);
/// How long a prepay_id stays usable.
pub(crate) const PREPAY_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// code2session calls allowed per user per minute before errcode 45011.
pub(crate) const LOGINS_PER_MINUTE: usize = 100;

#[derive(Debug)]
pub struct Merchant {
    pub config: MerchantConfig,
    pub key: ApiKey,
    pub v3: V3Account,
}

#[derive(Debug)]
pub struct LoginCode {
    pub appid: String,
    pub openid: String,
    pub issued: Instant,
    pub used: bool,
}

#[derive(Debug)]
pub struct User {
    pub session_key: SessionKey,
    pub unionid: Option<String>,
    /// WeChat risk control intercepts this user's logins (errcode 40226).
    pub blocked: bool,
    /// When recent code2session calls happened, for the per-minute quota.
    pub recent_logins: VecDeque<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    Notpay,
    Success,
    Closed,
    /// Paid, then refunded (here only through the control API, as a merchant refunding
    /// on WeChat's merchant platform would).
    Refund,
}

impl TradeState {
    /// Paid at some point (a refund does not undo that the payment happened).
    pub fn was_paid(self) -> bool {
        matches!(self, TradeState::Success | TradeState::Refund)
    }

    pub fn wire(self) -> &'static str {
        match self {
            TradeState::Notpay => "NOTPAY",
            TradeState::Success => "SUCCESS",
            TradeState::Closed => "CLOSED",
            TradeState::Refund => "REFUND",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            TradeState::Notpay => "订单未支付",
            TradeState::Success => "支付成功",
            TradeState::Closed => "订单已关闭",
            TradeState::Refund => "订单发生过退款，退款详情请查询退款单",
        }
    }
}

/// Which API created a trade: it decides the paySign the payer must bring and the
/// notify's format. Either API can query or close any trade (a trade is a trade).
#[derive(Debug)]
pub enum Protocol {
    /// `/pay/unifiedorder`: paid with this sign type, notified in signed XML. The fields
    /// that define the order (all but nonce_str and sign): a repeat must match them.
    V2 {
        sign_type: SignType,
        order_fields: Params<'static>,
    },
    /// `/v3/pay/transactions/jsapi`: paySign RSA, notified in signed, encrypted JSON. The
    /// request body as parsed: a repeat must match it.
    V3 { request: serde_json::Value },
}

/// A trade as WeChat keeps it, keyed by (mch_id, out_trade_no).
#[derive(Debug)]
pub struct Trade {
    pub appid: String,
    pub mch_id: String,
    pub out_trade_no: String,
    pub openid: String,
    pub total_fee: Fen,
    pub protocol: Protocol,
    pub notify_url: String,
    pub prepay_id: String,
    pub prepay_issued: Instant,
    pub state: TradeState,
    pub transaction_id: Option<String>,
    /// When it was paid (UTC).
    pub paid_at: Option<time::OffsetDateTime>,
}

impl Trade {
    /// A v2 order field, by its v2 name (`attach`, `body`, `device_info`); a v3 trade
    /// answers `attach` and `body` (its `description`).
    pub fn field(&self, name: &str) -> Option<&str> {
        match &self.protocol {
            Protocol::V2 { order_fields, .. } => order_fields.get(name),
            Protocol::V3 { request } => {
                let v3_name = match name {
                    "body" => "description",
                    "attach" => "attach",
                    _ => return None,
                };
                request.get(v3_name).and_then(serde_json::Value::as_str)
            }
        }
        .filter(|v| !v.is_empty())
    }

    /// Whether a v2 unifiedorder with these order fields repeats this trade's.
    pub fn has_v2_fields(&self, fields: &Params<'_>) -> bool {
        matches!(&self.protocol, Protocol::V2 { order_fields, .. } if order_fields == fields)
    }

    /// `MD5` / `HMAC-SHA256` for a v2 trade, `RSA` for a v3 one.
    pub fn sign_type_name(&self) -> &'static str {
        match &self.protocol {
            Protocol::V2 { sign_type, .. } => sign_type.as_str(),
            Protocol::V3 { .. } => "RSA",
        }
    }

    /// `time_end`: `yyyyMMddHHmmss`, Beijing time.
    pub fn time_end(&self) -> Option<String> {
        self.paid_at.map(crate::clock::beijing_compact)
    }

    /// `success_time`: RFC 3339, Beijing time.
    pub fn success_time(&self) -> Option<String> {
        self.paid_at.map(crate::clock::beijing_rfc3339)
    }
}

pub(crate) type TradeKey = (String, String);

#[derive(Debug)]
pub struct SimState {
    pub merchants: Vec<Merchant>,
    pub codes: HashMap<String, LoginCode>,
    pub users: HashMap<(String, String), User>,
    pub trades: HashMap<TradeKey, Trade>,
    pub prepay_index: HashMap<String, TradeKey>,
    pub refunds: HashMap<RefundKey, Refund>,
    pub faults: FaultBook,
    pub notifies: Vec<NotifyAttempt>,
    /// Access tokens and phone codes (`token.rs`).
    pub tokens: crate::token::Tokens,
    /// v3 bill files waiting at their download URL (`v3/bill.rs`).
    pub bill_files: crate::v3::bill::BillFiles,
    /// The order-shipping service (`shipping/`).
    pub shipping: crate::shipping::ShippingBook,
    pub rng: StdRng,
}

impl SimState {
    pub fn merchant_by_appid(&self, appid: &str) -> Option<&Merchant> {
        self.merchants.iter().find(|m| m.config.appid == appid)
    }

    pub fn merchant_by_mch_id(&self, mch_id: &str) -> Option<&Merchant> {
        self.merchants.iter().find(|m| m.config.mch_id == mch_id)
    }

    pub fn add_merchant(&mut self, config: MerchantConfig) -> Result<(), ConfigError> {
        let key = config.validate()?;
        if self.merchant_by_appid(&config.appid).is_some()
            || self.merchant_by_mch_id(&config.mch_id).is_some()
        {
            return Err(ConfigError::Invalid(format!(
                "appid {} or mch_id {} is already configured",
                config.appid, config.mch_id
            )));
        }
        let v3 = V3Account::new(config.key_mode);
        self.merchants.push(Merchant { config, key, v3 });
        Ok(())
    }

    pub fn take_fault(&mut self, endpoint: Endpoint) -> Option<FaultSpec> {
        self.faults.take(endpoint, &mut self.rng)
    }
}

/// The shared simulator: state plus what never changes after start.
#[derive(Debug)]
pub struct Sim {
    state: Mutex<SimState>,
    /// Every key the simulator makes derives from it (see `v3::forge`).
    pub seed: u64,
    /// `https://...` of the `/secapi` (mutual TLS) listener, once bound.
    secapi_url: std::sync::OnceLock<String>,
    pub scale: TimeScale,
    pub http: reqwest::Client,
    /// Trades whose notify delivery should start (see `notify::dispatcher`).
    pub deliveries: mpsc::UnboundedSender<Delivery>,
}

impl Sim {
    pub fn new(
        config: &SimConfig,
        deliveries: mpsc::UnboundedSender<Delivery>,
    ) -> Result<Sim, ConfigError> {
        config.validate()?;
        let mut state = SimState {
            merchants: Vec::new(),
            codes: HashMap::new(),
            users: HashMap::new(),
            trades: HashMap::new(),
            prepay_index: HashMap::new(),
            refunds: HashMap::new(),
            faults: FaultBook::default(),
            notifies: Vec::new(),
            tokens: crate::token::Tokens::default(),
            bill_files: crate::v3::bill::BillFiles::default(),
            shipping: crate::shipping::ShippingBook::default(),
            rng: StdRng::seed_from_u64(config.seed),
        };
        for merchant in &config.merchants {
            state.add_merchant(merchant.clone())?;
        }
        Ok(Sim {
            state: Mutex::new(state),
            seed: config.seed,
            secapi_url: std::sync::OnceLock::new(),
            scale: TimeScale::new(config.time_scale),
            http: crate::notify::http_client()
                .map_err(|e| ConfigError::Invalid(format!("HTTP client for notifies: {e}")))?,
            deliveries,
        })
    }

    /// The state. A panic while holding the lock cannot leave it half-written in a way
    /// that matters for a simulator, so a poisoned lock is simply taken over.
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn secapi_url(&self) -> Option<String> {
        self.secapi_url.get().cloned()
    }

    pub(crate) fn set_secapi_url(&self, url: String) {
        let _ = self.secapi_url.set(url);
    }

    /// Whether `simulated` has passed since `since`, on the scaled clock.
    pub fn elapsed(&self, since: Instant, simulated: Duration) -> bool {
        since.elapsed() >= self.scale.real(simulated)
    }
}
