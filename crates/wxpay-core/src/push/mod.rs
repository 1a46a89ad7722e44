//! The Mini Program message push (消息推送) crypto: the URL check's `signature`, the
//! encrypted messages' `msg_signature`, and the `Encrypt` field itself (WeChat's
//! WXBizMsgCrypt scheme, also used for the order-shipping service's events).
//!
//! - `signature` = lower-hex SHA1 of the sorted, concatenated `[token, timestamp, nonce]`;
//!   `msg_signature` the same over `[token, timestamp, nonce, Encrypt]`. Compared in
//!   constant time.
//! - `Encrypt` = base64 of AES-256-CBC, the key being the EncodingAESKey (43 characters)
//!   base64-decoded with `=` appended, the IV its first 16 bytes, PKCS#7 padded to
//!   **32-byte** blocks (not AES's 16). The plaintext is 16 random bytes, the message
//!   length as 4 big-endian bytes, the message, then the appid, which must be ours.
//!
//! Tested against wechatpy's implementation (`tests/push_crypto.rs` holds vectors it made).

use std::fmt;

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cipher::block_padding::NoPadding;
use cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

#[cfg(feature = "json")]
pub mod message;

/// The EncodingAESKey's decoding: WeChat makes the 43 characters at random, so the last
/// one's low bits are often set, which strict base64 refuses (its SDKs ignore them).
const KEY_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// WeChat pads to this, not to AES's 16-byte block.
const PAD_BLOCK: usize = 32;

/// Why a push could not be trusted or opened. Never carries the key or the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error(
        "EncodingAESKey must be the 43 characters of the mini program's message push \
         settings (base64 of 32 bytes without its '='), got {0} characters"
    )]
    KeyLength(usize),
    #[error("EncodingAESKey is not base64 (its 43 characters are A-Z, a-z, 0-9, + and /)")]
    KeyNotBase64,
    #[error("the signature does not match: another Token, or the message was changed")]
    Signature,
    #[error("Encrypt is not base64")]
    Base64,
    #[error("Encrypt is not a non-empty multiple of 32 bytes")]
    CiphertextLength,
    #[error("Encrypt did not decrypt (padding check failed): another EncodingAESKey?")]
    Padding,
    #[error("the decrypted message's length field is impossible")]
    Length,
    #[error("the message is not UTF-8")]
    NotUtf8,
    #[error("the message is for appid {found:?}, not this mini program")]
    AppidMismatch { found: String },
    #[error("the push body could not be read: {0}")]
    Malformed(String),
}

/// The EncodingAESKey, decoded: the AES-256 key (its first 16 bytes are the IV). Never
/// prints.
#[derive(Clone)]
pub struct PushKey(Zeroizing<[u8; 32]>);

impl PushKey {
    /// From the 43-character EncodingAESKey of the mini program's settings.
    pub fn from_encoding_aes_key(encoding_aes_key: &str) -> Result<PushKey, PushError> {
        let text = encoding_aes_key.trim();
        if text.len() != 43 {
            return Err(PushError::KeyLength(text.chars().count()));
        }
        let mut padded = Zeroizing::new(String::with_capacity(44));
        padded.push_str(text);
        padded.push('=');
        let bytes = Zeroizing::new(
            KEY_BASE64
                .decode(padded.as_bytes())
                .map_err(|_| PushError::KeyNotBase64)?,
        );
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| PushError::KeyNotBase64)?;
        Ok(PushKey(Zeroizing::new(key)))
    }

    fn iv(&self) -> [u8; 16] {
        let (iv, _) = self.0.split_first_chunk::<16>().unwrap_or((&[0; 16], &[]));
        *iv
    }
}

impl fmt::Debug for PushKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushKey(***)")
    }
}

/// Lower-hex SHA1 of the parts, sorted and concatenated.
fn sorted_sha1(parts: &mut [&str]) -> String {
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for part in parts.iter() {
        hasher.update(part.as_bytes());
    }
    base16ct::lower::encode_string(&hasher.finalize())
}

fn hex_eq(expected_lower: &str, received: &str) -> bool {
    let received = received.trim().to_ascii_lowercase();
    expected_lower.len() == received.len()
        && bool::from(expected_lower.as_bytes().ct_eq(received.as_bytes()))
}

/// The `signature` of the URL check (and of plain-mode pushes).
pub fn url_signature(token: &str, timestamp: &str, nonce: &str) -> String {
    sorted_sha1(&mut [token, timestamp, nonce])
}

/// Whether `signature` is the URL check's for this Token (constant time).
pub fn verify_url_signature(token: &str, timestamp: &str, nonce: &str, signature: &str) -> bool {
    hex_eq(&url_signature(token, timestamp, nonce), signature)
}

/// The `msg_signature` of an encrypted push.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    sorted_sha1(&mut [token, timestamp, nonce, encrypt])
}

/// Whether `signature` is the `msg_signature` of this `Encrypt` (constant time).
pub fn verify_msg_signature(
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
    signature: &str,
) -> bool {
    hex_eq(&msg_signature(token, timestamp, nonce, encrypt), signature)
}

/// Encrypts `message` for `appid` with the 16 `random` bytes WeChat puts first: the
/// `Encrypt` field (base64).
pub fn encrypt(key: &PushKey, message: &str, appid: &str, random: &[u8; 16]) -> String {
    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
    let mut plain = Zeroizing::new(Vec::with_capacity(20 + message.len() + appid.len() + 32));
    plain.extend_from_slice(random);
    plain.extend_from_slice(&length.to_be_bytes());
    plain.extend_from_slice(message.as_bytes());
    plain.extend_from_slice(appid.as_bytes());
    let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let length = plain.len();
    let ciphertext = cbc::Encryptor::<Aes256>::new((&*key.0).into(), &key.iv().into())
        .encrypt_padded_mut::<NoPadding>(&mut plain, length)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    BASE64.encode(ciphertext)
}

/// Decrypts an `Encrypt` field and requires it to be for `expected_appid`: the message.
pub fn decrypt(key: &PushKey, encrypt: &str, expected_appid: &str) -> Result<String, PushError> {
    let mut buffer = Zeroizing::new(
        BASE64
            .decode(encrypt.trim().as_bytes())
            .map_err(|_| PushError::Base64)?,
    );
    if buffer.is_empty() || buffer.len() % PAD_BLOCK != 0 {
        return Err(PushError::CiphertextLength);
    }
    let plain = cbc::Decryptor::<Aes256>::new((&*key.0).into(), &key.iv().into())
        .decrypt_padded_mut::<NoPadding>(&mut buffer)
        .map_err(|_| PushError::CiphertextLength)?;
    let pad = usize::from(*plain.last().ok_or(PushError::Padding)?);
    if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() {
        return Err(PushError::Padding);
    }
    let (content, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(PushError::Padding);
    }
    let body = content.get(16..).ok_or(PushError::Length)?;
    let (length, rest) = body.split_first_chunk::<4>().ok_or(PushError::Length)?;
    let length = usize::try_from(u32::from_be_bytes(*length)).map_err(|_| PushError::Length)?;
    let (message, appid) = rest.split_at_checked(length).ok_or(PushError::Length)?;
    let appid = std::str::from_utf8(appid).map_err(|_| PushError::NotUtf8)?;
    if appid != expected_appid {
        return Err(PushError::AppidMismatch {
            found: appid.chars().take(64).collect(),
        });
    }
    String::from_utf8(message.to_vec()).map_err(|_| PushError::NotUtf8)
}

/// An encrypted push checked and opened: its `msg_signature`, then its `Encrypt`, then
/// the appid. A forged or changed push is refused before anything is decrypted.
pub fn open(
    token: &str,
    key: &PushKey,
    appid: &str,
    timestamp: &str,
    nonce: &str,
    encrypt: &str,
    signature: &str,
) -> Result<String, PushError> {
    if !verify_msg_signature(token, timestamp, nonce, encrypt, signature) {
        return Err(PushError::Signature);
    }
    decrypt(key, encrypt, appid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn round_trips_at_every_padding_length() {
        let key = PushKey::from_encoding_aes_key(KEY).unwrap();
        for n in 0..70 {
            let message = "x".repeat(n);
            let encrypted = encrypt(&key, &message, "wx1234567890abcdef", &[7; 16]);
            assert_eq!(
                decrypt(&key, &encrypted, "wx1234567890abcdef").unwrap(),
                message
            );
            assert_eq!(
                decrypt(&key, &encrypted, "wxother").unwrap_err(),
                PushError::AppidMismatch {
                    found: "wx1234567890abcdef".into()
                }
            );
        }
    }

    #[test]
    fn keys_of_the_wrong_shape_are_refused_without_echoing_them() {
        assert_eq!(
            PushKey::from_encoding_aes_key("short").unwrap_err(),
            PushError::KeyLength(5)
        );
        let bad = format!("{}!", &KEY[..42]);
        assert_eq!(
            PushKey::from_encoding_aes_key(&bad).unwrap_err(),
            PushError::KeyNotBase64
        );
        let key = PushKey::from_encoding_aes_key(KEY).unwrap();
        assert_eq!(format!("{key:?}"), "PushKey(***)");
    }

    #[test]
    fn tampering_and_garbage_are_errors_not_panics() {
        let key = PushKey::from_encoding_aes_key(KEY).unwrap();
        let encrypted = encrypt(&key, "<xml>hi</xml>", "wxa", &[1; 16]);
        let signature = msg_signature("tk", "1", "n", &encrypted);
        assert_eq!(
            open("tk", &key, "wxa", "1", "n", &encrypted, &signature).unwrap(),
            "<xml>hi</xml>"
        );
        // CBC alone is malleable: the msg_signature over Encrypt is what refuses a change.
        let mut bytes = BASE64.decode(&encrypted).unwrap();
        for at in 0..bytes.len() {
            bytes[at] ^= 0x41;
            let tampered = BASE64.encode(&bytes);
            let _ = decrypt(&key, &tampered, "wxa");
            assert_eq!(
                open("tk", &key, "wxa", "1", "n", &tampered, &signature).unwrap_err(),
                PushError::Signature,
                "flip at {at}"
            );
            bytes[at] ^= 0x41;
        }
        for garbage in [
            "",
            "!!",
            "AAAA",
            &BASE64.encode([0u8; 31]),
            &BASE64.encode([0u8; 64]),
        ] {
            assert!(decrypt(&key, garbage, "wxa").is_err(), "{garbage}");
        }
        let other = PushKey::from_encoding_aes_key(&KEY.replace('a', "b")).unwrap();
        assert!(decrypt(&other, &encrypted, "wxa").is_err());
    }

    #[test]
    fn signatures_sort_their_parts_and_compare_exactly() {
        let signature = url_signature("token", "1700000000", "nonce");
        assert_eq!(signature, url_signature("token", "1700000000", "nonce"));
        assert!(verify_url_signature(
            "token",
            "1700000000",
            "nonce",
            &signature.to_ascii_uppercase()
        ));
        assert!(!verify_url_signature(
            "token",
            "1700000001",
            "nonce",
            &signature
        ));
        assert!(!verify_url_signature(
            "other",
            "1700000000",
            "nonce",
            &signature
        ));
        let ms = msg_signature("token", "1", "n", "ENC");
        assert!(verify_msg_signature("token", "1", "n", "ENC", &ms));
        assert!(!verify_msg_signature("token", "1", "n", "ENC2", &ms));
        assert!(!verify_msg_signature("token", "1", "n", "ENC", ""));
    }
}
