//! `[shipping]`: WeChat's order-shipping service (小程序发货信息管理服务) and the Mini
//! Program's message push, which carries its events.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::ConfigError;

/// The shipping service's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingSettings {
    /// The Mini Program is enrolled in the service ("trade managed"): its payments settle
    /// only once their shipping is uploaded and receipt confirmed, so every paid order
    /// is `pending` until uploaded. `wxpay doctor --online` asks WeChat whether it is.
    pub enabled: bool,
    /// Every paid order is uploaded as virtual goods (logistics type 3) by the
    /// reconciler: for a shop that sells only top-ups, memberships or codes. An order
    /// WeChat refuses keeps its refusal (`shipping_error` in the admin list) for staff.
    pub auto_virtual: bool,
    /// The message push Token (3 to 32 letters and digits, as the Mini Program's admin
    /// console takes). Unset: `/wechat/mp/events` answers 503.
    pub push_token: Option<SecretString>,
    /// The message push EncodingAESKey (43 characters), for the compatible and secure
    /// modes. Unset: only plain-mode pushes are accepted.
    pub push_aes_key: Option<SecretString>,
    /// A push whose timestamp is further than this from now is refused (a replay).
    /// WeChat resends an unanswered push within seconds, with its first timestamp.
    pub push_max_age_secs: u64,
}

impl ShippingSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| ConfigError::Invalid {
            key,
            reason: reason.to_owned(),
        };
        if self.auto_virtual && !self.enabled {
            return Err(invalid(
                "shipping.auto_virtual",
                "needs shipping.enabled: WeChat takes shipping only for a trade-managed Mini Program",
            ));
        }
        if let Some(token) = &self.push_token {
            let token = token.expose_secret();
            if !(3..=32).contains(&token.len()) || !token.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(invalid(
                    "shipping.push_token",
                    "must be the message push Token: 3 to 32 letters and digits",
                ));
            }
        }
        if let Some(key) = &self.push_aes_key {
            wxpay_core::push::PushKey::from_encoding_aes_key(key.expose_secret())
                .map_err(|e| invalid("shipping.push_aes_key", &e.to_string()))?;
            if self.push_token.is_none() {
                return Err(invalid(
                    "shipping.push_aes_key",
                    "is set without shipping.push_token: a push is checked with both",
                ));
            }
        }
        Ok(())
    }
}
