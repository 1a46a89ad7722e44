//! Secret key types. They never print their value (`Debug` shows `***`, there is no
//! `Display`), are wiped from memory on drop, and refuse malformed input up front so a
//! mistyped key fails at start-up instead of as a mysterious signature error later.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::{Zeroize, Zeroizing};

/// Why a key was refused. Never carries the key itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("API key must be exactly 32 characters, got {0}")]
    WrongLength(usize),
    #[error(
        "API key must be printable ASCII without spaces (the 32-character key set in the merchant platform)"
    )]
    NotAscii,
    #[error("session_key must be base64 of 16 bytes (24 characters)")]
    BadSessionKey,
}

/// The WeChat Pay v2 API key (商户平台 API 密钥): 32 printable ASCII characters.
/// It is both the `&key=` suffix of `stringSignTemp` and the HMAC-SHA256 key.
#[derive(Clone)]
pub struct ApiKey(Zeroizing<[u8; 32]>);

impl ApiKey {
    pub fn new(key: &str) -> Result<ApiKey, KeyError> {
        let bytes = key.as_bytes();
        // Check the characters before the length: a key pasted with a trailing newline
        // should be reported as "not ASCII", which names the actual mistake.
        if !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::NotAscii);
        }
        let array: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::WrongLength(key.chars().count()))?;
        Ok(ApiKey(Zeroizing::new(array)))
    }

    /// The key bytes, for the signing code in this crate only.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// A Mini Program `session_key` from code2session: base64 of 16 bytes.
///
/// WeChat uses it two ways: decoded (the AES-128 key for `encryptedData`) and as its base64
/// text (the key of the login-state HMAC and the suffix of the rawData SHA1), so both forms
/// are kept. It must never leave the server.
#[derive(Clone)]
pub struct SessionKey {
    text: Zeroizing<String>,
    bytes: Zeroizing<[u8; 16]>,
}

impl SessionKey {
    pub fn from_base64(text: &str) -> Result<SessionKey, KeyError> {
        let mut decoded = Zeroizing::new(
            BASE64
                .decode(text.as_bytes())
                .map_err(|_| KeyError::BadSessionKey)?,
        );
        let bytes: [u8; 16] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::BadSessionKey)?;
        decoded.zeroize();
        Ok(SessionKey {
            text: Zeroizing::new(text.to_owned()),
            bytes: Zeroizing::new(bytes),
        })
    }

    /// Makes a session key from 16 raw bytes (the simulator issues keys this way).
    pub fn from_bytes(bytes: [u8; 16]) -> SessionKey {
        SessionKey {
            text: Zeroizing::new(BASE64.encode(bytes)),
            bytes: Zeroizing::new(bytes),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn bytes(&self) -> &[u8; 16] {
        &self.bytes
    }

    /// The base64 text, for storing server-side (encrypted at rest is the caller's choice)
    /// or for the simulator's code2session reply. Named loudly on purpose.
    pub fn expose_base64(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_accepts_32_printable_ascii() {
        assert!(ApiKey::new("192006250b4c09247ec02edce69f6a2d").is_ok());
        assert!(ApiKey::new("qazwsxedcrfvtgbyhnujmikolp111111").is_ok());
    }

    #[test]
    fn api_key_refuses_everything_else() {
        assert_eq!(ApiKey::new("short").unwrap_err(), KeyError::WrongLength(5));
        assert_eq!(
            ApiKey::new("192006250b4c09247ec02edce69f6a2d0").unwrap_err(),
            KeyError::WrongLength(33)
        );
        assert_eq!(
            ApiKey::new("192006250b4c09247ec02edce69f6a2\n").unwrap_err(),
            KeyError::NotAscii
        );
        assert_eq!(
            ApiKey::new("192006250b4c09247ec02edce69f6a 2").unwrap_err(),
            KeyError::NotAscii
        );
        assert_eq!(
            ApiKey::new("密钥密钥密钥密钥密钥密钥密钥密钥密钥密钥密").unwrap_err(),
            KeyError::NotAscii
        );
    }

    #[test]
    fn keys_never_print() {
        let key = ApiKey::new("192006250b4c09247ec02edce69f6a2d").unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        let session = SessionKey::from_base64("tiihtNczf5v6AKRyjwEUhQ==").unwrap();
        let shown = format!("{session:?}");
        assert_eq!(shown, "SessionKey(***)");
        assert!(!shown.contains("tiih"));
    }

    #[test]
    fn session_key_must_be_16_bytes_of_base64() {
        assert!(SessionKey::from_base64("tiihtNczf5v6AKRyjwEUhQ==").is_ok());
        assert_eq!(
            SessionKey::from_base64("dGVzdA==").unwrap_err(),
            KeyError::BadSessionKey
        );
        assert_eq!(
            SessionKey::from_base64("not base64!").unwrap_err(),
            KeyError::BadSessionKey
        );
        let made = SessionKey::from_bytes([7; 16]);
        let round = SessionKey::from_base64(made.expose_base64()).unwrap();
        assert_eq!(round.bytes(), &[7; 16]);
    }
}
