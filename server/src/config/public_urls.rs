//! Where WeChat reaches this server: the public base URL, and the paths it is told to
//! POST notifies to (the HTTP routes serve these same constants).

use super::error::ConfigError;
use super::sections::Settings;

/// Where WeChat POSTs v2 pay notifies (`notify_url` = public base URL + this).
pub const NOTIFY_PATH: &str = "/wechat/pay/notify";
/// Where WeChat POSTs v3 notifies (JSON).
pub const NOTIFY_PATH_V3: &str = "/wechat/pay/notify/v3";
/// Where WeChat POSTs refund notifies (v2: `req_info`; v3: `REFUND.*`).
pub const REFUND_NOTIFY_PATH: &str = "/wechat/refund/notify";
pub const REFUND_NOTIFY_PATH_V3: &str = "/wechat/refund/notify/v3";

impl Settings {
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

    /// Where WeChat sends v2 notifies.
    pub fn notify_url(&self) -> Result<String, ConfigError> {
        Ok(format!("{}{}", self.public_base_url()?, NOTIFY_PATH))
    }

    /// Where WeChat sends v3 notifies.
    pub fn notify_url_v3(&self) -> Result<String, ConfigError> {
        Ok(format!("{}{}", self.public_base_url()?, NOTIFY_PATH_V3))
    }
}
