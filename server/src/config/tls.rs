//! `[wechat.refund_tls]`: the merchant certificate v2 refunds present (mutual TLS on
//! `/secapi`): `apiclient_cert.pem` + `apiclient_key.pem`, or `apiclient_cert.p12` (legacy
//! RC2-40 / 3DES files load as they are; the password defaults to the mch_id). Without
//! it, the v3 section's certificate and key are used when they are files of the same
//! pair. API v3 refunds need none of this.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wxpay_client::MerchantCertificate;

use super::error::ConfigError;
use super::v3::V3Settings;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundTlsSettings {
    /// Where `/secapi` is (default: `wechat.pay_base_url`).
    pub base_url: Option<String>,
    pub certificate_file: Option<PathBuf>,
    pub certificate_pem: Option<String>,
    pub key_file: Option<PathBuf>,
    pub key_pem: Option<SecretString>,
    pub p12_file: Option<PathBuf>,
    /// Default: the mch_id (WeChat's).
    pub p12_password: Option<SecretString>,
    /// An extra root to trust for `/secapi` (a private WeChat, such as the simulator).
    pub root_ca_file: Option<PathBuf>,
    pub root_ca_pem: Option<String>,
}

fn invalid(key: &'static str, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.to_string(),
    }
}

fn read(path: &std::path::Path, key: &'static str) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))
}

fn text(
    file: Option<&std::path::Path>,
    inline: Option<&str>,
    key: &'static str,
) -> Result<Option<String>, ConfigError> {
    match (file, inline) {
        (Some(_), Some(_)) => Err(invalid(key, "give the file or the inline PEM, not both")),
        (Some(path), None) => String::from_utf8(read(path, key)?)
            .map(Some)
            .map_err(|_| invalid(key, "is not a PEM text file")),
        (None, Some(pem)) => Ok(Some(pem.to_owned())),
        (None, None) => Ok(None),
    }
}

/// The TLS material v2 refunds present, when configured.
#[derive(Debug, Clone)]
pub struct RefundTls {
    pub base_url: Option<String>,
    pub certificate: MerchantCertificate,
    pub root_ca_pem: Option<String>,
}

impl RefundTlsSettings {
    /// The certificate, from this section or else from `[wechat.v3]`'s pair; `None` when
    /// neither has one (v2 refunds then answer that the certificate is missing).
    pub fn load(&self, mch_id: &str, v3: &V3Settings) -> Result<Option<RefundTls>, ConfigError> {
        let certificate = match &self.p12_file {
            Some(path) => {
                if self.certificate_file.is_some() || self.certificate_pem.is_some() {
                    return Err(invalid(
                        "wechat.refund_tls.p12_file",
                        "give the .p12 or the PEM pair, not both",
                    ));
                }
                let password = self
                    .p12_password
                    .as_ref()
                    .map_or(mch_id, |p| p.expose_secret());
                Some(
                    MerchantCertificate::from_p12(
                        &read(path, "wechat.refund_tls.p12_file")?,
                        password,
                        mch_id,
                    )
                    .map_err(|e| invalid("wechat.refund_tls.p12_file", e))?,
                )
            }
            None => {
                let mut certificate = text(
                    self.certificate_file.as_deref(),
                    self.certificate_pem.as_deref(),
                    "wechat.refund_tls.certificate_file",
                )?;
                let mut key = text(
                    self.key_file.as_deref(),
                    self.key_pem.as_ref().map(|k| k.expose_secret()),
                    "wechat.refund_tls.key_file",
                )?;
                // An empty section borrows the v3 pair, when v3 has both halves (a v3
                // merchant may give its certificate's serial only).
                if certificate.is_none() && key.is_none() {
                    let v3_certificate = text(
                        v3.certificate_file.as_deref(),
                        v3.certificate_pem.as_deref(),
                        "wechat.v3.certificate_file",
                    )?;
                    let v3_key = text(
                        v3.private_key_file.as_deref(),
                        v3.private_key_pem.as_ref().map(|k| k.expose_secret()),
                        "wechat.v3.private_key_file",
                    )?;
                    if v3_certificate.is_some() && v3_key.is_some() {
                        (certificate, key) = (v3_certificate, v3_key);
                    }
                }
                match (certificate, key) {
                    (Some(certificate), Some(key)) => Some(
                        MerchantCertificate::from_pem(&certificate, &key, mch_id)
                            .map_err(|e| invalid("wechat.refund_tls.certificate_file", e))?,
                    ),
                    (None, None) => None,
                    _ => {
                        return Err(invalid(
                            "wechat.refund_tls",
                            "needs both the certificate and its key (or the .p12)",
                        ));
                    }
                }
            }
        };
        let root_ca_pem = text(
            self.root_ca_file.as_deref(),
            self.root_ca_pem.as_deref(),
            "wechat.refund_tls.root_ca_file",
        )?;
        Ok(certificate.map(|certificate| RefundTls {
            base_url: self.base_url.clone(),
            certificate,
            root_ca_pem,
        }))
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use wxpay_sim::MerchantConfig;
    use wxpay_sim::secapi::{SandboxTls, sandbox_tls};

    use super::*;

    const MCH_ID: &str = "10000100";

    fn v3_defaults() -> V3Settings {
        crate::config::Settings::load(None).unwrap().wechat.v3
    }

    fn material() -> SandboxTls {
        sandbox_tls(7, &MerchantConfig::documentation(), "https://127.0.0.1:1").unwrap()
    }

    fn p12_file(tls: &SandboxTls, name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("wxpay-{}-{name}.p12", std::process::id()));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(tls.client_p12_base64.as_deref().unwrap())
            .unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_certificate_loads_from_pem_or_from_the_legacy_p12() {
        let tls = material();
        let v3 = v3_defaults();
        let pem = RefundTlsSettings {
            certificate_pem: Some(tls.client_cert_pem.clone()),
            key_pem: tls.client_key_pem.as_deref().map(SecretString::from),
            ..RefundTlsSettings::default()
        };
        assert!(pem.load(MCH_ID, &v3).unwrap().is_some());
        // WeChat's apiclient_cert.p12 (RC2-40), the password left to its default.
        let p12 = RefundTlsSettings {
            p12_file: Some(p12_file(&tls, "default")),
            ..RefundTlsSettings::default()
        };
        assert!(p12.load(MCH_ID, &v3).unwrap().is_some());
        // Nothing configured: no v2 refunds, and no error.
        assert!(
            RefundTlsSettings::default()
                .load(MCH_ID, &v3)
                .unwrap()
                .is_none()
        );
        // The v3 pair serves when it is the same certificate.
        let from_v3 = V3Settings {
            certificate_pem: Some(tls.client_cert_pem.clone()),
            private_key_pem: tls.client_key_pem.as_deref().map(SecretString::from),
            ..v3_defaults()
        };
        assert!(
            RefundTlsSettings::default()
                .load(MCH_ID, &from_v3)
                .unwrap()
                .is_some()
        );
        // A v3 merchant with its certificate's serial only: no pair to borrow, no error.
        let serial_only = V3Settings {
            private_key_pem: tls.client_key_pem.as_deref().map(SecretString::from),
            ..v3_defaults()
        };
        assert!(
            RefundTlsSettings::default()
                .load(MCH_ID, &serial_only)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn mistakes_are_named_without_the_secrets() {
        let tls = material();
        let v3 = v3_defaults();
        let wrong_password = RefundTlsSettings {
            p12_file: Some(p12_file(&tls, "wrong")),
            p12_password: Some(SecretString::from("not-the-mch-id")),
            ..RefundTlsSettings::default()
        };
        let err = wrong_password.load(MCH_ID, &v3).unwrap_err().to_string();
        assert!(err.contains("wechat.refund_tls.p12_file"), "{err}");
        assert!(!err.contains("not-the-mch-id"), "{err}");
        let both = RefundTlsSettings {
            p12_file: Some(p12_file(&tls, "both")),
            certificate_pem: Some(tls.client_cert_pem.clone()),
            ..RefundTlsSettings::default()
        };
        assert!(
            both.load(MCH_ID, &v3)
                .unwrap_err()
                .to_string()
                .contains("not both")
        );
        let no_key = RefundTlsSettings {
            certificate_pem: Some(tls.client_cert_pem.clone()),
            ..RefundTlsSettings::default()
        };
        let err = no_key.load(MCH_ID, &v3).unwrap_err().to_string();
        assert!(err.contains("its key"), "{err}");
        // Another merchant's certificate (the right key with it) is refused by name.
        let err = RefundTlsSettings {
            certificate_pem: Some(tls.client_cert_pem.clone()),
            key_pem: tls.client_key_pem.as_deref().map(SecretString::from),
            ..RefundTlsSettings::default()
        }
        .load("1900000109", &v3)
        .unwrap_err()
        .to_string();
        assert!(err.contains("wechat.refund_tls.certificate_file"), "{err}");
        let missing = RefundTlsSettings {
            p12_file: Some(PathBuf::from("/nonexistent/apiclient_cert.p12")),
            ..RefundTlsSettings::default()
        };
        let err = missing.load(MCH_ID, &v3).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/apiclient_cert.p12"), "{err}");
    }
}
