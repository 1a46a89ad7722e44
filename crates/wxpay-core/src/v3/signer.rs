//! The merchant's private key (`apiclient_key.pem`) and the one private-key operation of
//! API v3: RSASSA-PKCS1-v1_5 with SHA-256 (request signatures, v3 paySign). Native only,
//! on aws-lc-rs: constant-time, and close to OpenSSL's speed (BENCHMARKS.md W4). Not in
//! WebAssembly: a private key has no business in a browser or a mini program.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use super::keys::{Certificate, KeyError};
use super::pem::{PemKind, first_block};
use super::rsa::RsaPublicKey;

/// Signing failed (it does not for a key that loaded; kept as an error, not a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("RSA signing failed")]
pub struct SignError;

/// An RSA private key: the merchant's API key (`apiclient_key.pem`), or, in the
/// simulator, WeChat's own. Never printed; aws-lc-rs frees (and wipes) it on drop.
pub struct RsaPrivateKey {
    pair: RsaKeyPair,
    public: RsaPublicKey,
}

impl std::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaPrivateKey(***)")
    }
}

impl RsaPrivateKey {
    /// From PEM: PKCS#8 (`BEGIN PRIVATE KEY`, as WeChat issues `apiclient_key.pem`) or
    /// PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<RsaPrivateKey, KeyError> {
        let block = first_block(text)?;
        let der = Zeroizing::new(block.der.clone());
        let pair = match block.kind {
            PemKind::PrivateKey => RsaKeyPair::from_pkcs8(&der),
            PemKind::RsaPrivateKey => RsaKeyPair::from_der(&der),
            PemKind::EncryptedPrivateKey => return Err(KeyError::EncryptedPrivateKey),
            found => {
                return Err(KeyError::WrongKind {
                    expected: "the merchant private key (apiclient_key.pem)",
                    found: found.describe(),
                });
            }
        };
        drop(block);
        let pair = pair.map_err(|e| KeyError::BadDer(format!("RSA private key rejected: {e}")))?;
        let public = RsaPublicKey::from_pkcs1_der(pair.public_key().as_ref())?;
        Ok(RsaPrivateKey { pair, public })
    }

    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The key must be the one `certificate` (the merchant's `apiclient_cert.pem`) was
    /// issued for; else WeChat answers every request 401 SIGN_ERROR.
    pub fn check_matches(&self, certificate: &Certificate) -> Result<(), KeyError> {
        if certificate.public_key() == &self.public {
            Ok(())
        } else {
            Err(KeyError::KeyCertificateMismatch {
                serial: certificate.serial_no().to_owned(),
            })
        }
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 of `message`.
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        // PKCS#1 v1.5 is deterministic: aws-lc-rs takes a random source for the
        // signature API's sake and does not use it for this padding.
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| SignError)?;
        Ok(signature)
    }

    /// The signature, base64 (how every v3 header and paySign carries it).
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, SignError> {
        Ok(STANDARD.encode(self.sign_sha256(message)?))
    }
}
