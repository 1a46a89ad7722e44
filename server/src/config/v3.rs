//! `[wechat.v3]`: the merchant's API v3 credentials and how it verifies WeChat (a WeChat
//! Pay public key, platform certificates, or both in the migration week). Keys come from
//! files (or inline PEM, e.g. from the environment); every error names the setting and
//! says what the file is when it is the wrong kind (`apiclient_cert.pem` where WeChat's
//! key belongs is the classic one).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wxpay_client::v3::{V3Credentials, WechatKeys};
use wxpay_core::v3::{ApiV3Key, Certificate, RsaPrivateKey, WechatPayPublicKey};

use super::error::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V3Settings {
    /// `apiclient_key.pem` (PKCS#8 or PKCS#1).
    pub private_key_file: Option<PathBuf>,
    /// The same, inline (e.g. `WXPAY_WECHAT__V3__PRIVATE_KEY_PEM`).
    pub private_key_pem: Option<SecretString>,
    /// `apiclient_cert.pem`: its serial is sent with every request, and the private key
    /// is checked against it at start-up.
    pub certificate_file: Option<PathBuf>,
    pub certificate_pem: Option<String>,
    /// Or the certificate's serial alone (upper-case hex), when the file is not at hand.
    pub certificate_serial: Option<String>,
    /// The APIv3 key (32 characters; not the v2 API key).
    pub apiv3_key: Option<SecretString>,
    /// `public_key` (new merchants), `platform_certificate`, or `migrating`.
    #[serde(default = "public_key_mode")]
    pub key_mode: String,
    /// `PUB_KEY_ID_...`, with the public key (`pub_key.pem`) from the merchant platform.
    pub public_key_id: Option<String>,
    pub public_key_file: Option<PathBuf>,
    pub public_key_pem: Option<String>,
    /// Platform certificates known up front (optional: they are downloaded from
    /// `/v3/certificates`, and again when a reply names a new one).
    #[serde(default)]
    pub platform_certificate_files: Vec<PathBuf>,
    /// Downloads an unknown serial triggers are at least this far apart (forged notifies
    /// naming made-up serials must not make the server hammer WeChat).
    #[serde(default = "certificate_refresh_min_secs")]
    pub certificate_refresh_min_secs: u64,
}

fn public_key_mode() -> String {
    "public_key".into()
}

fn certificate_refresh_min_secs() -> u64 {
    10
}

impl V3Settings {
    /// No v3 keys at all (a `[[merchants]]` entry without `[merchants.v3]`).
    pub fn none() -> V3Settings {
        V3Settings {
            private_key_file: None,
            private_key_pem: None,
            certificate_file: None,
            certificate_pem: None,
            certificate_serial: None,
            apiv3_key: None,
            key_mode: public_key_mode(),
            public_key_id: None,
            public_key_file: None,
            public_key_pem: None,
            platform_certificate_files: Vec::new(),
            certificate_refresh_min_secs: certificate_refresh_min_secs(),
        }
    }
}

/// How the merchant verifies WeChat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    PublicKey,
    PlatformCertificate,
    Migrating,
}

fn invalid(key: &'static str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.to_string(),
    }
}

fn missing(key: &'static str, env: &'static str) -> ConfigError {
    ConfigError::Missing { key, env }
}

/// A PEM from `file` or inline `pem` (exactly one of them).
fn pem_text(
    file: Option<&Path>,
    pem: Option<&str>,
    key: &'static str,
    env: &'static str,
) -> Result<String, ConfigError> {
    match (file, pem.filter(|p| !p.trim().is_empty())) {
        (Some(_), Some(_)) => Err(invalid(key, "give the file or the inline PEM, not both")),
        (Some(path), None) => std::fs::read_to_string(path)
            .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display()))),
        (None, Some(pem)) => Ok(pem.to_owned()),
        (None, None) => Err(missing(key, env)),
    }
}

impl V3Settings {
    pub fn key_mode(&self) -> Result<KeyMode, ConfigError> {
        match self.key_mode.as_str() {
            "public_key" => Ok(KeyMode::PublicKey),
            "platform_certificate" => Ok(KeyMode::PlatformCertificate),
            "migrating" => Ok(KeyMode::Migrating),
            other => Err(invalid(
                "wechat.v3.key_mode",
                format!("{other:?} is not public_key, platform_certificate or migrating"),
            )),
        }
    }

    /// The merchant's v3 credentials, every key loaded and checked.
    pub fn credentials(
        &self,
        appid: &str,
        mchid: &str,
        v2_api_key: Option<&str>,
    ) -> Result<V3Credentials, ConfigError> {
        let private_pem = pem_text(
            self.private_key_file.as_deref(),
            self.private_key_pem.as_ref().map(|p| p.expose_secret()),
            "wechat.v3.private_key_file",
            "WXPAY_WECHAT__V3__PRIVATE_KEY_FILE",
        )?;
        let merchant_key = RsaPrivateKey::from_pem(&private_pem)
            .map_err(|e| invalid("wechat.v3.private_key_file", e))?;
        let merchant_serial = self.merchant_serial(&merchant_key)?;
        let apiv3_key = self
            .apiv3_key
            .as_ref()
            .filter(|k| !k.expose_secret().is_empty())
            .ok_or(missing(
                "wechat.v3.apiv3_key",
                "WXPAY_WECHAT__V3__APIV3_KEY",
            ))?;
        if v2_api_key == Some(apiv3_key.expose_secret()) {
            return Err(invalid(
                "wechat.v3.apiv3_key",
                "is the v2 API key: the APIv3 key is a different key, set separately in the \
                 merchant platform",
            ));
        }
        let apiv3_key = ApiV3Key::new(apiv3_key.expose_secret())
            .map_err(|e| invalid("wechat.v3.apiv3_key", e))?;
        Ok(V3Credentials {
            appid: appid.to_owned(),
            mchid: mchid.to_owned(),
            merchant_serial,
            merchant_key: Arc::new(merchant_key),
            apiv3_key,
            wechat: self.wechat_keys()?,
        })
    }

    /// The merchant certificate's serial: from the certificate (checked against the key)
    /// or as configured.
    fn merchant_serial(&self, key: &RsaPrivateKey) -> Result<String, ConfigError> {
        let certificate = match (&self.certificate_file, &self.certificate_pem) {
            (None, None) => None,
            (file, pem) => Some(pem_text(
                file.as_deref(),
                pem.as_deref(),
                "wechat.v3.certificate_file",
                "WXPAY_WECHAT__V3__CERTIFICATE_FILE",
            )?),
        };
        match (certificate, &self.certificate_serial) {
            (Some(pem), configured) => {
                let certificate = Certificate::from_pem(&pem)
                    .map_err(|e| invalid("wechat.v3.certificate_file", e))?;
                key.check_matches(&certificate)
                    .map_err(|e| invalid("wechat.v3.private_key_file", e))?;
                if configured
                    .as_ref()
                    .is_some_and(|s| !s.eq_ignore_ascii_case(certificate.serial_no()))
                {
                    return Err(invalid(
                        "wechat.v3.certificate_serial",
                        format!(
                            "differs from the certificate's serial {}",
                            certificate.serial_no()
                        ),
                    ));
                }
                Ok(certificate.serial_no().to_owned())
            }
            (None, Some(serial)) => {
                let ok = !serial.is_empty()
                    && serial.len() <= 64
                    && serial.bytes().all(|b| b.is_ascii_hexdigit());
                if !ok {
                    return Err(invalid(
                        "wechat.v3.certificate_serial",
                        "must be the merchant certificate's serial in hex",
                    ));
                }
                Ok(serial.to_ascii_uppercase())
            }
            (None, None) => Err(missing(
                "wechat.v3.certificate_file",
                "WXPAY_WECHAT__V3__CERTIFICATE_FILE (or wechat.v3.certificate_serial)",
            )),
        }
    }

    fn wechat_keys(&self) -> Result<WechatKeys, ConfigError> {
        let mode = self.key_mode()?;
        let public_key = match mode {
            KeyMode::PlatformCertificate => None,
            KeyMode::PublicKey | KeyMode::Migrating => {
                let id = self
                    .public_key_id
                    .as_deref()
                    .filter(|id| !id.is_empty())
                    .ok_or(missing(
                        "wechat.v3.public_key_id",
                        "WXPAY_WECHAT__V3__PUBLIC_KEY_ID",
                    ))?;
                let pem = pem_text(
                    self.public_key_file.as_deref(),
                    self.public_key_pem.as_deref(),
                    "wechat.v3.public_key_file",
                    "WXPAY_WECHAT__V3__PUBLIC_KEY_FILE",
                )?;
                Some(
                    WechatPayPublicKey::from_pem(id, &pem)
                        .map_err(|e| invalid("wechat.v3.public_key_file", e))?,
                )
            }
        };
        let mut certificates = Vec::new();
        for path in &self.platform_certificate_files {
            let pem = pem_text(Some(path), None, "wechat.v3.platform_certificate_files", "")?;
            certificates.push(
                Certificate::from_pem(&pem)
                    .map_err(|e| invalid("wechat.v3.platform_certificate_files", e))?,
            );
        }
        if mode == KeyMode::PublicKey && !certificates.is_empty() {
            return Err(invalid(
                "wechat.v3.platform_certificate_files",
                "are for key_mode platform_certificate or migrating; this merchant verifies \
                 with its public key",
            ));
        }
        Ok(WechatKeys {
            public_key,
            platform_certificates: mode != KeyMode::PublicKey,
            certificates,
            refresh_min_interval: std::time::Duration::from_secs(self.certificate_refresh_min_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    const KEY: &str = include_str!("../../../crates/wxpay-core/tests/data/merchant_key_pkcs1.pem");
    const CERTIFICATE: &str =
        include_str!("../../../crates/wxpay-core/tests/data/merchant_cert.pem");
    const PUBLIC_KEY: &str =
        include_str!("../../../crates/wxpay-core/tests/data/test_public_key.pem");
    const ID: &str = "PUB_KEY_ID_0114232134912410000000000000000004";
    const APIV3: &str = "0123456789abcdefghijklmnopqrstuv";

    fn v3() -> V3Settings {
        let mut v3 = Settings::load(None).unwrap().wechat.v3;
        v3.private_key_pem = Some(SecretString::from(KEY));
        v3.certificate_pem = Some(CERTIFICATE.to_owned());
        v3.apiv3_key = Some(SecretString::from(APIV3));
        v3.public_key_id = Some(ID.to_owned());
        v3.public_key_pem = Some(PUBLIC_KEY.to_owned());
        v3
    }

    fn error(v3: &V3Settings, v2_key: Option<&str>) -> String {
        v3.credentials("wx1111111111111111", "1900000109", v2_key)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_public_key_merchant_loads_and_nothing_secret_prints() {
        let credentials = v3()
            .credentials("wx1111111111111111", "1900000109", None)
            .unwrap();
        let certificate = Certificate::from_pem(CERTIFICATE).unwrap();
        assert_eq!(credentials.merchant_serial, certificate.serial_no());
        assert_eq!(credentials.wechat.public_key.as_ref().unwrap().id(), ID);
        assert!(!credentials.wechat.platform_certificates);
        let shown = format!("{credentials:?} {:?}", v3());
        assert!(
            !shown.contains(APIV3) && !shown.contains("PRIVATE KEY"),
            "{shown}"
        );
    }

    #[test]
    fn the_classic_mistakes_are_named() {
        // The merchant's own certificate where WeChat's public key belongs.
        let mut own_certificate = v3();
        own_certificate.public_key_pem = Some(CERTIFICATE.to_owned());
        let said = error(&own_certificate, None);
        assert!(
            said.contains("wechat.v3.public_key_file") && said.contains("certificate"),
            "{said}"
        );
        // The v2 API key used as the APIv3 key.
        assert!(error(&v3(), Some(APIV3)).contains("is the v2 API key"));
        // A private key that is not the certificate's, and one still encrypted.
        let stranger =
            wxpay_sim::v3::forge::key(1, "1900000109", wxpay_sim::v3::forge::Role::Merchant)
                .unwrap();
        let mut other = v3();
        other.private_key_pem = Some(SecretString::from(stranger.private_pem.as_str()));
        let said = error(&other, None);
        assert!(
            said.contains("wechat.v3.private_key_file") && said.contains("does not belong"),
            "{said}"
        );
        let mut encrypted = v3();
        encrypted.private_key_pem = Some(SecretString::from(include_str!(
            "../../../crates/wxpay-core/tests/data/merchant_key_encrypted.pem"
        )));
        assert!(error(&encrypted, None).contains("wechat.v3.private_key_file"));
        let mut missing = v3();
        missing.apiv3_key = None;
        assert!(error(&missing, None).contains("WXPAY_WECHAT__V3__APIV3_KEY"));
        let mut no_id = v3();
        no_id.public_key_id = None;
        assert!(error(&no_id, None).contains("wechat.v3.public_key_id"));
        let mut mode = v3();
        mode.key_mode = "certificates".into();
        assert!(error(&mode, None).contains("wechat.v3.key_mode"));
        let mut both = v3();
        both.private_key_file = Some(PathBuf::from("/nonexistent/apiclient_key.pem"));
        assert!(error(&both, None).contains("not both"));
        let mut serial = v3();
        serial.certificate_serial = Some("ABCDEF".into());
        assert!(error(&serial, None).contains("wechat.v3.certificate_serial"));
        let mut certificates_on_public_key = v3();
        certificates_on_public_key.platform_certificate_files = vec![PathBuf::from("/x.pem")];
        assert!(error(&certificates_on_public_key, None).contains("platform_certificate_files"));
    }

    #[test]
    fn certificate_merchants_need_no_public_key_and_a_serial_can_stand_for_the_file() {
        let mut certificates = v3();
        certificates.key_mode = "platform_certificate".into();
        certificates.public_key_id = None;
        certificates.public_key_pem = None;
        certificates.certificate_pem = None;
        certificates.certificate_serial = Some("1dde55ad98ed71d6edd4a4a16996de7b47773a8c".into());
        let credentials = certificates
            .credentials("wx1111111111111111", "1900000109", None)
            .unwrap();
        assert!(credentials.wechat.platform_certificates);
        assert!(credentials.wechat.public_key.is_none());
        assert_eq!(
            credentials.merchant_serial,
            "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"
        );
    }
}
