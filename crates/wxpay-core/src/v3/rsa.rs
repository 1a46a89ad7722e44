//! The RSA public-key operation v3 needs (RSASSA-PKCS1-v1_5 with SHA-256 verification),
//! one type on both targets. Natively on aws-lc-rs (the key is parsed once, verification
//! is close to OpenSSL's speed); in WebAssembly on RustCrypto `rsa` (public-key operations
//! only, where its timing does not matter: nothing secret is involved).

use x509_cert::der::asn1::UintRef;
use x509_cert::der::{Decode, Reader, SliceReader};

use super::keys::KeyError;

/// The smallest modulus WeChat Pay uses (RSA-2048); smaller keys are refused.
pub const MIN_BITS: usize = 2048;

/// An RSA public key, ready to verify.
#[derive(Clone)]
pub struct RsaPublicKey {
    /// The PKCS#1 `RSAPublicKey` DER: how two keys are compared.
    pkcs1: Vec<u8>,
    bits: usize,
    backend: backend::Key,
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaPublicKey")
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.pkcs1 == other.pkcs1
    }
}

impl Eq for RsaPublicKey {}

impl RsaPublicKey {
    /// From a PKCS#1 `RSAPublicKey` (the bits of a certificate's or an SPKI's key).
    pub(crate) fn from_pkcs1_der(der: &[u8]) -> Result<RsaPublicKey, KeyError> {
        let (n, e) = modulus_and_exponent(der)?;
        let bits = bit_length(n);
        if bits < MIN_BITS {
            return Err(KeyError::TooSmall(bits));
        }
        Ok(RsaPublicKey {
            pkcs1: der.to_vec(),
            bits,
            backend: backend::Key::new(der, n, e)?,
        })
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The PKCS#1 DER of the key.
    pub fn pkcs1_der(&self) -> &[u8] {
        &self.pkcs1
    }

    /// The key as `-----BEGIN RSA PUBLIC KEY-----` PEM (public material: e.g. for a front
    /// end that checks a paySign).
    pub fn pkcs1_pem(&self) -> String {
        // Encoding a DER this type already parsed cannot fail.
        pem_rfc7468::encode_string("RSA PUBLIC KEY", pem_rfc7468::LineEnding::LF, &self.pkcs1)
            .unwrap_or_default()
    }

    /// Whether `signature` is an RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verify_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        self.backend.verify(&[message], signature)
    }

    /// The same for the message made of `parts` one after another (hashed as they are,
    /// not copied into one buffer first).
    pub fn verify_sha256_parts(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
        self.backend.verify(parts, signature)
    }
}

/// `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
fn modulus_and_exponent(der: &[u8]) -> Result<(&[u8], &[u8]), KeyError> {
    let bad = |e: x509_cert::der::Error| KeyError::BadDer(e.to_string());
    let mut reader = SliceReader::new(der).map_err(bad)?;
    let (n, e) = reader
        .sequence(|seq| {
            let n = UintRef::decode(seq)?;
            let e = UintRef::decode(seq)?;
            Ok((n.as_bytes(), e.as_bytes()))
        })
        .map_err(bad)?;
    reader.finish(()).map_err(bad)?;
    Ok((n, e))
}

fn bit_length(big_endian: &[u8]) -> usize {
    let digits: Vec<u8> = big_endian.iter().copied().skip_while(|b| *b == 0).collect();
    match digits.first() {
        None => 0,
        Some(top) => (digits.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

#[cfg(not(target_family = "wasm"))]
mod backend {
    use aws_lc_rs::digest::{Context, SHA256};
    use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    use super::KeyError;

    #[derive(Clone)]
    pub(super) struct Key(ParsedPublicKey);

    impl Key {
        pub(super) fn new(pkcs1: &[u8], _n: &[u8], _e: &[u8]) -> Result<Key, KeyError> {
            ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pkcs1)
                .map(Key)
                .map_err(|e| KeyError::BadDer(format!("RSA public key rejected: {e}")))
        }

        pub(super) fn verify(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
            let mut context = Context::new(&SHA256);
            for part in parts {
                context.update(part);
            }
            self.0
                .verify_digest_sig(&context.finish(), signature)
                .is_ok()
        }
    }
}

#[cfg(target_family = "wasm")]
mod backend {
    use rsa::BigUint;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::signature::hazmat::PrehashVerifier;
    use sha2::{Digest, Sha256};

    use super::KeyError;

    #[derive(Clone)]
    pub(super) struct Key(VerifyingKey<Sha256>);

    impl Key {
        pub(super) fn new(_pkcs1: &[u8], n: &[u8], e: &[u8]) -> Result<Key, KeyError> {
            let key = rsa::RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
                .map_err(|e| KeyError::BadDer(format!("RSA public key rejected: {e}")))?;
            Ok(Key(VerifyingKey::new(key)))
        }

        pub(super) fn verify(&self, parts: &[&[u8]], signature: &[u8]) -> bool {
            let mut hasher = Sha256::new();
            for part in parts {
                hasher.update(part);
            }
            let digest = hasher.finalize();
            Signature::try_from(signature).is_ok_and(|s| self.0.verify_prehash(&digest, &s).is_ok())
        }
    }
}
