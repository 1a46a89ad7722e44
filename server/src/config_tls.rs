//! `[wechat.refund_tls]`: the merchant certificate v2 refunds present (mutual TLS on
//! `/secapi`): `apiclient_cert.pem` + `apiclient_key.pem`, or `apiclient_cert.p12` (legacy
//! RC2-40 / 3DES files load as they are; the password defaults to the mch_id). Without
//! it, the v3 section's certificate and key are used when they are files of the same
//! pair. API v3 refunds need none of this.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wxpay_client::MerchantCertificate;

use crate::config::ConfigError;
use crate::config_v3::V3Settings;

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
                let certificate = text(
                    self.certificate_file.as_deref(),
                    self.certificate_pem.as_deref(),
                    "wechat.refund_tls.certificate_file",
                )?
                .or(text(
                    v3.certificate_file.as_deref(),
                    v3.certificate_pem.as_deref(),
                    "wechat.v3.certificate_file",
                )?);
                let key = text(
                    self.key_file.as_deref(),
                    self.key_pem.as_ref().map(|k| k.expose_secret()),
                    "wechat.refund_tls.key_file",
                )?
                .or(text(
                    v3.private_key_file.as_deref(),
                    v3.private_key_pem.as_ref().map(|k| k.expose_secret()),
                    "wechat.v3.private_key_file",
                )?);
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
