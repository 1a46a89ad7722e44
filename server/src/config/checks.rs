//! The checks a configuration passes before anything starts: in every mode (`validate`),
//! and in production (`check_production`: no documentation credentials, no plain http,
//! no guessable admin token, orders WeChat accepts).

use secrecy::ExposeSecret;

use super::error::ConfigError;
use super::sections::Settings;
use super::webhooks::{MIN_WEBHOOK_KEY_BYTES, webhook_key};
use secrecy::SecretString;

/// The sandbox's admin token when the configuration sets none: documented, not a secret
/// (the sandbox moves no money), so refunds work out of the box; production refuses it.
pub const SANDBOX_ADMIN_TOKEN: &str = "sandbox-admin";
/// The sandbox's message push Token and EncodingAESKey when none are configured:
/// documented, not secrets; production refuses the Token.
pub const SANDBOX_PUSH_TOKEN: &str = "wxpaySandboxPushToken";
pub const SANDBOX_PUSH_AES_KEY: &str = "wxpaySandboxEncodingAESKey0123456789abcdefg";

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

impl Settings {
    /// The webhook secrets that are set, by key.
    fn webhook_secrets(&self) -> impl Iterator<Item = (&'static str, &SecretString)> {
        [
            ("webhooks.secret", self.webhooks.secret.as_ref()),
            (
                "webhooks.secret_previous",
                self.webhooks.secret_previous.as_ref(),
            ),
        ]
        .into_iter()
        .filter_map(|(key, secret)| secret.map(|s| (key, s)))
    }

    /// A webhook endpoint needs a secret, recorded events and a retry schedule; every
    /// secret must be a Standard Webhooks one.
    fn validate_webhooks(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_owned(),
        };
        for (key, secret) in self.webhook_secrets() {
            webhook_key(secret).map_err(|reason| invalid(key, &reason))?;
        }
        let hooks = &self.webhooks;
        if hooks.url.is_none() {
            return Ok(());
        }
        if hooks.secret.is_none() {
            return Err(invalid(
                "webhooks.secret",
                "is required with webhooks.url: receivers verify every delivery with it",
            ));
        }
        if !self.events.record {
            return Err(invalid(
                "events.record",
                "is false, so there would be nothing to deliver to webhooks.url",
            ));
        }
        if hooks.timeout_secs == 0 || hooks.batch == 0 || hooks.poll_interval_ms == 0 {
            return Err(invalid(
                "webhooks",
                "timeout_secs, batch and poll_interval_ms must be above 0",
            ));
        }
        Ok(())
    }

    /// Every URL setting, by key.
    fn url_settings(&self) -> [(&'static str, Option<&str>); 5] {
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
            ("webhooks.url", self.webhooks.url.as_deref()),
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
        self.validate_webhooks()?;
        self.shipping.validate()?;
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
        if self
            .shipping
            .push_token
            .as_ref()
            .is_some_and(|t| t.expose_secret() == SANDBOX_PUSH_TOKEN)
        {
            return Err(unsafe_key("shipping.push_token", doc));
        }
        if let Some(token) = &self.admin.token {
            let token = token.expose_secret();
            if token == SANDBOX_ADMIN_TOKEN {
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
        for (key, secret) in self.webhook_secrets() {
            if webhook_key(secret).map_or(0, |k| k.len()) < MIN_WEBHOOK_KEY_BYTES {
                return Err(unsafe_key(
                    key,
                    &format!(
                        "holds fewer than {MIN_WEBHOOK_KEY_BYTES} random bytes: it proves your \
                         webhooks are ours (e.g. `echo whsec_$(openssl rand -base64 32)`)"
                    ),
                ));
            }
        }
        self.check_merchants_for_production()?;
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

    /// `[[merchants]]` entries in production: no documentation credentials, no sandbox
    /// admin token (`serve --sandbox --merchants` makes them from it).
    fn check_merchants_for_production(&self) -> Result<(), ConfigError> {
        use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
        for m in &self.merchants {
            let secret = |s: &Option<secrecy::SecretString>| {
                s.as_ref().map(|s| s.expose_secret().to_owned())
            };
            let reason = if m.appid == DOC_APPID || m.mch_id == DOC_MCH_ID {
                Some("appid or mch_id is WeChat's public documentation value (sandbox only)")
            } else if secret(&m.api_key).as_deref() == Some(DOC_API_KEY)
                || m.app_secret.expose_secret() == DOC_APP_SECRET
            {
                Some("api_key or app_secret is WeChat's public documentation value (sandbox only)")
            } else if secret(&m.admin_token).is_some_and(|t| t.starts_with(SANDBOX_ADMIN_TOKEN)) {
                Some("admin_token is a sandbox token: set your own (e.g. `openssl rand -hex 32`)")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(ConfigError::Merchant {
                    id: m.id.clone(),
                    reason: format!("refusing to start in production: {reason}"),
                });
            }
        }
        Ok(())
    }
}
