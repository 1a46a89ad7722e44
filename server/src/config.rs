//! Settings: defaults, then a TOML file, then environment variables
//! (`WXPAY_<SECTION>__<KEY>`, e.g. `WXPAY_WECHAT__API_KEY`). Secrets are `SecretString`
//! and never printed; there are no default secrets.

use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wxpay_client::v3::V3Credentials;
use wxpay_core::ApiKey;
use wxpay_core::v2::SignType;

pub use crate::config_tls::{RefundTls, RefundTlsSettings};
pub use crate::config_v3::V3Settings;
pub use crate::gateway::ApiVersion;

/// Every default, as a TOML document (the same keys as `wxpay.example.toml`).
const DEFAULTS: &str = r#"
[server]
bind = "127.0.0.1:8080"
workers = 0
max_body_bytes = 16384
notify_max_body_bytes = 65536

[database]
url = "sqlite://wxpay.sqlite"
max_connections = 12
sqlite_synchronous = "FULL"

[wechat]
api_version = "v2"
sign_type = "HMAC-SHA256"
mp_base_url = "https://api.weixin.qq.com"
pay_base_url = "https://api.mch.weixin.qq.com"
spbill_create_ip = "127.0.0.1"
connect_timeout_ms = 3000
request_timeout_ms = 10000
retry_attempts = 3

[wechat.v3]
key_mode = "public_key"
platform_certificate_files = []
certificate_refresh_min_secs = 10

[orders]
description = "wxpay shop"
ttl_secs = 1800
query_stale_after_secs = 10
reconcile_interval_ms = 30000
reconcile_after_secs = 60
reconcile_batch = 100
reconcile_max_failures = 30
reconcile_max_backoff_secs = 3600
idempotency_key_ttl_secs = 86400
late_payment = "keep"

[auth]
token_ttl_secs = 604800
single_session = false

[admin]

[reconciliation]
daily = true
hour = 10
unfinished_days = false

[limits]
login_per_ip_per_minute = 60
orders_per_user_per_minute = 30
orders_per_ip_per_minute = 120
phone_per_user_per_minute = 10
phone_per_ip_per_minute = 60
"#;

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
}

/// Reconciling WeChat's daily bills against the orders (`reconciliation.rs`).
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

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("missing {key}: set it in the config file or in the environment as {env}")]
    Missing {
        key: &'static str,
        env: &'static str,
    },
    #[error("invalid {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("refusing to start in production: {key} {reason}")]
    Unsafe { key: &'static str, reason: String },
}

/// The scheme of a URL setting as a client would use it, `None` when it is not a URL or
/// has whitespace around it (which the parser would silently drop).
fn url_scheme(text: &str) -> Option<String> {
    if text.trim() != text {
        return None;
    }
    url::Url::parse(text).ok().map(|u| u.scheme().to_owned())
}

/// The longest `body` WeChat takes (String(128), counted in bytes).
pub const MAX_BODY_BYTES: usize = 128;
/// What the server appends to `orders.description`: `-` and a 26-digit order number.
const ORDER_NO_SUFFIX_BYTES: usize = 27;
/// WeChat's minimum for `time_expire` (older documents: more than 5 minutes from now).
const MIN_ORDER_TTL_SECS: u64 = 5 * 60;
/// An admin token can refund every order: long enough not to be guessed.
const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// The WeChat credentials, checked.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub appid: String,
    pub app_secret: SecretString,
    pub mch_id: String,
    pub api_version: ApiVersion,
    /// API v2: the API key and the sign type of new v2 orders.
    pub v2: Option<(ApiKey, SignType)>,
    pub v3: Option<V3Credentials>,
    /// The merchant certificate v2 refunds present, when configured.
    pub refund_tls: Option<RefundTls>,
}

impl Settings {
    /// Defaults, then `file` (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        let settings = builder
            .add_source(
                Environment::with_prefix("WXPAY")
                    .prefix_separator("_")
                    .separator("__"),
            )
            .build()?
            .try_deserialize()?;
        Ok(settings)
    }

    /// The credentials production needs; a missing one stops start-up, named.
    pub fn credentials(&self) -> Result<Credentials, ConfigError> {
        let w = &self.wechat;
        let appid = w
            .appid
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing {
                key: "wechat.appid",
                env: "WXPAY_WECHAT__APPID",
            })?;
        let mch_id = w
            .mch_id
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or(ConfigError::Missing {
                key: "wechat.mch_id",
                env: "WXPAY_WECHAT__MCH_ID",
            })?;
        let app_secret = w
            .app_secret
            .clone()
            .filter(|s| !s.expose_secret().is_empty())
            .ok_or(ConfigError::Missing {
                key: "wechat.app_secret",
                env: "WXPAY_WECHAT__APP_SECRET",
            })?;
        let api_version = match w.api_version.as_str() {
            "v2" => ApiVersion::V2,
            "v3" => ApiVersion::V3,
            other => {
                return Err(ConfigError::Invalid {
                    key: "wechat.api_version",
                    reason: format!("{other:?} is not v2 or v3"),
                });
            }
        };
        let api_key = w.api_key.as_ref().filter(|s| !s.expose_secret().is_empty());
        let v2 = match (api_key, api_version) {
            (None, ApiVersion::V2) => {
                return Err(ConfigError::Missing {
                    key: "wechat.api_key",
                    env: "WXPAY_WECHAT__API_KEY",
                });
            }
            (None, ApiVersion::V3) => None,
            (Some(key), _) => {
                let key = ApiKey::new(key.expose_secret()).map_err(|e| ConfigError::Invalid {
                    key: "wechat.api_key",
                    reason: e.to_string(),
                })?;
                let sign_type = w.sign_type.parse().map_err(|_| ConfigError::Invalid {
                    key: "wechat.sign_type",
                    reason: "must be MD5 or HMAC-SHA256".into(),
                })?;
                Some((key, sign_type))
            }
        };
        let v3 = match api_version {
            ApiVersion::V3 => {
                Some(w.v3.credentials(&appid, &mch_id, api_key.map(ExposeSecret::expose_secret))?)
            }
            ApiVersion::V2 => None,
        };
        let refund_tls = w.refund_tls.load(&mch_id, &w.v3)?;
        Ok(Credentials {
            appid,
            app_secret,
            mch_id,
            api_version,
            v2,
            v3,
            refund_tls,
        })
    }

    pub fn public_base_url(&self) -> Result<String, ConfigError> {
        let url = self
            .server
            .public_base_url
            .clone()
            .ok_or(ConfigError::Missing {
                key: "server.public_base_url",
                env: "WXPAY_SERVER__PUBLIC_BASE_URL",
            })?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                key: "server.public_base_url",
                reason: "must be an absolute http(s) URL".into(),
            });
        }
        if url.contains(['?', '#']) {
            return Err(ConfigError::Invalid {
                key: "server.public_base_url",
                reason: "must have no query or fragment: WeChat's notify_url takes none".into(),
            });
        }
        Ok(url.trim_end_matches('/').to_owned())
    }

    /// Every URL setting, by key.
    fn url_settings(&self) -> [(&'static str, Option<&str>); 4] {
        let w = &self.wechat;
        [
            (
                "server.public_base_url",
                self.server.public_base_url.as_deref(),
            ),
            ("wechat.pay_base_url", Some(w.pay_base_url.as_str())),
            ("wechat.mp_base_url", Some(w.mp_base_url.as_str())),
            (
                "wechat.refund_tls.base_url",
                w.refund_tls.base_url.as_deref(),
            ),
        ]
    }

    /// Checks that hold in every mode (sandbox and tests included).
    pub fn validate(&self) -> Result<(), ConfigError> {
        // Parsed before anything looks at them: the URL parser (and so reqwest) drops
        // surrounding whitespace, so " http://..." is plain http to the client however it
        // reads as a string (the security review started production with one).
        for (key, url) in self.url_settings() {
            if let Some(url) = url
                && !matches!(url_scheme(url).as_deref(), Some("http" | "https"))
            {
                return Err(ConfigError::Invalid {
                    key,
                    reason: "must be an absolute http(s) URL without surrounding spaces".into(),
                });
            }
        }
        let description = &self.orders.description;
        if description.len() + ORDER_NO_SUFFIX_BYTES > MAX_BODY_BYTES {
            return Err(ConfigError::Invalid {
                key: "orders.description",
                reason: format!(
                    "is {} bytes; with the order number it must fit WeChat's {MAX_BODY_BYTES}-byte \
                     body, so at most {} bytes (a Chinese character is 3)",
                    description.len(),
                    MAX_BODY_BYTES - ORDER_NO_SUFFIX_BYTES
                ),
            });
        }
        if !matches!(self.orders.late_payment.as_str(), "keep" | "refund") {
            return Err(ConfigError::Invalid {
                key: "orders.late_payment",
                reason: "must be keep or refund".into(),
            });
        }
        if self.reconciliation.hour > 23 {
            return Err(ConfigError::Invalid {
                key: "reconciliation.hour",
                reason: "must be an hour of the day, 0-23 (Beijing time)".into(),
            });
        }
        if description.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "orders.description",
                reason: "must not be empty (WeChat shows it to the payer)".into(),
            });
        }
        // WeChat's daily bill writes the body unescaped, one trade a line: a line break in
        // it would make that day's bill unreadable (BillError::LineBreak).
        if description.chars().any(char::is_control) {
            return Err(ConfigError::Invalid {
                key: "orders.description",
                reason: "must not hold line breaks or other control characters (the daily bill \
                         has one trade a line)"
                    .into(),
            });
        }
        Ok(())
    }

    /// What production (`serve` without `--sandbox`) refuses: WeChat's public
    /// documentation credentials, plain-HTTP URLs (unless `insecure_http`, for a local
    /// proxy), and orders that expire sooner than WeChat allows. The error names the key.
    pub fn check_production(&self, insecure_http: bool) -> Result<(), ConfigError> {
        use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
        let unsafe_key = |key, reason: &str| ConfigError::Unsafe {
            key,
            reason: reason.to_owned(),
        };
        let doc = "is WeChat's public documentation value (sandbox only): set your own";
        let w = &self.wechat;
        if w.appid.as_deref() == Some(DOC_APPID) {
            return Err(unsafe_key("wechat.appid", doc));
        }
        if w.mch_id.as_deref() == Some(DOC_MCH_ID) {
            return Err(unsafe_key("wechat.mch_id", doc));
        }
        if w.api_key.as_ref().map(ExposeSecret::expose_secret) == Some(DOC_API_KEY) {
            return Err(unsafe_key("wechat.api_key", doc));
        }
        if w.app_secret.as_ref().map(ExposeSecret::expose_secret) == Some(DOC_APP_SECRET) {
            return Err(unsafe_key("wechat.app_secret", doc));
        }
        if !insecure_http {
            let http = "is plain http://: WeChat and your users' payments need https:// \
                        (--insecure-http allows it behind a local TLS proxy)";
            for (key, url) in self.url_settings() {
                // Anything but a parsed https URL (validate() names a malformed one).
                if url.is_some_and(|u| url_scheme(u).as_deref() != Some("https")) {
                    return Err(unsafe_key(key, http));
                }
            }
        }
        if let Some(token) = &self.admin.token {
            let token = token.expose_secret();
            if token == crate::sandbox::SANDBOX_ADMIN_TOKEN {
                return Err(unsafe_key("admin.token", doc));
            }
            if token.chars().count() < MIN_ADMIN_TOKEN_CHARS {
                return Err(unsafe_key(
                    "admin.token",
                    &format!(
                        "is shorter than {MIN_ADMIN_TOKEN_CHARS} characters: it can refund \
                         every order (e.g. `openssl rand -hex 32`)"
                    ),
                ));
            }
        }
        if self.orders.ttl_secs < MIN_ORDER_TTL_SECS {
            return Err(unsafe_key(
                "orders.ttl_secs",
                &format!(
                    "is {} s: WeChat's time_expire must be at least {MIN_ORDER_TTL_SECS} s away",
                    self.orders.ttl_secs
                ),
            ));
        }
        Ok(())
    }

    /// Where WeChat sends v2 notifies.
    pub fn notify_url(&self) -> Result<String, ConfigError> {
        Ok(format!(
            "{}{}",
            self.public_base_url()?,
            crate::routes::NOTIFY_PATH
        ))
    }

    /// Where WeChat sends v3 notifies.
    pub fn notify_url_v3(&self) -> Result<String, ConfigError> {
        Ok(format!(
            "{}{}",
            self.public_base_url()?,
            crate::routes::NOTIFY_PATH_V3
        ))
    }
}

impl OrderSettings {
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs)
    }

    fn reconcile_after_ms(&self) -> i64 {
        i64::try_from(self.reconcile_after_secs.saturating_mul(1000)).unwrap_or(i64::MAX)
    }

    /// When a refund not yet final is looked at again (at least 100 ms on: the
    /// reconciler never spins on one refund).
    pub fn next_refund_check_at(&self, now: i64) -> i64 {
        now.saturating_add(self.reconcile_after_ms().max(100))
    }

    /// The pause after the failed check a row had `failures_before` of before: the count
    /// now, and when to retry (None: given up, see `retry_at`).
    pub fn after_failure(&self, now: i64, failures_before: i64) -> (u32, Option<i64>) {
        let failures = u32::try_from(failures_before)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        (failures, self.retry_at(now, failures))
    }

    /// When the reconciler first looks at a new order: after `reconcile_after_secs`, and
    /// no later than its expiry.
    pub fn first_check_at(&self, now: i64, expires_at: i64) -> i64 {
        self.next_check_at(now, expires_at)
    }

    /// After a check WeChat answered: the next one `reconcile_after_secs` later, or at
    /// the order's expiry if that is sooner (then it is closed).
    pub fn next_check_at(&self, now: i64, expires_at: i64) -> i64 {
        now.saturating_add(self.reconcile_after_ms())
            .min(expires_at.max(now))
    }

    /// After the `failures`-th failed check in a row: when to retry, doubling from
    /// `reconcile_after_secs` (at least 100 ms) up to `reconcile_max_backoff_secs`; None
    /// once `reconcile_max_failures` is reached (the reconciler gives up).
    pub fn retry_at(&self, now: i64, failures: u32) -> Option<i64> {
        if failures >= self.reconcile_max_failures {
            return None;
        }
        let cap =
            i64::try_from(self.reconcile_max_backoff_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let doubling = 2i64.saturating_pow(failures.saturating_sub(1));
        let pause = self.reconcile_after_ms().max(100).saturating_mul(doubling);
        Some(now.saturating_add(pause.min(cap.max(100))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_secrets_are_required() {
        let settings = Settings::load(None).unwrap();
        assert_eq!(settings.server.bind, "127.0.0.1:8080");
        let err = settings.credentials().unwrap_err().to_string();
        assert!(
            err.contains("wechat.appid") && err.contains("WXPAY_WECHAT__APPID"),
            "{err}"
        );
    }

    #[test]
    fn a_file_sets_the_credentials_and_a_bad_key_is_named() {
        let dir = std::env::temp_dir().join(format!("wxpay-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wxpay.toml");
        std::fs::write(
            &path,
            r#"
            [server]
            public_base_url = "https://pay.example.com/"
            [wechat]
            appid = "wx1111111111111111"
            mch_id = "1900000109"
            app_secret = "abcdefabcdefabcdefabcdefabcdefab"
            api_key = "too-short"
            "#,
        )
        .unwrap();
        let settings = Settings::load(Some(&path)).unwrap();
        assert_eq!(
            settings.notify_url().unwrap(),
            "https://pay.example.com/wechat/pay/notify"
        );
        let err = settings.credentials().unwrap_err().to_string();
        assert!(err.contains("wechat.api_key"), "{err}");
        let mut with_query = settings.clone();
        with_query.server.public_base_url = Some("https://pay.example.com/?shop=1".into());
        let err = with_query.notify_url().unwrap_err().to_string();
        assert!(
            err.contains("server.public_base_url") && err.contains("query"),
            "{err}"
        );
        assert!(!err.contains("too-short"));
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("abcdefabcdefabcdefabcdefabcdefab"),
            "secrets never print"
        );
    }

    #[test]
    fn the_example_file_documents_valid_settings() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("wxpay.example.toml");
        let mut settings = Settings::load(Some(&path)).unwrap();
        settings.wechat.app_secret = Some(SecretString::from("abcdefabcdefabcdefabcdefabcdefab"));
        settings.wechat.api_key = Some(SecretString::from("192006250b4c09247ec02edce69f6a2d"));
        let credentials = settings.credentials().unwrap();
        assert_eq!(credentials.v2.unwrap().1, SignType::HmacSha256);
        assert_eq!(credentials.api_version, ApiVersion::V2);
        assert_eq!(settings.orders.ttl_secs, 1800);
        assert!(
            settings
                .notify_url()
                .unwrap()
                .ends_with("/wechat/pay/notify")
        );
    }

    fn production() -> Settings {
        let mut s = Settings::load(None).unwrap();
        s.admin.token = Some(SecretString::from("3f1c0c6a9e5b4d7f8a2e6c1b9d0f4a7e"));
        s.server.public_base_url = Some("https://pay.example.com".into());
        s.wechat.appid = Some("wx1111111111111111".into());
        s.wechat.mch_id = Some("1900000109".into());
        s.wechat.app_secret = Some(SecretString::from("abcdefabcdefabcdefabcdefabcdefab"));
        s.wechat.api_key = Some(SecretString::from("qazwsxedcrfvtgbyhnujmikolp111111"));
        s
    }

    #[test]
    fn production_refuses_unsafe_settings_and_names_the_key() {
        use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
        assert!(production().check_production(false).is_ok());
        type Spoil = fn(&mut Settings);
        let cases: [(&str, Spoil); 15] = [
            ("admin.token", |s| {
                s.admin.token = Some(SecretString::from("short-admin-token"))
            }),
            ("admin.token", |s| {
                s.admin.token = Some(SecretString::from(crate::sandbox::SANDBOX_ADMIN_TOKEN))
            }),
            ("wechat.refund_tls.base_url", |s| {
                s.wechat.refund_tls.base_url = Some("http://api.mch.weixin.qq.com".into())
            }),
            ("wechat.appid", |s| s.wechat.appid = Some(DOC_APPID.into())),
            ("wechat.mch_id", |s| {
                s.wechat.mch_id = Some(DOC_MCH_ID.into())
            }),
            ("wechat.api_key", |s| {
                s.wechat.api_key = Some(SecretString::from(DOC_API_KEY))
            }),
            ("wechat.app_secret", |s| {
                s.wechat.app_secret = Some(SecretString::from(DOC_APP_SECRET))
            }),
            ("server.public_base_url", |s| {
                s.server.public_base_url = Some("http://pay.example.com".into())
            }),
            ("wechat.pay_base_url", |s| {
                s.wechat.pay_base_url = "HTTP://api.mch.weixin.qq.com".into()
            }),
            ("wechat.mp_base_url", |s| {
                s.wechat.mp_base_url = "http://api.weixin.qq.com".into()
            }),
            // Issue #23, finding 4: the parser drops the space, the old prefix check did not.
            ("wechat.pay_base_url", |s| {
                s.wechat.pay_base_url = " http://api.mch.weixin.qq.com".into()
            }),
            ("wechat.mp_base_url", |s| {
                s.wechat.mp_base_url = "\thttp://api.weixin.qq.com".into()
            }),
            ("wechat.refund_tls.base_url", |s| {
                s.wechat.refund_tls.base_url = Some(" http://api.mch.weixin.qq.com".into())
            }),
            ("server.public_base_url", |s| {
                s.server.public_base_url = Some(" http://pay.example.com".into())
            }),
            ("orders.ttl_secs", |s| s.orders.ttl_secs = 299),
        ];
        for (key, spoil) in cases {
            let mut settings = production();
            spoil(&mut settings);
            let err = settings.check_production(false).unwrap_err().to_string();
            assert!(err.contains(key), "{key}: {err}");
            assert!(!err.contains(DOC_API_KEY) && !err.contains(DOC_APP_SECRET));
        }
        // In every mode, a URL setting with whitespace around it is no URL at all.
        let mut spaced = production();
        spaced.wechat.pay_base_url = " https://api.mch.weixin.qq.com".into();
        let err = spaced.validate().unwrap_err().to_string();
        assert!(err.contains("wechat.pay_base_url"), "{err}");
        // A local TLS proxy: plain http allowed on purpose, nothing else.
        let mut proxied = production();
        proxied.server.public_base_url = Some("http://127.0.0.1:8443".into());
        assert!(proxied.check_production(true).is_ok());
        proxied.orders.ttl_secs = 60;
        assert!(proxied.check_production(true).is_err());
    }

    #[test]
    fn the_description_must_fit_wechats_body_in_bytes() {
        let mut settings = Settings::load(None).unwrap();
        assert!(settings.validate().is_ok());
        settings.orders.description = "a".repeat(101);
        assert!(settings.validate().is_ok(), "101 + 27 = 128 bytes");
        settings.orders.description = "a".repeat(102);
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("orders.description"), "{err}");
        // 34 Chinese characters are 102 bytes, not 34.
        settings.orders.description = "咖".repeat(34);
        assert!(settings.validate().is_err());
        settings.orders.description = "咖".repeat(33);
        assert!(settings.validate().is_ok());
        // Commas are fine (the bill parser splits on ",`"), line breaks are not.
        settings.orders.description = "Cafe, Shanghai".into();
        assert!(settings.validate().is_ok());
        settings.orders.description = "Cafe\nShanghai".into();
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("line breaks"), "{err}");
        settings.orders.description = "咖".repeat(33);
        assert!(settings.validate().is_ok());
    }

    #[test]
    fn failed_checks_pause_longer_each_time_then_stop() {
        let mut orders = Settings::load(None).unwrap().orders;
        orders.reconcile_after_secs = 60;
        orders.reconcile_max_backoff_secs = 3600;
        orders.reconcile_max_failures = 30;
        let pause = |failures| orders.retry_at(0, failures).map(|at| at / 1000);
        assert_eq!(pause(1), Some(60));
        assert_eq!(pause(2), Some(120));
        assert_eq!(pause(6), Some(1920));
        assert_eq!(pause(7), Some(3600), "capped");
        assert_eq!(pause(29), Some(3600));
        assert_eq!(pause(30), None, "given up");
        // The next check after an answer: at the expiry when that comes first.
        assert_eq!(orders.next_check_at(1_000, 30_000), 30_000);
        assert_eq!(orders.next_check_at(1_000, 10_000_000), 61_000);
        assert_eq!(orders.next_check_at(50_000, 10_000), 50_000);
    }

    #[test]
    fn unknown_keys_in_a_section_are_refused() {
        let dir = std::env::temp_dir().join(format!("wxpay-config-typo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wxpay.toml");
        std::fs::write(&path, "[wechat]\napi_kee = \"x\"\n").unwrap();
        let err = Settings::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("api_kee"), "{err}");
    }
}
