//! `[webhooks]` (where events are delivered, signed per Standard Webhooks) and
//! `[events]` (whether they are recorded at all, and for how long).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The prefix of a Standard Webhooks secret (`whsec_` + base64 of the key).
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";
/// Production's shortest key: 24 random bytes (192 bits).
pub const MIN_WEBHOOK_KEY_BYTES: usize = 24;

/// The merchant's webhook endpoint. Unset `url`: events are recorded (for the events
/// API) and delivered to no one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub url: Option<String>,
    /// `whsec_<base64>`: signs every delivery (`webhook-signature: v1,...`).
    pub secret: Option<SecretString>,
    /// During a rotation, the secret being replaced: deliveries carry a signature by
    /// each, so the receiver may switch whenever it likes.
    pub secret_previous: Option<SecretString>,
    /// One delivery attempt's whole time, connect to the last byte read.
    pub timeout_secs: u64,
    /// The pause before each retry after a failed attempt (ms); when it runs out the
    /// event is `failed`. Production: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    pub retry_schedule_ms: Vec<u64>,
    /// How often each instance looks for due events (it also wakes when it writes one).
    pub poll_interval_ms: u64,
    /// Events one instance delivers at a time.
    pub batch: u32,
}

impl WebhookSettings {
    /// Whether events are owed to an endpoint.
    pub fn enabled(&self) -> bool {
        self.url.is_some()
    }
}

/// Recording events (the outbox).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// Every money movement writes its event with it. Off: no webhooks, no events API.
    pub record: bool,
    /// Delivered (or undeliverable) events older than this are deleted; owed ones stay.
    pub retention_days: u64,
}

/// The key a `whsec_` secret holds, or why it is not one.
pub fn webhook_key(secret: &SecretString) -> Result<Vec<u8>, String> {
    let text = secret.expose_secret();
    let encoded = text
        .strip_prefix(WEBHOOK_SECRET_PREFIX)
        .ok_or_else(|| format!("must start with {WEBHOOK_SECRET_PREFIX} (Standard Webhooks)"))?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| format!("must be {WEBHOOK_SECRET_PREFIX} followed by base64"))?;
    if key.is_empty() {
        return Err("holds no key".into());
    }
    Ok(key)
}
