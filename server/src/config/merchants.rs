//! `[[merchants]]`: more merchants beside `[wechat]`'s (id `default`), each with its
//! mini program and its WeChat Pay credentials, in the settings file:
//!
//! ```toml
//! [[merchants]]
//! id = "tea"                 # letters, digits, - and _; in notify paths and the API
//! appid = "wx..."
//! app_secret = "..."
//! mch_id = "..."
//! api_version = "v2"         # or "v3", with [merchants.v3] as [wechat.v3]
//! api_key = "..."
//! admin_token = "..."       # the admin API for this merchant only
//! push_token = "..."        # its mini program's message push, as [shipping]'s
//! push_aes_key = "..."
//! ```
//!
//! The client settings (base URLs, timeouts, retries) are `[wechat]`'s for all.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::credentials::Credentials;
use super::error::ConfigError;
use super::sections::{Settings, WeChatSettings};
use super::tls::RefundTlsSettings;
use super::v3::V3Settings;

/// The id of the merchant `[wechat]` configures.
pub const DEFAULT_MERCHANT: &str = "default";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    pub id: String,
    pub appid: String,
    pub app_secret: SecretString,
    pub mch_id: String,
    #[serde(default = "v2")]
    pub api_version: String,
    pub api_key: Option<SecretString>,
    #[serde(default = "hmac_sha256")]
    pub sign_type: String,
    pub v3: Option<V3Settings>,
    #[serde(default)]
    pub refund_tls: RefundTlsSettings,
    /// An admin token that sees only this merchant (`admin.token` sees all).
    pub admin_token: Option<SecretString>,
    /// Its mini program's message push Token and EncodingAESKey (as `[shipping]`'s for
    /// `[wechat]`'s app; the same push URL serves every app).
    pub push_token: Option<SecretString>,
    pub push_aes_key: Option<SecretString>,
}

fn v2() -> String {
    "v2".into()
}

fn hmac_sha256() -> String {
    "HMAC-SHA256".into()
}

impl MerchantSettings {
    /// `[wechat]` with this merchant's credentials in place of its own.
    fn as_wechat(&self, wechat: &WeChatSettings) -> WeChatSettings {
        WeChatSettings {
            appid: Some(self.appid.clone()),
            app_secret: Some(self.app_secret.clone()),
            mch_id: Some(self.mch_id.clone()),
            api_version: self.api_version.clone(),
            api_key: self.api_key.clone(),
            sign_type: self.sign_type.clone(),
            v3: self.v3.clone().unwrap_or_else(V3Settings::none),
            refund_tls: self.refund_tls.clone(),
            ..wechat.clone()
        }
    }
}

/// A merchant's id: what notify paths and the API name it by.
fn check_id(id: &str) -> Result<(), String> {
    let shaped = (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !shaped {
        return Err(format!(
            "{id:?} must be 1 to 32 letters, digits, '-' or '_'"
        ));
    }
    if id == DEFAULT_MERCHANT {
        return Err(format!("{id:?} is [wechat]'s own merchant"));
    }
    Ok(())
}

impl Settings {
    /// Every merchant's id and checked credentials: `[wechat]`'s (`default`) first.
    pub fn all_credentials(&self) -> Result<Vec<(String, Credentials)>, ConfigError> {
        let mut all = vec![(DEFAULT_MERCHANT.to_owned(), self.credentials()?)];
        for merchant in &self.merchants {
            let invalid = |reason: String| ConfigError::Merchant {
                id: merchant.id.clone(),
                reason,
            };
            check_id(&merchant.id).map_err(|r| invalid(format!("id {r}")))?;
            let credentials = merchant
                .as_wechat(&self.wechat)
                .credentials()
                .map_err(|e| invalid(e.to_string().replace("wechat.", "")))?;
            let taken = all.iter().find(|(id, c)| {
                *id == merchant.id || c.appid == credentials.appid || c.mch_id == credentials.mch_id
            });
            if let Some((other, _)) = taken {
                return Err(invalid(format!(
                    "shares its id, appid or mch_id with merchant {other}"
                )));
            }
            if let Some(token) = &merchant.admin_token {
                let token = token.expose_secret();
                let platform = self.admin.token.as_ref().map(ExposeSecret::expose_secret);
                let reused = platform == Some(token)
                    || self.merchants.iter().any(|other| {
                        other.id != merchant.id
                            && other.admin_token.as_ref().map(ExposeSecret::expose_secret)
                                == Some(token)
                    });
                if token.len() < 32 || reused {
                    return Err(invalid(
                        "admin_token must be at least 32 characters, its own (not admin.token's or another merchant's)".into(),
                    ));
                }
            }
            let push = super::shipping::ShippingSettings {
                push_token: merchant.push_token.clone(),
                push_aes_key: merchant.push_aes_key.clone(),
                ..self.shipping.clone()
            };
            push.validate()
                .map_err(|e| invalid(e.to_string().replace("shipping.", "")))?;
            all.push((merchant.id.clone(), credentials));
        }
        Ok(all)
    }
}
