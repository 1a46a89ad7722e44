//! The sections of the settings file, one struct each; `deny_unknown_fields` names a
//! misspelt key instead of ignoring it.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::merchants::MerchantSettings;
use super::shipping::ShippingSettings;
use super::tls::RefundTlsSettings;
use super::v3::V3Settings;
use super::webhooks::{EventSettings, WebhookSettings};

/// The whole configuration, a field a section of the file.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub wechat: WeChatSettings,
    pub orders: OrderSettings,
    pub auth: AuthSettings,
    pub limits: LimitSettings,
    pub admin: AdminSettings,
    pub reconciliation: ReconciliationSettings,
    pub webhooks: WebhookSettings,
    pub events: EventSettings,
    pub shipping: ShippingSettings,
    /// More merchants beside `[wechat]`'s (`merchants.rs`).
    #[serde(default)]
    pub merchants: Vec<MerchantSettings>,
}

/// Reconciling WeChat's daily bills against the orders (`reconciliation/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationSettings {
    /// Reconcile yesterday by itself once its bill exists (any one instance).
    pub daily: bool,
    /// From this hour (Beijing, 0-23) on; WeChat makes bills at about 10:00.
    pub hour: u8,
    /// Allow a day that is not over (today): its bill is incomplete, so production
    /// refuses it. The sandbox allows it (the simulator's bills exist at once).
    pub unfinished_days: bool,
    /// The largest a day's bill may inflate to (bytes of text); a larger one is refused
    /// by name (a gzip bomb costs no more memory than this). The default holds a
    /// 200,000-trade day twice over (`wxpay_client::DEFAULT_MAX_BILL_BYTES`).
    #[serde(default = "default_max_bill_bytes")]
    pub max_bill_bytes: u64,
}

fn default_max_bill_bytes() -> u64 {
    wxpay_client::DEFAULT_MAX_BILL_BYTES
}

/// The admin API (`/v1/admin/...`: refunds, order lists), for the merchant's staff and
/// tools, never for mini-program users.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// `Authorization: Bearer <token>`. Unset: there is no admin API at all (404).
    pub token: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    /// HTTP worker threads; 0 = one per CPU.
    pub workers: usize,
    /// Where WeChat reaches this server: notify_url is this + `/wechat/pay/notify`.
    pub public_base_url: Option<String>,
    /// Limit on JSON request bodies.
    pub max_body_bytes: usize,
    /// Limit on notify bodies (WeChat's are a few KiB).
    pub notify_max_body_bytes: usize,
    /// Serve `/metrics` on this address only (not on `bind`), e.g. a private interface.
    pub metrics_bind: Option<String>,
    /// When set, `/metrics` answers only `Authorization: Bearer <metrics_token>`.
    pub metrics_token: Option<SecretString>,
    /// The wxpay-sign package directory (built: `dist/`) whose debug page `/debug` serves;
    /// the sandbox sets it to the repository's `wasm-pkg/`. Unset: no `/debug`.
    pub debug_page_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://FILE` (created on first run) or `postgres://...`.
    pub url: SecretString,
    pub max_connections: u32,
    /// SQLite `synchronous` in WAL mode: FULL (an acknowledged notify survives power
    /// loss) or NORMAL (survives a process crash; faster).
    pub sqlite_synchronous: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeChatSettings {
    pub appid: Option<String>,
    pub app_secret: Option<SecretString>,
    pub mch_id: Option<String>,
    /// `v2` (XML, the API key) or `v3` (JSON, RSA: `[wechat.v3]`) for new orders.
    pub api_version: String,
    /// The v2 API key: required for v2; with v3, keeps the v2 orders made before the
    /// switch working (their queries, closes and notifies).
    pub api_key: Option<SecretString>,
    pub sign_type: String,
    pub v3: V3Settings,
    /// The merchant certificate for v2 refunds (mutual TLS).
    #[serde(default)]
    pub refund_tls: RefundTlsSettings,
    pub mp_base_url: String,
    pub pay_base_url: String,
    pub spbill_create_ip: String,
    pub connect_timeout_ms: u64,
    pub request_timeout_ms: u64,
    pub retry_attempts: u32,
}

impl WeChatSettings {
    /// The timeouts and retries of every call to WeChat (`serve` and `doctor --online`).
    pub fn client_options(&self) -> wxpay_client::ClientOptions {
        wxpay_client::ClientOptions {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            retry: wxpay_client::RetryPolicy {
                attempts: self.retry_attempts.max(1),
                ..wxpay_client::RetryPolicy::default()
            },
            ..wxpay_client::ClientOptions::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSettings {
    /// Shown to the payer, followed by the order number.
    pub description: String,
    /// Unpaid orders expire (and are closed) after this long.
    pub ttl_secs: u64,
    /// Product catalog (TOML `[[products]]` with sku, name, price_fen) loaded at start.
    pub catalog: Option<PathBuf>,
    /// GET of an order awaiting payment asks WeChat when the last check is older.
    pub query_stale_after_secs: u64,
    pub reconcile_interval_ms: u64,
    /// The reconciler queries orders awaiting payment whose last check is older.
    pub reconcile_after_secs: u64,
    pub reconcile_batch: u32,
    /// Checks of one order that may fail in a row (WeChat errors) before the reconciler
    /// stops and flags the order for an operator; the pause doubles after each failure.
    pub reconcile_max_failures: u32,
    /// The longest pause between two failed checks of one order.
    pub reconcile_max_backoff_secs: u64,
    /// Idempotency-Keys are forgotten (deleted) after this long.
    pub idempotency_key_ttl_secs: u64,
    /// A late payment (paid at WeChat while closed here): `keep` it for the merchant to
    /// fulfil, or `refund` it in full at once.
    pub late_payment: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub token_ttl_secs: u64,
    /// A login ends the user's other sessions (their tokens stop working).
    pub single_session: bool,
}

/// Rate limits per instance (0 turns one off). Per-IP limits see the TCP peer: behind a
/// reverse proxy that is the proxy, so give the proxy its own limits there.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub login_per_ip_per_minute: u32,
    pub orders_per_user_per_minute: u32,
    pub orders_per_ip_per_minute: u32,
    /// `POST /v1/me/phone`: WeChat limits getuserphonenumber per app, so one user must not
    /// spend the app's quota for everyone.
    pub phone_per_user_per_minute: u32,
    pub phone_per_ip_per_minute: u32,
    /// A header your reverse proxy sets to the client's address (`X-Real-IP`, or
    /// `X-Forwarded-For`, whose last entry is the one the proxy added). Only set it when
    /// a proxy you trust always sets it: clients can send any header.
    pub client_ip_header: Option<String>,
}
