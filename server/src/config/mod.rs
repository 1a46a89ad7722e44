//! Settings: defaults, then a TOML file, then environment variables
//! (`WXPAY_<SECTION>__<KEY>`, e.g. `WXPAY_WECHAT__API_KEY`). Secrets are `SecretString`
//! and never printed; there are no default secrets.
//!
//! The bottom layer: it owns the settings, their checks and the values other layers
//! share (the notify paths, the sandbox's token), and uses nothing else of the server.

mod checks;
mod credentials;
mod error;
mod load;
mod merchants;
mod public_urls;
mod schedule;
mod sections;
mod shipping;
#[cfg(test)]
mod tests;
pub mod tls;
pub mod v3;
mod webhooks;

pub use checks::{MAX_BODY_BYTES, SANDBOX_ADMIN_TOKEN, SANDBOX_PUSH_AES_KEY, SANDBOX_PUSH_TOKEN};
pub use credentials::{ApiVersion, Credentials};
pub use error::ConfigError;
pub use merchants::{DEFAULT_MERCHANT, MerchantSettings};
pub use public_urls::{NOTIFY_PATH, NOTIFY_PATH_V3, REFUND_NOTIFY_PATH, REFUND_NOTIFY_PATH_V3};
pub use sections::{
    AdminSettings, AuthSettings, DatabaseSettings, LimitSettings, OrderSettings,
    ReconciliationSettings, ServerSettings, Settings, WeChatSettings,
};
pub use shipping::ShippingSettings;
pub use tls::{RefundTls, RefundTlsSettings};
pub use v3::V3Settings;
pub use webhooks::{
    EventSettings, MIN_WEBHOOK_KEY_BYTES, WEBHOOK_SECRET_PREFIX, WebhookSettings, webhook_key,
};
