//! PEM blocks, and what kind of key or certificate one is: the first thing a wrong file
//! shows, so every loader can say "this is X, not Y" instead of "invalid key".

use super::keys::KeyError;

/// What a PEM file holds, from its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PemKind {
    /// `BEGIN CERTIFICATE`: the merchant's `apiclient_cert.pem` or a WeChat Pay platform
    /// certificate.
    Certificate,
    /// `BEGIN PUBLIC KEY`: a WeChat Pay public key (`pub_key.pem`), or any SPKI key.
    PublicKey,
    /// `BEGIN RSA PUBLIC KEY`: a PKCS#1 public key.
    RsaPublicKey,
    /// `BEGIN PRIVATE KEY`: PKCS#8, like the merchant's `apiclient_key.pem`.
    PrivateKey,
    /// `BEGIN RSA PRIVATE KEY`: PKCS#1.
    RsaPrivateKey,
    /// `BEGIN ENCRYPTED PRIVATE KEY`: needs a password first (`openssl pkcs8 -in ...`).
    EncryptedPrivateKey,
    Other,
}

impl PemKind {
    fn from_label(label: &str) -> PemKind {
        match label {
            "CERTIFICATE" => PemKind::Certificate,
            "PUBLIC KEY" => PemKind::PublicKey,
            "RSA PUBLIC KEY" => PemKind::RsaPublicKey,
            "PRIVATE KEY" => PemKind::PrivateKey,
            "RSA PRIVATE KEY" => PemKind::RsaPrivateKey,
            "ENCRYPTED PRIVATE KEY" => PemKind::EncryptedPrivateKey,
            _ => PemKind::Other,
        }
    }

    /// How an error names it.
    pub fn describe(self) -> &'static str {
        match self {
            PemKind::Certificate => "a certificate",
            PemKind::PublicKey => "a public key",
            PemKind::RsaPublicKey => "a PKCS#1 public key",
            PemKind::PrivateKey => "a private key (PKCS#8, like apiclient_key.pem)",
            PemKind::RsaPrivateKey => "a private key (PKCS#1)",
            PemKind::EncryptedPrivateKey => "a password-protected private key",
            PemKind::Other => "an unknown PEM block",
        }
    }

    pub fn is_private(self) -> bool {
        matches!(
            self,
            PemKind::PrivateKey | PemKind::RsaPrivateKey | PemKind::EncryptedPrivateKey
        )
    }
}

/// One decoded PEM block.
#[derive(Clone)]
pub(crate) struct PemBlock {
    pub kind: PemKind,
    pub der: Vec<u8>,
}

// Never prints the bytes: this may be a private key.
impl std::fmt::Debug for PemBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemBlock")
            .field("kind", &self.kind)
            .finish()
    }
}

/// The first PEM block in `text` (text before it, like OpenSSL's "Bag Attributes", and
/// CRLF line ends are accepted).
pub(crate) fn first_block(text: &str) -> Result<PemBlock, KeyError> {
    let start = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
    let rest = text.get(start..).ok_or(KeyError::NotPem)?;
    let end_marker = rest.find("-----END ").ok_or(KeyError::NotPem)?;
    let after_end = rest.get(end_marker + 9..).ok_or(KeyError::NotPem)?;
    let close = after_end.find("-----").ok_or(KeyError::NotPem)?;
    let block = rest
        .get(..end_marker + 9 + close + 5)
        .ok_or(KeyError::NotPem)?;
    let normalized = block.replace("\r\n", "\n");
    let (label, der) = pem_rfc7468::decode_vec(normalized.trim().as_bytes())
        .map_err(|e| KeyError::BadPem(e.to_string()))?;
    Ok(PemBlock {
        kind: PemKind::from_label(label),
        der,
    })
}

/// What kind of key or certificate a PEM text holds (for diagnostics).
pub fn kind_of(text: &str) -> Result<PemKind, KeyError> {
    Ok(first_block(text)?.kind)
}
