//! Loading the settings: every default, then the file, then the environment.

use std::path::Path;

use config::{Config, Environment, File, FileFormat};

use super::error::ConfigError;
use super::sections::Settings;

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

[webhooks]
timeout_secs = 10
retry_schedule_ms = [5000, 300000, 1800000, 7200000, 18000000, 36000000, 36000000]
poll_interval_ms = 1000
batch = 16

[events]
record = true
retention_days = 30

[shipping]
enabled = false
auto_virtual = false
push_max_age_secs = 600

[limits]
login_per_ip_per_minute = 60
orders_per_user_per_minute = 30
orders_per_ip_per_minute = 120
phone_per_user_per_minute = 10
phone_per_ip_per_minute = 60
"#;

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
}
