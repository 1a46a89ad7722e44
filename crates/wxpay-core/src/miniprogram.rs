//! Mini Program crypto (protocol.md §1.2-1.4): `encryptedData` decryption with the
//! watermark check, the rawData SHA1 signature and the login-state HMAC signature.

use aes::Aes128;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cipher::block_padding::Pkcs7;
use cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use serde::Deserialize;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::hash;
use crate::secret::SessionKey;

/// Why `encryptedData` could not be opened or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserDataError {
    #[error("{0} is not valid base64")]
    Base64(&'static str),
    #[error("iv must be base64 of 16 bytes")]
    IvLength,
    #[error("encryptedData is not a non-empty multiple of 16 bytes")]
    CiphertextLength,
    #[error(
        "encryptedData did not decrypt (padding check failed); the session_key is probably stale: call wx.login again"
    )]
    Padding,
    #[error("decrypted data is not UTF-8 JSON with a watermark")]
    NotJson,
    #[error("watermark.appid is {found:?}, not this Mini Program's appid")]
    WatermarkMismatch { found: String },
}

/// `watermark` of decrypted open data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Watermark {
    pub appid: String,
    pub timestamp: i64,
}

#[cfg(feature = "json")]
#[derive(Deserialize)]
struct WithWatermark {
    watermark: Watermark,
}

/// Decrypted open data: the JSON text exactly as decrypted, and its watermark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserData {
    pub json: String,
    pub watermark: Watermark,
}

/// Decrypts `encryptedData` (AES-128-CBC, strict PKCS#7) and requires
/// `watermark.appid == expected_appid`: data decrypted for another Mini Program is refused.
#[cfg(feature = "json")]
pub fn decrypt_user_data(
    encrypted_data: &str,
    session_key: &SessionKey,
    iv: &str,
    expected_appid: &str,
) -> Result<UserData, UserDataError> {
    let data = decrypt_user_data_unchecked(encrypted_data, session_key, iv)?;
    if data.watermark.appid != expected_appid {
        return Err(UserDataError::WatermarkMismatch {
            found: data.watermark.appid.chars().take(64).collect(),
        });
    }
    Ok(data)
}

/// Decrypts without the appid check, for debugging tools that show what the data says.
/// Servers use [`decrypt_user_data`].
#[cfg(feature = "json")]
pub fn decrypt_user_data_unchecked(
    encrypted_data: &str,
    session_key: &SessionKey,
    iv: &str,
) -> Result<UserData, UserDataError> {
    let json = decrypt_user_data_text(encrypted_data, session_key, iv)?;
    let parsed: WithWatermark = serde_json::from_str(&json).map_err(|_| UserDataError::NotJson)?;
    Ok(UserData {
        json,
        watermark: parsed.watermark,
    })
}

/// Only the decryption (AES-128-CBC, strict PKCS#7) and the UTF-8 check: the JSON text,
/// watermark unchecked. For callers that parse JSON themselves (the npm package uses the
/// JavaScript engine's own parser and keeps a JSON library out of its wasm).
pub fn decrypt_user_data_text(
    encrypted_data: &str,
    session_key: &SessionKey,
    iv: &str,
) -> Result<String, UserDataError> {
    let iv: [u8; 16] = BASE64
        .decode(iv.as_bytes())
        .map_err(|_| UserDataError::Base64("iv"))?
        .try_into()
        .map_err(|_| UserDataError::IvLength)?;
    let mut buffer = Zeroizing::new(
        BASE64
            .decode(encrypted_data.as_bytes())
            .map_err(|_| UserDataError::Base64("encryptedData"))?,
    );
    if buffer.is_empty() || buffer.len() % 16 != 0 {
        return Err(UserDataError::CiphertextLength);
    }
    let plaintext = cbc::Decryptor::<Aes128>::new(session_key.bytes().into(), &iv.into())
        .decrypt_padded_mut::<Pkcs7>(&mut buffer)
        .map_err(|_| UserDataError::Padding)?;
    let json = std::str::from_utf8(plaintext).map_err(|_| UserDataError::NotJson)?;
    Ok(json.to_owned())
}

/// Encrypts open data as WeChat does (for simulators and tests). Returns base64.
pub fn encrypt_user_data(plaintext_json: &str, session_key: &SessionKey, iv: &[u8; 16]) -> String {
    let ciphertext = cbc::Encryptor::<Aes128>::new(session_key.bytes().into(), iv.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext_json.as_bytes());
    BASE64.encode(ciphertext)
}

/// The signature sent next to `rawData`: lower-hex SHA1(rawData + session_key text).
pub fn raw_data_signature(raw_data: &str, session_key: &SessionKey) -> String {
    let mut sha = Sha1::new();
    sha.update(raw_data.as_bytes());
    sha.update(session_key.text().as_bytes());
    base16ct::lower::encode_string(&sha.finalize())
}

/// Checks a rawData signature in constant time. Hash the `rawData` string exactly as
/// received; re-serialized JSON will not match.
pub fn verify_raw_data(raw_data: &str, session_key: &SessionKey, signature: &str) -> bool {
    let expected = raw_data_signature(raw_data, session_key);
    hex_eq(&expected, signature)
}

/// Login-state signature: lower-hex HMAC-SHA256 keyed with the session_key *text*, over
/// the POST body (or "" for GET and `checkSessionKey`).
pub fn session_signature(session_key: &SessionKey, body: &[u8]) -> String {
    base16ct::lower::encode_string(&hash::hmac_sha256(session_key.text().as_bytes(), body))
}

/// Constant-time comparison of two hex strings, case-insensitive.
fn hex_eq(expected_lower: &str, received: &str) -> bool {
    let received = received.to_ascii_lowercase();
    expected_lower.len() == received.len()
        && bool::from(expected_lower.as_bytes().ct_eq(received.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "json")]
    #[test]
    fn round_trip_with_watermark_check() {
        let key = SessionKey::from_bytes([9; 16]);
        let iv = [3u8; 16];
        let json =
            r#"{"purePhoneNumber":"13800138000","watermark":{"appid":"wxabc","timestamp":1}}"#;
        let sealed = encrypt_user_data(json, &key, &iv);
        let iv_b64 = BASE64.encode(iv);
        let data = decrypt_user_data(&sealed, &key, &iv_b64, "wxabc").unwrap();
        assert_eq!(data.json, json);
        assert_eq!(data.watermark.timestamp, 1);
        assert_eq!(
            decrypt_user_data(&sealed, &key, &iv_b64, "wxother").unwrap_err(),
            UserDataError::WatermarkMismatch {
                found: "wxabc".into()
            }
        );
    }

    #[cfg(feature = "json")]
    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        let key = SessionKey::from_bytes([9; 16]);
        let iv = BASE64.encode([0u8; 16]);
        assert_eq!(
            decrypt_user_data("AAAA", &key, &iv, "wx").unwrap_err(),
            UserDataError::CiphertextLength
        );
        assert_eq!(
            decrypt_user_data("", &key, &iv, "wx").unwrap_err(),
            UserDataError::CiphertextLength
        );
        assert_eq!(
            decrypt_user_data("AAAA", &key, "AAAA", "wx").unwrap_err(),
            UserDataError::IvLength
        );
        assert_eq!(
            decrypt_user_data("!!", &key, &iv, "wx").unwrap_err(),
            UserDataError::Base64("encryptedData")
        );
        let no_watermark = encrypt_user_data("{}", &key, &[0; 16]);
        assert_eq!(
            decrypt_user_data(&no_watermark, &key, &iv, "wx").unwrap_err(),
            UserDataError::NotJson
        );
    }

    #[test]
    fn signatures_compare_case_insensitively_and_reject_tampering() {
        let key = SessionKey::from_base64("HyVFkGl5F5OQWJZZaNzBBg==").unwrap();
        let sig = raw_data_signature("{}", &key);
        assert!(verify_raw_data("{}", &key, &sig));
        assert!(verify_raw_data("{}", &key, &sig.to_uppercase()));
        assert!(!verify_raw_data("{ }", &key, &sig));
        assert!(!verify_raw_data("{}", &key, ""));
    }
}
