//! v2 refunds: `/secapi/pay/refund` over mutual TLS with the merchant certificate
//! (`apiclient_cert.pem` + `apiclient_key.pem`, or `apiclient_cert.p12`, legacy RC2-40 /
//! 3DES files included, which OpenSSL 3 opens only with `-legacy`), and `/pay/refundquery`.
//! A refund is retried only with the identical request (the same out_refund_no): WeChat
//! answers a repeat with the same refund, never a second one.

use secrecy::{ExposeSecret, SecretString};
use wxpay_core::v2::SignType;
use wxpay_core::v3::{Certificate, RsaPrivateKey};
use wxpay_core::{Fen, RefundStatus};

use crate::pay::{PayClient, PayError, Route};

/// Why a merchant certificate cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("the certificate: {0}")]
    Certificate(String),
    #[error("the private key: {0}")]
    Key(String),
    #[error("the private key is not the certificate's ({0})")]
    KeyMismatch(String),
    #[error(
        "the PKCS#12 file does not open with this password (WeChat's default is the mch_id): {0}"
    )]
    Password(String),
    #[error("the PKCS#12 file cannot be read: {0}")]
    Pkcs12(String),
    #[error("the certificate is merchant {found}'s, not {expected}'s (its CN is the mch_id)")]
    OtherMerchant { found: String, expected: String },
}

/// The merchant's TLS client certificate and key (kept as one PEM, never printed).
#[derive(Clone)]
pub struct MerchantCertificate {
    identity_pem: SecretString,
    /// The certificate alone (public), for a TLS stack that wants it apart.
    pub certificate_pem: String,
}

impl std::fmt::Debug for MerchantCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantCertificate")
            .finish_non_exhaustive()
    }
}

impl MerchantCertificate {
    /// From `apiclient_cert.pem` and `apiclient_key.pem`: the key must be the
    /// certificate's, and the certificate `mch_id`'s.
    pub fn from_pem(
        certificate_pem: &str,
        key_pem: &str,
        mch_id: &str,
    ) -> Result<MerchantCertificate, CertificateError> {
        let certificate = Certificate::from_pem(certificate_pem)
            .map_err(|e| CertificateError::Certificate(e.to_string()))?;
        let key =
            RsaPrivateKey::from_pem(key_pem).map_err(|e| CertificateError::Key(e.to_string()))?;
        key.check_matches(&certificate)
            .map_err(|e| CertificateError::KeyMismatch(e.to_string()))?;
        match certificate.common_name() {
            Some(cn) if cn != mch_id => {
                return Err(CertificateError::OtherMerchant {
                    found: cn.to_owned(),
                    expected: mch_id.to_owned(),
                });
            }
            _ => {}
        }
        Ok(MerchantCertificate {
            identity_pem: SecretString::from(format!("{key_pem}\n{certificate_pem}")),
            certificate_pem: certificate_pem.to_owned(),
        })
    }

    /// From `apiclient_cert.p12` (modern or legacy encryption); WeChat's password is the
    /// mch_id.
    pub fn from_p12(
        der: &[u8],
        password: &str,
        mch_id: &str,
    ) -> Result<MerchantCertificate, CertificateError> {
        let store = p12_keystore::KeyStore::from_pkcs12(der, password).map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => CertificateError::Password(e.to_string()),
            other => CertificateError::Pkcs12(other.to_string()),
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| CertificateError::Pkcs12("no private key in it".into()))?;
        let certificate = chain
            .chain()
            .first()
            .ok_or_else(|| CertificateError::Pkcs12("no certificate with its key".into()))?;
        let pem = |label: &str, der: &[u8]| {
            pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
                .map_err(|e| CertificateError::Pkcs12(e.to_string()))
        };
        let key_pem = SecretString::from(pem("PRIVATE KEY", chain.key())?);
        Self::from_pem(
            &pem("CERTIFICATE", certificate.as_der())?,
            key_pem.expose_secret(),
            mch_id,
        )
    }

    pub(crate) fn identity(&self) -> reqwest::Result<reqwest::Identity> {
        reqwest::Identity::from_pem(self.identity_pem.expose_secret().as_bytes())
    }
}

/// A v2 refund. Everything here is part of the refund's identity at WeChat: repeat an
/// `out_refund_no` only with exactly the same values.
#[derive(Debug, Clone)]
pub struct RefundRequest<'a> {
    /// The sign type of the order being refunded.
    pub sign_type: SignType,
    pub out_trade_no: &'a str,
    /// 1-64 of `[0-9A-Za-z_-|*@]`, unique per merchant.
    pub out_refund_no: &'a str,
    /// The order's total.
    pub total_fee: Fen,
    pub refund_fee: Fen,
    /// Shown to the user (at most 80 characters).
    pub refund_desc: Option<&'a str>,
    pub notify_url: Option<&'a str>,
}

/// WeChat accepted the refund (its result comes later: query or notify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundAccepted {
    pub refund_id: String,
    pub out_refund_no: String,
    pub refund_fee: Fen,
}

/// A refund as `refundquery` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueriedRefund {
    pub out_refund_no: String,
    pub refund_id: String,
    pub out_trade_no: String,
    pub status: RefundStatus,
    pub refund_fee: Fen,
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub success_time: Option<String>,
}

fn fen(reply: &wxpay_core::v2::Params<'static>, field: &str) -> Result<Fen, PayError> {
    Fen::parse_wechat(reply.get(field).unwrap_or_default())
        .map_err(|_| PayError::Malformed(format!("{field} is not fen")))
}

impl PayClient {
    /// `/secapi/pay/refund` (needs [`PayClient::with_refunds`]).
    pub async fn refund(&self, refund: &RefundRequest<'_>) -> Result<RefundAccepted, PayError> {
        let total = refund.total_fee.to_string();
        let amount = refund.refund_fee.to_string();
        let mut fields = vec![
            ("out_trade_no", refund.out_trade_no),
            ("out_refund_no", refund.out_refund_no),
            ("total_fee", total.as_str()),
            ("refund_fee", amount.as_str()),
        ];
        if let Some(desc) = refund.refund_desc {
            fields.push(("refund_desc", desc));
        }
        if let Some(url) = refund.notify_url {
            fields.push(("notify_url", url));
        }
        let reply = self
            .call(
                Route::Secapi,
                "/secapi/pay/refund",
                &fields,
                refund.sign_type,
            )
            .await?;
        if reply.get("out_refund_no") != Some(refund.out_refund_no) {
            return Err(PayError::Malformed(
                "the reply is for another out_refund_no".into(),
            ));
        }
        Ok(RefundAccepted {
            refund_id: reply.get("refund_id").unwrap_or_default().to_owned(),
            out_refund_no: refund.out_refund_no.to_owned(),
            refund_fee: fen(&reply, "refund_fee")?,
        })
    }

    /// `/pay/refundquery` by out_refund_no.
    pub async fn refund_query(
        &self,
        out_refund_no: &str,
        sign_type: SignType,
    ) -> Result<QueriedRefund, PayError> {
        let reply = self
            .call(
                Route::Plain,
                "/pay/refundquery",
                &[("out_refund_no", out_refund_no)],
                sign_type,
            )
            .await?;
        if reply.get("out_refund_no_0") != Some(out_refund_no) {
            return Err(PayError::Malformed(
                "refundquery answered for another refund".into(),
            ));
        }
        let status = reply.get("refund_status_0").unwrap_or_default();
        Ok(QueriedRefund {
            out_refund_no: out_refund_no.to_owned(),
            refund_id: reply.get("refund_id_0").unwrap_or_default().to_owned(),
            out_trade_no: reply.get("out_trade_no").unwrap_or_default().to_owned(),
            status: RefundStatus::from_v2(status)
                .ok_or_else(|| PayError::Malformed(format!("refund_status {status:?}")))?,
            refund_fee: fen(&reply, "refund_fee_0")?,
            success_time: reply.get("refund_success_time_0").map(str::to_owned),
        })
    }
}
