//! AEAD_AES_256_GCM, how API v3 encrypts notify resources and platform certificates
//! (protocol §3.8): key = the APIv3 key's 32 bytes, nonce = the resource's 12-byte
//! `nonce` text, AAD = its `associated_data` text, input = base64 of ciphertext followed by
//! the 16-byte tag. Natively on aws-lc-rs, in WebAssembly on RustCrypto `aes-gcm`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The only algorithm API v3 names for encrypted resources.
pub const ALGORITHM: &str = "AEAD_AES_256_GCM";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The APIv3 key (set in the merchant platform; a different key from the v2 API key): 32
/// bytes. Never printed; wiped on drop. Natively it also keeps the expanded AES key, so a
/// notify does not pay for the key schedule.
#[derive(Clone)]
pub struct ApiV3Key {
    bytes: Zeroizing<[u8; 32]>,
    prepared: backend::Prepared,
}

impl std::fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

/// Why a key or resource does not decrypt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AeadError {
    #[error("the APIv3 key must be 32 characters (it is {0} bytes; the v2 API key is another key)")]
    KeyLength(usize),
    #[error("resource algorithm {0:?} is not AEAD_AES_256_GCM")]
    Algorithm(String),
    #[error("the nonce must be 12 bytes, not {0}")]
    NonceLength(usize),
    #[error("ciphertext is not base64")]
    Base64,
    #[error("ciphertext is shorter than its 16-byte tag")]
    TooShort,
    #[error(
        "authentication tag mismatch: a wrong APIv3 key, the wrong associated_data, or a \
         tampered resource"
    )]
    TagMismatch,
    #[error("the decrypted resource is not UTF-8")]
    NotUtf8,
}

impl ApiV3Key {
    pub fn new(key: &str) -> Result<ApiV3Key, AeadError> {
        let bytes: [u8; 32] = key
            .as_bytes()
            .try_into()
            .map_err(|_| AeadError::KeyLength(key.len()))?;
        Ok(ApiV3Key {
            prepared: backend::Prepared::new(&bytes)?,
            bytes: Zeroizing::new(bytes),
        })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    /// Decrypts base64 `ciphertext_b64` (ciphertext then tag) with this key.
    pub fn decrypt(
        &self,
        nonce: &str,
        associated_data: &str,
        ciphertext_b64: &str,
    ) -> Result<Vec<u8>, AeadError> {
        check_lengths(self.bytes(), nonce)?;
        let sealed = super::base64::decode(ciphertext_b64).ok_or(AeadError::Base64)?;
        if sealed.len() < TAG_LEN {
            return Err(AeadError::TooShort);
        }
        self.prepared.open(
            self.bytes(),
            nonce.as_bytes(),
            associated_data.as_bytes(),
            sealed,
        )
    }
}

/// An encrypted resource as WeChat sends it (a notify's `resource`, a certificate's
/// `encrypt_certificate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    pub nonce: String,
    /// `transaction`, `refund`, ... (notifies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_type: Option<String>,
}

impl EncryptedResource {
    /// The plaintext (JSON text for notifies, PEM for certificates).
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<String, AeadError> {
        if self.algorithm != ALGORITHM {
            return Err(AeadError::Algorithm(
                self.algorithm.chars().take(32).collect(),
            ));
        }
        let plain = decrypt(
            key.bytes(),
            &self.nonce,
            &self.associated_data,
            &self.ciphertext,
        )?;
        String::from_utf8(plain).map_err(|_| AeadError::NotUtf8)
    }
}

/// AES-GCM with a 16-byte (AES-128) or 32-byte (AES-256) key; base64 input of ciphertext
/// and tag. WeChat's APIv3 keys are 32 bytes ([`ApiV3Key`]); 16 is here for the official
/// SDK's test vectors.
pub fn decrypt(
    key: &[u8],
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, AeadError> {
    check_lengths(key, nonce)?;
    let sealed = super::base64::decode(ciphertext_b64).ok_or(AeadError::Base64)?;
    if sealed.len() < TAG_LEN {
        return Err(AeadError::TooShort);
    }
    backend::open(key, nonce.as_bytes(), associated_data.as_bytes(), sealed)
}

/// The reverse of [`decrypt`] (for tests and the simulator): base64 of ciphertext and tag.
/// The nonce is an input: this crate has no randomness.
pub fn encrypt(
    key: &[u8],
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, AeadError> {
    check_lengths(key, nonce)?;
    let sealed = backend::seal(key, nonce.as_bytes(), associated_data.as_bytes(), plaintext)?;
    Ok(STANDARD.encode(sealed))
}

fn check_lengths(key: &[u8], nonce: &str) -> Result<(), AeadError> {
    if !matches!(key.len(), 16 | 32) {
        return Err(AeadError::KeyLength(key.len()));
    }
    if nonce.len() != NONCE_LEN {
        return Err(AeadError::NonceLength(nonce.len()));
    }
    Ok(())
}

#[cfg(not(target_family = "wasm"))]
mod backend {
    use std::sync::Arc;

    use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

    use super::AeadError;

    /// An AES-256-GCM key, expanded once.
    #[derive(Clone)]
    pub(super) struct Prepared(Arc<LessSafeKey>);

    impl Prepared {
        pub(super) fn new(bytes: &[u8; 32]) -> Result<Prepared, AeadError> {
            Ok(Prepared(Arc::new(key(bytes)?)))
        }

        pub(super) fn open(
            &self,
            _bytes: &[u8],
            nonce_bytes: &[u8],
            aad: &[u8],
            sealed: Vec<u8>,
        ) -> Result<Vec<u8>, AeadError> {
            open_with(&self.0, nonce_bytes, aad, sealed)
        }
    }

    fn key(bytes: &[u8]) -> Result<LessSafeKey, AeadError> {
        let algorithm = if bytes.len() == 16 {
            &AES_128_GCM
        } else {
            &AES_256_GCM
        };
        UnboundKey::new(algorithm, bytes)
            .map(LessSafeKey::new)
            .map_err(|_| AeadError::KeyLength(bytes.len()))
    }

    fn nonce(bytes: &[u8]) -> Result<Nonce, AeadError> {
        Nonce::try_assume_unique_for_key(bytes).map_err(|_| AeadError::NonceLength(bytes.len()))
    }

    pub(super) fn open(
        key_bytes: &[u8],
        nonce_bytes: &[u8],
        aad: &[u8],
        sealed: Vec<u8>,
    ) -> Result<Vec<u8>, AeadError> {
        open_with(&key(key_bytes)?, nonce_bytes, aad, sealed)
    }

    fn open_with(
        key: &LessSafeKey,
        nonce_bytes: &[u8],
        aad: &[u8],
        mut sealed: Vec<u8>,
    ) -> Result<Vec<u8>, AeadError> {
        let len = key
            .open_in_place(nonce(nonce_bytes)?, Aad::from(aad), &mut sealed)
            .map_err(|_| AeadError::TagMismatch)?
            .len();
        sealed.truncate(len);
        Ok(sealed)
    }

    pub(super) fn seal(
        key_bytes: &[u8],
        nonce_bytes: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, AeadError> {
        let mut sealed = plaintext.to_vec();
        key(key_bytes)?
            .seal_in_place_append_tag(nonce(nonce_bytes)?, Aad::from(aad), &mut sealed)
            .map_err(|_| AeadError::TooShort)?;
        Ok(sealed)
    }
}

#[cfg(target_family = "wasm")]
mod backend {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};

    use super::AeadError;

    /// Nothing kept: RustCrypto's key schedule is cheap next to the rest in WebAssembly.
    #[derive(Clone)]
    pub(super) struct Prepared;

    impl Prepared {
        pub(super) fn new(_bytes: &[u8; 32]) -> Result<Prepared, AeadError> {
            Ok(Prepared)
        }

        pub(super) fn open(
            &self,
            bytes: &[u8],
            nonce: &[u8],
            aad: &[u8],
            sealed: Vec<u8>,
        ) -> Result<Vec<u8>, AeadError> {
            open(bytes, nonce, aad, sealed)
        }
    }

    pub(super) fn open(
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        sealed: Vec<u8>,
    ) -> Result<Vec<u8>, AeadError> {
        let payload = Payload { msg: &sealed, aad };
        let nonce = Nonce::from_slice(nonce);
        let opened = if key.len() == 16 {
            Aes128Gcm::new_from_slice(key).map(|c| c.decrypt(nonce, payload))
        } else {
            Aes256Gcm::new_from_slice(key).map(|c| c.decrypt(nonce, payload))
        };
        opened
            .map_err(|_| AeadError::KeyLength(key.len()))?
            .map_err(|_| AeadError::TagMismatch)
    }

    pub(super) fn seal(
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, AeadError> {
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let nonce = Nonce::from_slice(nonce);
        let sealed = if key.len() == 16 {
            Aes128Gcm::new_from_slice(key).map(|c| c.encrypt(nonce, payload))
        } else {
            Aes256Gcm::new_from_slice(key).map(|c| c.encrypt(nonce, payload))
        };
        sealed
            .map_err(|_| AeadError::KeyLength(key.len()))?
            .map_err(|_| AeadError::TooShort)
    }
}
