//! The keys and certificates of API v3 (protocol §3.1, §3.10): certificates (the
//! merchant's `apiclient_cert.pem`, WeChat Pay's platform certificates), WeChat Pay public
//! keys with their `PUB_KEY_ID_...` id, and the errors that say which file is which when
//! one is passed where another belongs.

use x509_cert::Certificate as X509;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use super::pem::{PemKind, first_block};
use super::rsa::RsaPublicKey;

/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// The prefix of a WeChat Pay public key id.
pub const PUBLIC_KEY_ID_PREFIX: &str = "PUB_KEY_ID_";

/// Why a key or certificate cannot be used. Messages say which file is which; they never
/// contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not PEM: expected a block starting with -----BEGIN")]
    NotPem,
    #[error("malformed PEM: {0}")]
    BadPem(String),
    #[error("malformed key or certificate: {0}")]
    BadDer(String),
    #[error("{found} was given where {expected} belongs")]
    WrongKind {
        expected: &'static str,
        found: &'static str,
    },
    #[error(
        "the private key is password-protected: decrypt it first \
         (openssl pkcs8 -in apiclient_key.pem -out key.pem)"
    )]
    EncryptedPrivateKey,
    #[error("not an RSA key: WeChat Pay API v3 uses RSA-2048")]
    NotRsa,
    #[error("an RSA key of {0} bits: WeChat Pay uses 2048")]
    TooSmall(usize),
    #[error("a WeChat Pay public key id is PUB_KEY_ID_ followed by digits, not {0:?}")]
    BadPublicKeyId(String),
    #[error(
        "certificate {serial} is your merchant certificate (apiclient_cert.pem, issued to \
         {subject}): WeChat Pay's platform certificate or public key (pub_key.pem) belongs here"
    )]
    MerchantCertificate { serial: String, subject: String },
    #[error(
        "this is your own merchant public key: WeChat Pay's public key (pub_key.pem, id \
         PUB_KEY_ID_...) or platform certificate belongs here"
    )]
    MerchantPublicKey,
    #[error("the private key does not belong to certificate {serial}")]
    KeyCertificateMismatch { serial: String },
    #[error("{0} is given twice")]
    Duplicate(String),
}

/// An X.509 certificate with an RSA key: the merchant's API certificate or a WeChat Pay
/// platform certificate (the role is where it is used, not in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    serial_no: String,
    subject: String,
    common_name: Option<String>,
    not_before: i64,
    not_after: i64,
    key: RsaPublicKey,
}

impl Certificate {
    /// From `-----BEGIN CERTIFICATE-----` PEM text.
    pub fn from_pem(text: &str) -> Result<Certificate, KeyError> {
        let block = first_block(text)?;
        if block.kind != PemKind::Certificate {
            return Err(KeyError::WrongKind {
                expected: "a certificate",
                found: block.kind.describe(),
            });
        }
        Certificate::from_der(&block.der)
    }

    pub fn from_der(der: &[u8]) -> Result<Certificate, KeyError> {
        let cert = X509::from_der(der).map_err(|e| KeyError::BadDer(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| KeyError::BadDer(e.to_string()))?;
        let subject = render_name(&tbs.subject);
        Ok(Certificate {
            serial_no: serial_hex(tbs.serial_number.as_bytes()),
            common_name: common_name(&subject),
            subject,
            not_before: unix_seconds(tbs.validity.not_before.to_unix_duration()),
            not_after: unix_seconds(tbs.validity.not_after.to_unix_duration()),
            key: rsa_from_spki(&spki)?,
        })
    }

    /// The serial number as WeChat writes it: upper-case hex without leading zeros (what
    /// `openssl x509 -noout -serial` prints, and the `Wechatpay-Serial` header's value).
    pub fn serial_no(&self) -> &str {
        &self.serial_no
    }

    /// The subject, e.g. `CN=1900009191,OU=...,O=...`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The subject's common name: a merchant certificate's is the merchant's mchid.
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// Unix seconds.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        &self.key
    }
}

/// A WeChat Pay public key (`pub_key.pem`, downloaded from the merchant platform) and its
/// id, which WeChat sends as `Wechatpay-Serial` when it signed with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WechatPayPublicKey {
    id: String,
    key: RsaPublicKey,
}

impl WechatPayPublicKey {
    /// From the id shown in the merchant platform and the `-----BEGIN PUBLIC KEY-----` PEM.
    pub fn from_pem(id: &str, text: &str) -> Result<WechatPayPublicKey, KeyError> {
        check_public_key_id(id)?;
        let key = public_key_from_pem(text, "the WeChat Pay public key (pub_key.pem)")?;
        Ok(WechatPayPublicKey {
            id: id.to_owned(),
            key,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        &self.key
    }
}

/// `PUB_KEY_ID_` followed by digits. WeChat's published examples have 34 digits
/// (`PUB_KEY_ID_0000000000000024101100397200000006`); the length is not documented, so
/// any 1 to 64 digits are taken.
pub fn check_public_key_id(id: &str) -> Result<(), KeyError> {
    let digits = id.strip_prefix(PUBLIC_KEY_ID_PREFIX).unwrap_or_default();
    if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(KeyError::BadPublicKeyId(id.chars().take(80).collect()));
    }
    Ok(())
}

/// An RSA public key from PEM: SPKI (`PUBLIC KEY`), PKCS#1 (`RSA PUBLIC KEY`), or the key
/// of a certificate. `role` names what the caller expects, for the error.
pub fn public_key_from_pem(text: &str, role: &'static str) -> Result<RsaPublicKey, KeyError> {
    let block = first_block(text)?;
    match block.kind {
        PemKind::PublicKey => rsa_from_spki(&block.der),
        PemKind::RsaPublicKey => RsaPublicKey::from_pkcs1_der(&block.der),
        found => Err(KeyError::WrongKind {
            expected: role,
            found: found.describe(),
        }),
    }
}

/// The RSA key in a SubjectPublicKeyInfo.
pub(crate) fn rsa_from_spki(der: &[u8]) -> Result<RsaPublicKey, KeyError> {
    let spki =
        SubjectPublicKeyInfoRef::from_der(der).map_err(|e| KeyError::BadDer(e.to_string()))?;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(KeyError::NotRsa);
    }
    let pkcs1 = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| KeyError::BadDer("public key bits are not whole bytes".into()))?;
    RsaPublicKey::from_pkcs1_der(pkcs1)
}

/// A distinguished name as RFC 4514 writes it (`CN=1900009191,OU=...,O=...`), with the
/// few attribute names certificates use here; others by OID. (x509-cert's own Display
/// would link its whole OID database, ~100 KiB, into the WebAssembly.)
fn render_name(name: &x509_cert::name::Name) -> String {
    let mut parts = Vec::new();
    for rdn in name.0.iter().rev() {
        for atv in rdn.0.iter() {
            let label = match atv.oid.to_string().as_str() {
                "2.5.4.3" => "CN".to_owned(),
                "2.5.4.6" => "C".to_owned(),
                "2.5.4.7" => "L".to_owned(),
                "2.5.4.8" => "ST".to_owned(),
                "2.5.4.10" => "O".to_owned(),
                "2.5.4.11" => "OU".to_owned(),
                other => other.to_owned(),
            };
            let value = String::from_utf8_lossy(atv.value.value());
            parts.push(format!("{label}={}", value.replace(',', "\\,")));
        }
    }
    parts.join(",")
}

/// The `CN=` of a subject as [`render_name`] writes it.
fn common_name(subject: &str) -> Option<String> {
    subject
        .split(',')
        .find_map(|part| part.trim().strip_prefix("CN="))
        .map(str::to_owned)
}

fn serial_hex(bytes: &[u8]) -> String {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if trimmed.is_empty() {
        return "0".to_owned();
    }
    base16ct::upper::encode_string(&trimmed)
}

fn unix_seconds(since_epoch: std::time::Duration) -> i64 {
    i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX)
}
