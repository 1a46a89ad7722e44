//! The WeChat credentials, checked: the app, the merchant, and the API (v2 key and/or v3
//! key pair) new orders are made on.

use secrecy::{ExposeSecret, SecretString};
use wxpay_client::v3::V3Credentials;
use wxpay_core::ApiKey;
use wxpay_core::v2::SignType;

use super::error::ConfigError;
use super::sections::{Settings, WeChatSettings};
use super::tls::RefundTls;

/// Which API new orders use (`wechat.api_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V2,
    V3,
}

impl ApiVersion {
    /// As configuration and the API write it: `v2`, `v3`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2 => "v2",
            ApiVersion::V3 => "v3",
        }
    }
}

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
    /// `[wechat]`'s credentials; a missing one stops start-up, named.
    pub fn credentials(&self) -> Result<Credentials, ConfigError> {
        self.wechat.credentials()
    }
}

impl WeChatSettings {
    /// The credentials production needs; a missing one stops start-up, named.
    pub fn credentials(&self) -> Result<Credentials, ConfigError> {
        let w = self;
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
}
