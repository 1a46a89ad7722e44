//! Verifying WeChat Pay's signature on a response or a notify (protocol §3.3, §3.10):
//! `Wechatpay-Timestamp\nWechatpay-Nonce\nbody\n` over the body bytes exactly as received,
//! with the key `Wechatpay-Serial` names from a [`KeySet`] that holds platform
//! certificates, WeChat Pay public keys, or both (the migration week). What passes is a
//! [`VerifiedBody`], which only [`KeySet::verify`] can make.

use std::sync::Arc;

use super::keys::{Certificate, KeyError, WechatPayPublicKey, check_public_key_id};
use super::pem::PemKind;
use super::rsa::RsaPublicKey;

/// Signatures that start with this are WeChat's probes: they must fail (and be answered
/// 4xx/5xx), never crash a base64 decoder.
pub const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// Responses and notifies older or newer than this (seconds) are refused: |now - ts| >= 300.
pub const WINDOW_SECS: i64 = 300;

/// The header names, as WeChat writes them (HTTP header names are case-insensitive).
pub const TIMESTAMP: &str = "Wechatpay-Timestamp";
pub const NONCE: &str = "Wechatpay-Nonce";
pub const SIGNATURE: &str = "Wechatpay-Signature";
pub const SERIAL: &str = "Wechatpay-Serial";
pub const SIGNATURE_TYPE: &str = "Wechatpay-Signature-Type";

/// Why a signature does not verify: each its own variant, none a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the {0} header is missing (a response without signature headers counts as forged)")]
    MissingHeader(&'static str),
    #[error("Wechatpay-Timestamp is not Unix seconds")]
    BadTimestamp,
    #[error(
        "Wechatpay-Timestamp is {skew} s from now: 300 s or more is refused (a replay, or this \
         machine's clock is off)"
    )]
    OutsideWindow { skew: i64 },
    #[error("a WECHATPAY/SIGNTEST/ signature probe: not a real signature (answer it 4xx/5xx)")]
    SignatureProbe,
    #[error("Wechatpay-Signature is not base64")]
    BadBase64,
    #[error("Wechatpay-Signature-Type is {0:?}, not WECHATPAY2-SHA256-RSA2048")]
    WrongSignatureType(String),
    #[error(
        "no key for Wechatpay-Serial {0}: with platform certificates download them again (once); \
         a PUB_KEY_ID_ serial needs the WeChat Pay public key from the merchant platform"
    )]
    UnknownSerial(String),
    #[error(
        "platform certificate {serial} is not valid now (valid {not_before} to {not_after}, Unix seconds)"
    )]
    CertificateNotValid {
        serial: String,
        not_before: i64,
        not_after: i64,
    },
    #[error(
        "the signature does not verify over timestamp, nonce and body (was the body re-encoded \
         or re-serialized before verification, or its line ends changed?)"
    )]
    BadSignature,
}

/// The signature headers of a response or notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    pub timestamp: &'a str,
    pub nonce: &'a str,
    pub signature: &'a str,
    pub serial: &'a str,
    /// `Wechatpay-Signature-Type`, when sent (WeChat sends it on notifies).
    pub signature_type: Option<&'a str>,
}

impl<'a> SignatureHeaders<'a> {
    /// From a header lookup; `get` is asked with WeChat's spelling of each name and should
    /// compare case-insensitively (as HTTP does).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<SignatureHeaders<'a>, VerifyError> {
        let required = |name: &'static str| get(name).ok_or(VerifyError::MissingHeader(name));
        Ok(SignatureHeaders {
            timestamp: required(TIMESTAMP)?,
            nonce: required(NONCE)?,
            signature: required(SIGNATURE)?,
            serial: required(SERIAL)?,
            signature_type: get(SIGNATURE_TYPE),
        })
    }
}

/// A body whose signature verified with one of WeChat's keys, within the time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBody<'b> {
    body: &'b [u8],
    serial: Arc<str>,
    timestamp: i64,
}

impl<'b> VerifiedBody<'b> {
    /// The body bytes as received (parse these; never a re-serialized form).
    pub fn body(&self) -> &'b [u8] {
        self.body
    }

    /// The key that verified it: a platform certificate serial or a `PUB_KEY_ID_...`.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }
}

/// An RSASSA-PKCS1-v1_5 SHA-256 verification done outside this crate, for platforms with
/// a faster one than the built-in (the npm package in Node hands it to Node's OpenSSL:
/// RustCrypto's bigints in WebAssembly are ~40x slower). Everything else of
/// [`KeySet::verify`] (headers, window, probes, the key by serial, the message) stays here.
pub trait RsaVerifier {
    /// Whether `signature` signs `message` under the PKCS#1 `RSAPublicKey` `key`.
    fn verify_pkcs1_sha256(&self, key: &[u8], message: &[u8], signature: &[u8]) -> bool;
}

/// One verification key and where it came from.
#[derive(Debug, Clone)]
struct Entry {
    id: Arc<str>,
    key: RsaPublicKey,
    /// A certificate's validity (Unix seconds); None for a WeChat Pay public key.
    validity: Option<(i64, i64)>,
}

/// WeChat's verification keys, by the serial `Wechatpay-Serial` names: platform
/// certificates (by certificate serial), WeChat Pay public keys (by `PUB_KEY_ID_...`),
/// or both during the week a merchant migrates from one to the other.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    entries: Vec<Entry>,
    /// The merchant's own key and certificate serial, when known: never accepted as
    /// WeChat's (the classic mistake of passing `apiclient_cert.pem` here).
    merchant: Option<(RsaPublicKey, String)>,
}

impl KeySet {
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// A key set that refuses the merchant's own key or certificate as WeChat's.
    pub fn for_merchant(merchant_key: RsaPublicKey, merchant_serial: &str) -> KeySet {
        KeySet {
            entries: Vec::new(),
            merchant: Some((merchant_key, merchant_serial.to_owned())),
        }
    }

    /// Adds a WeChat Pay platform certificate (keyed by its serial).
    pub fn add_certificate(&mut self, certificate: Certificate) -> Result<(), KeyError> {
        if let Some((key, serial)) = &self.merchant
            && (certificate.public_key() == key || certificate.serial_no() == serial)
        {
            return Err(KeyError::MerchantCertificate {
                serial: certificate.serial_no().to_owned(),
                subject: certificate.subject().to_owned(),
            });
        }
        self.insert(Entry {
            id: certificate.serial_no().into(),
            key: certificate.public_key().clone(),
            validity: Some((certificate.not_before(), certificate.not_after())),
        })
    }

    /// Adds a WeChat Pay public key (keyed by its `PUB_KEY_ID_...`).
    pub fn add_public_key(&mut self, key: WechatPayPublicKey) -> Result<(), KeyError> {
        if self
            .merchant
            .as_ref()
            .is_some_and(|(own, _)| own == key.public_key())
        {
            return Err(KeyError::MerchantPublicKey);
        }
        self.insert(Entry {
            id: key.id().into(),
            key: key.public_key().clone(),
            validity: None,
        })
    }

    /// Adds a bare key under `serial`: a platform certificate's key whose validity the
    /// caller tracks, or a public key known by a serial. Prefer [`Self::add_certificate`]
    /// and [`Self::add_public_key`], which check more.
    pub fn add_key(&mut self, serial: &str, key: RsaPublicKey) -> Result<(), KeyError> {
        if self.merchant.as_ref().is_some_and(|(own, _)| own == &key) {
            return Err(KeyError::MerchantPublicKey);
        }
        self.insert(Entry {
            id: serial.into(),
            key,
            validity: None,
        })
    }

    /// Adds what a PEM holds, under `serial`: a platform certificate (whose serial must be
    /// `serial`) or a WeChat Pay public key (`serial` is its `PUB_KEY_ID_...`).
    pub fn add_pem(&mut self, serial: &str, pem: &str) -> Result<(), KeyError> {
        match super::pem::kind_of(pem)? {
            PemKind::Certificate => {
                let certificate = Certificate::from_pem(pem)?;
                if !certificate.serial_no().eq_ignore_ascii_case(serial) {
                    return Err(KeyError::BadDer(format!(
                        "the certificate given for serial {serial} has serial {}",
                        certificate.serial_no()
                    )));
                }
                self.add_certificate(certificate)
            }
            PemKind::PublicKey | PemKind::RsaPublicKey => {
                check_public_key_id(serial)?;
                self.add_public_key(WechatPayPublicKey::from_pem(serial, pem)?)
            }
            found => Err(KeyError::WrongKind {
                expected: "WeChat Pay's platform certificate or public key",
                found: found.describe(),
            }),
        }
    }

    fn insert(&mut self, entry: Entry) -> Result<(), KeyError> {
        if self.entries.iter().any(|e| e.id == entry.id) {
            return Err(KeyError::Duplicate(entry.id.to_string()));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// The serials and ids this set can verify.
    pub fn serials(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| &*e.id)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Verifies `body` (exactly as received) against its signature headers at `now`
    /// (Unix seconds).
    pub fn verify<'b>(
        &self,
        headers: &SignatureHeaders<'_>,
        body: &'b [u8],
        now: i64,
    ) -> Result<VerifiedBody<'b>, VerifyError> {
        self.verify_inner(headers, body, now, None)
    }

    /// [`Self::verify`] with the RSA operation done by `verifier`.
    pub fn verify_using<'b>(
        &self,
        headers: &SignatureHeaders<'_>,
        body: &'b [u8],
        now: i64,
        verifier: &dyn RsaVerifier,
    ) -> Result<VerifiedBody<'b>, VerifyError> {
        self.verify_inner(headers, body, now, Some(verifier))
    }

    fn verify_inner<'b>(
        &self,
        headers: &SignatureHeaders<'_>,
        body: &'b [u8],
        now: i64,
        verifier: Option<&dyn RsaVerifier>,
    ) -> Result<VerifiedBody<'b>, VerifyError> {
        if let Some(kind) = headers.signature_type
            && kind != super::request::SCHEMA
        {
            return Err(VerifyError::WrongSignatureType(
                kind.chars().take(64).collect(),
            ));
        }
        let timestamp = parse_timestamp(headers.timestamp)?;
        if headers.signature.starts_with(PROBE_PREFIX) {
            return Err(VerifyError::SignatureProbe);
        }
        let entry = self
            .entries
            .iter()
            .find(|e| &*e.id == headers.serial)
            .ok_or_else(|| VerifyError::UnknownSerial(headers.serial.chars().take(64).collect()))?;
        if let Some((not_before, not_after)) = entry.validity
            && !(not_before <= now && now <= not_after)
        {
            return Err(VerifyError::CertificateNotValid {
                serial: entry.id.to_string(),
                not_before,
                not_after,
            });
        }
        let skew = now.saturating_sub(timestamp);
        if skew.checked_abs().is_none_or(|s| s >= WINDOW_SECS) {
            return Err(VerifyError::OutsideWindow { skew });
        }
        // RSA-8192 at most: 1,024 bytes; decoded on the stack.
        let mut buffer = [0u8; 1024];
        let signature = super::base64::decode_into(headers.signature, &mut buffer)
            .ok_or(VerifyError::BadBase64)?;
        // timestamp\nnonce\nbody\n, hashed in place (the body is not copied).
        let parts = [
            headers.timestamp.as_bytes(),
            b"\n",
            headers.nonce.as_bytes(),
            b"\n",
            body,
            b"\n",
        ];
        let valid = match verifier {
            None => entry.key.verify_sha256_parts(&parts, signature),
            Some(verifier) => {
                let message = signed_message(headers.timestamp, headers.nonce, body);
                verifier.verify_pkcs1_sha256(entry.key.pkcs1_der(), &message, signature)
            }
        };
        if !valid {
            return Err(VerifyError::BadSignature);
        }
        Ok(VerifiedBody {
            body,
            serial: entry.id.clone(),
            timestamp,
        })
    }
}

/// `timestamp\nnonce\nbody\n`: what WeChat signs.
pub fn signed_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for line in [timestamp.as_bytes(), nonce.as_bytes(), body] {
        message.extend_from_slice(line);
        message.push(b'\n');
    }
    message
}

fn parse_timestamp(text: &str) -> Result<i64, VerifyError> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::BadTimestamp);
    }
    text.parse().map_err(|_| VerifyError::BadTimestamp)
}
