//! Who the simulator plays WeChat for: merchants (mch_id + API key, and for API v3 a key
//! mode, an APIv3 key and a merchant certificate) with their Mini Program (appid + app
//! secret), from flags, a TOML file, or the control API.

use std::path::Path;

use serde::{Deserialize, Serialize};
use wxpay_core::ApiKey;

/// WeChat's own documentation credentials: the default merchant when none is configured.
pub const DOC_APPID: &str = "wxd930ea5d5a258f4f";
pub const DOC_MCH_ID: &str = "10000100";
pub const DOC_API_KEY: &str = "192006250b4c09247ec02edce69f6a2d";
pub const DOC_APP_SECRET: &str = "0123456789abcdef0123456789abcdef";

/// A merchant with made-up credentials ([`MerchantConfig::test_merchant`]), for running a
/// backend in production mode against the simulator: production backends should refuse
/// the documentation ones (`wxpay serve` does).
pub const TEST_APPID: &str = "wx7e57000000000001";
pub const TEST_MCH_ID: &str = "1900000177";
pub const TEST_API_KEY: &str = "TestMerchantKeyTestMerchantKey32";
pub const TEST_APP_SECRET: &str = "TestMerchantSecretTestMerchant32";

/// One merchant and the Mini Program bound to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantConfig {
    pub appid: String,
    pub mch_id: String,
    /// The v2 API key (32 characters). Test credentials, but still never echoed back.
    #[serde(skip_serializing)]
    pub api_key: String,
    #[serde(skip_serializing)]
    pub app_secret: String,
    /// Whether code2session returns a `unionid` (the app is bound to an Open Platform account).
    #[serde(default)]
    pub unionid: bool,
    /// API v3: what WeChat verifies with, on the merchant's side (default: a WeChat Pay
    /// public key, as new merchants get).
    #[serde(default)]
    pub key_mode: KeyMode,
    /// API v3: the APIv3 key (32 characters); derived from the seed when absent.
    #[serde(default, skip_serializing)]
    pub apiv3_key: Option<String>,
    /// API v3: the merchant's own API certificate (PEM), for a merchant that brings its
    /// own key. Without it the simulator makes the merchant a key and certificate (sandbox
    /// material, handed out by `GET /sim/merchants/{mchid}/v3-keys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_certificate_pem: Option<String>,
}

/// How WeChat Pay signs its API v3 responses and notifies for a merchant (protocol §3.10).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyMode {
    /// Platform certificates, downloaded from `GET /v3/certificates`.
    PlatformCertificate,
    /// A WeChat Pay public key (`PUB_KEY_ID_...`); `/v3/certificates` answers 404.
    #[default]
    PublicKey,
    /// The week of the switch from certificates to the public key: responses are signed
    /// with the key the request's `Wechatpay-Serial` names, a growing share of notifies
    /// with the public key (all of them after 7 days).
    Migrating,
}

impl KeyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMode::PlatformCertificate => "platform_certificate",
            KeyMode::PublicKey => "public_key",
            KeyMode::Migrating => "migrating",
        }
    }

    /// Whether the merchant has platform certificates.
    pub fn has_certificates(self) -> bool {
        self != KeyMode::PublicKey
    }

    /// Whether the merchant has a WeChat Pay public key.
    pub fn has_public_key(self) -> bool {
        self != KeyMode::PlatformCertificate
    }
}

impl std::str::FromStr for KeyMode {
    type Err = String;

    fn from_str(s: &str) -> Result<KeyMode, String> {
        match s {
            "platform_certificate" => Ok(KeyMode::PlatformCertificate),
            "public_key" => Ok(KeyMode::PublicKey),
            "migrating" => Ok(KeyMode::Migrating),
            other => Err(format!(
                "key mode {other:?} is not platform_certificate, public_key or migrating"
            )),
        }
    }
}

impl MerchantConfig {
    pub fn documentation() -> Self {
        MerchantConfig {
            appid: DOC_APPID.to_owned(),
            mch_id: DOC_MCH_ID.to_owned(),
            api_key: DOC_API_KEY.to_owned(),
            app_secret: DOC_APP_SECRET.to_owned(),
            unionid: false,
            key_mode: KeyMode::default(),
            apiv3_key: None,
            merchant_certificate_pem: None,
        }
    }

    /// The merchant of the `TEST_*` credentials.
    pub fn test_merchant() -> Self {
        MerchantConfig {
            appid: TEST_APPID.to_owned(),
            mch_id: TEST_MCH_ID.to_owned(),
            api_key: TEST_API_KEY.to_owned(),
            app_secret: TEST_APP_SECRET.to_owned(),
            unionid: false,
            key_mode: KeyMode::default(),
            apiv3_key: None,
            merchant_certificate_pem: None,
        }
    }

    /// Checks the fields the way WeChat's platform would accept them.
    pub fn validate(&self) -> Result<ApiKey, ConfigError> {
        if self.appid.is_empty() || self.mch_id.is_empty() {
            return Err(ConfigError::Invalid(
                "appid and mch_id must not be empty".into(),
            ));
        }
        if self.app_secret.len() != 32
            || !self.app_secret.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ConfigError::Invalid(format!(
                "app_secret of {} must be 32 letters or digits",
                self.appid
            )));
        }
        if let Some(key) = &self.apiv3_key {
            wxpay_core::v3::ApiV3Key::new(key).map_err(|e| {
                ConfigError::Invalid(format!("apiv3_key of mch_id {}: {e}", self.mch_id))
            })?;
        }
        if let Some(pem) = &self.merchant_certificate_pem {
            wxpay_core::v3::Certificate::from_pem(pem).map_err(|e| {
                ConfigError::Invalid(format!(
                    "merchant_certificate_pem of mch_id {}: {e}",
                    self.mch_id
                ))
            })?;
        }
        ApiKey::new(&self.api_key)
            .map_err(|e| ConfigError::Invalid(format!("api_key of mch_id {}: {e}", self.mch_id)))
    }
}

/// Everything the simulator starts with.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    #[serde(default)]
    pub merchants: Vec<MerchantConfig>,
    /// Seed of every random choice (ids, keys, probabilistic faults): same seed, same run.
    #[serde(default)]
    pub seed: u64,
    /// Simulated durations (code and prepay_id expiry, notify retry schedule, reply
    /// timeout) are divided by this factor. 1 = real time; 1000 = a 15 s retry takes 15 ms.
    #[serde(default = "one")]
    pub time_scale: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            merchants: vec![MerchantConfig::documentation()],
            seed: 0,
            time_scale: 1.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl SimConfig {
    /// The simulator playing WeChat for `merchant` alone.
    pub fn for_merchant(merchant: MerchantConfig) -> Self {
        SimConfig {
            merchants: vec![merchant],
            ..SimConfig::default()
        }
    }

    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(ConfigError::Invalid(
                "time_scale must be a positive number".into(),
            ));
        }
        if self.merchants.is_empty() {
            return Err(ConfigError::Invalid(
                "at least one merchant is needed".into(),
            ));
        }
        for merchant in &self.merchants {
            merchant.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_documentation_merchant() {
        let config = SimConfig::default();
        assert!(config.validate().is_ok());
        assert_eq!(config.merchants[0].appid, DOC_APPID);
        assert_eq!(config.time_scale, 1.0);
    }

    #[test]
    fn parses_toml_and_refuses_bad_values() {
        let config: SimConfig = toml::from_str(
            r#"
            seed = 7
            time_scale = 1000
            [[merchants]]
            appid = "wx1111111111111111"
            mch_id = "1900000109"
            api_key = "qazwsxedcrfvtgbyhnujmikolp111111"
            app_secret = "abcdefabcdefabcdefabcdefabcdefab"
            unionid = true
            "#,
        )
        .unwrap();
        assert!(config.validate().is_ok());
        assert_eq!(config.seed, 7);
        let mut bad = config.clone();
        bad.merchants[0].api_key = "short".into();
        assert!(bad.validate().is_err());
        let mut bad = config;
        bad.time_scale = 0.0;
        assert!(bad.validate().is_err());
        assert!(toml::from_str::<SimConfig>("unknown = 1").is_err());
    }

    #[test]
    fn the_test_merchant_is_valid_and_not_the_documentation_one() {
        let merchant = MerchantConfig::test_merchant();
        assert!(merchant.validate().is_ok());
        assert_ne!(merchant.appid, DOC_APPID);
        assert_ne!(merchant.api_key, DOC_API_KEY);
        assert!(SimConfig::for_merchant(merchant).validate().is_ok());
    }

    #[test]
    fn serialized_config_never_carries_secrets() {
        let shown = serde_json::to_string(&MerchantConfig::documentation()).unwrap();
        assert!(!shown.contains(DOC_API_KEY));
        assert!(!shown.contains(DOC_APP_SECRET));
    }
}
