//! v2 signatures (protocol.md §2.3): MD5 or HMAC-SHA256 over `stringA&key=API_KEY`,
//! upper-case hex. Verification compares digests in constant time.

use std::fmt;
use std::str::FromStr;

use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::hash;
use crate::secret::ApiKey;
use crate::v2::params::{Params, SIGN_FIELD};

/// The field naming the sign type in requests, replies and notifies.
pub const SIGN_TYPE_FIELD: &str = "sign_type";

const KEY_SUFFIX: &[u8] = b"&key=";

/// The two v2 sign types. `MD5` is WeChat's default when a message names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignType {
    #[default]
    Md5,
    HmacSha256,
}

impl SignType {
    /// The wire name: `MD5` or `HMAC-SHA256` (also the `signType` of `wx.requestPayment`).
    pub const fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// Length of this type's signature in hex characters.
    pub const fn hex_len(self) -> usize {
        match self {
            SignType::Md5 => 32,
            SignType::HmacSha256 => 64,
        }
    }

    /// Guesses the type from a signature's length: 32 hex chars is MD5, 64 is HMAC-SHA256.
    pub fn from_sign_len(len: usize) -> Option<SignType> {
        match len {
            32 => Some(SignType::Md5),
            64 => Some(SignType::HmacSha256),
            _ => None,
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sign type must be MD5 or HMAC-SHA256")]
pub struct UnknownSignType;

impl FromStr for SignType {
    type Err = UnknownSignType;

    /// Exact wire names only: WeChat itself rejects `md5` or `HMAC_SHA256`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "MD5" => Ok(SignType::Md5),
            "HMAC-SHA256" => Ok(SignType::HmacSha256),
            _ => Err(UnknownSignType),
        }
    }
}

/// A computed signature: upper-case hex, 32 or 64 characters, held without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sign {
    hex: [u8; 64],
    len: u8,
}

impl Sign {
    fn from_digest(digest: &[u8]) -> Sign {
        let mut hex = [0u8; 64];
        let len = base16ct::upper::encode(digest, &mut hex)
            .map(<[u8]>::len)
            .unwrap_or_default();
        Sign {
            hex,
            len: u8::try_from(len).unwrap_or_default(),
        }
    }

    pub fn as_str(&self) -> &str {
        let hex = self.hex.get(..usize::from(self.len)).unwrap_or_default();
        // Only hex digits were written.
        std::str::from_utf8(hex).unwrap_or_default()
    }
}

impl fmt::Display for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sign({})", self.as_str())
    }
}

/// Why a signature did not verify. Deliberately coarse and free of the values involved:
/// the caller learns what to fix, an attacker learns nothing about the expected sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("message has no sign field")]
    MissingSign,
    #[error("sign_type must be MD5 or HMAC-SHA256")]
    UnknownSignType,
    #[error("message says sign_type {found} but {expected} was expected for it")]
    SignTypeMismatch { found: SignType, expected: SignType },
    #[error(
        "sign is not {} hex characters (32 for MD5, 64 for HMAC-SHA256)",
        .0.map_or("32 or 64".to_owned(), |t| t.hex_len().to_string())
    )]
    MalformedSign(Option<SignType>),
    /// The caller bound the type (an order's), and the sign has the other type's length.
    #[error(
        "the order is {expected} but this message is signed {found} (its sign has {} hex characters)",
        .found.hex_len()
    )]
    SignedWithOtherType { found: SignType, expected: SignType },
    #[error("signature does not match ({0}); check the API key and that every field is signed")]
    Mismatch(SignType),
}

/// Signs `params` (all fields except `sign`, empty values skipped) with `key`.
pub fn sign(params: &Params<'_>, key: &ApiKey, sign_type: SignType) -> Sign {
    Sign::from_digest(&digest(params, key, sign_type))
}

/// Digest of `stringSignTemp` = `stringA&key=API_KEY`, built in one exactly-sized buffer
/// (the only allocation of a sign). The HMAC message still ends in `&key=...`.
fn digest(params: &Params<'_>, key: &ApiKey, sign_type: SignType) -> DigestBytes {
    let mut message = Vec::with_capacity(params.canonical_len() + KEY_SUFFIX.len() + 32);
    params.write_canonical(&mut message);
    message.extend_from_slice(KEY_SUFFIX);
    let key_at = message.len();
    message.extend_from_slice(key.bytes());
    let digest = match sign_type {
        SignType::Md5 => DigestBytes::Md5(hash::md5(&message)),
        SignType::HmacSha256 => DigestBytes::Sha256(hash::hmac_sha256(key.bytes(), &message)),
    };
    // Wipe the copy of the key; the rest of the message is not secret.
    if let Some(copy) = message.get_mut(key_at..) {
        copy.zeroize();
    }
    digest
}

enum DigestBytes {
    Md5([u8; 16]),
    Sha256([u8; 32]),
}

impl std::ops::Deref for DigestBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            DigestBytes::Md5(b) => b,
            DigestBytes::Sha256(b) => b,
        }
    }
}

/// Sets `sign_type` (so the type is part of what is signed, as WeChat requires for
/// HMAC-SHA256) and then `sign`. Use for requests to WeChat.
pub fn sign_in_place(params: &mut Params<'_>, key: &ApiKey, sign_type: SignType) -> Sign {
    params.insert(SIGN_TYPE_FIELD, sign_type.as_str());
    let signature = sign(params, key, sign_type);
    params.insert(SIGN_FIELD, signature.as_str().to_owned());
    signature
}

/// Decides which type a received message is signed with.
///
/// - `expected` is what the caller knows independently (e.g. the type the order was
///   created with). When given it is binding: a message claiming another type is refused.
/// - Otherwise the message's own `sign_type` field, else the sign's length (32 / 64).
pub fn resolve_sign_type(
    params: &Params<'_>,
    expected: Option<SignType>,
) -> Result<SignType, VerifyError> {
    let claimed = match params.get(SIGN_TYPE_FIELD) {
        None | Some("") => None,
        Some(name) => Some(
            name.parse::<SignType>()
                .map_err(|_| VerifyError::UnknownSignType)?,
        ),
    };
    match (claimed, expected) {
        (Some(found), Some(expected)) if found != expected => {
            Err(VerifyError::SignTypeMismatch { found, expected })
        }
        (Some(t), _) | (None, Some(t)) => Ok(t),
        (None, None) => {
            let len = params.get(SIGN_FIELD).map_or(0, str::len);
            SignType::from_sign_len(len).ok_or(VerifyError::MalformedSign(None))
        }
    }
}

/// Verifies the `sign` of a received message over all its other fields, unknown ones
/// included. Upper- or lower-case hex is accepted; digests compare in constant time.
/// Returns the sign type that verified.
pub fn verify(
    params: &Params<'_>,
    key: &ApiKey,
    expected: Option<SignType>,
) -> Result<SignType, VerifyError> {
    let received = match params.get(SIGN_FIELD) {
        None | Some("") => return Err(VerifyError::MissingSign),
        Some(s) => s,
    };
    let sign_type = resolve_sign_type(params, expected)?;
    if received.len() != sign_type.hex_len() {
        let other = SignType::from_sign_len(received.len()).filter(|_| expected.is_some());
        return Err(match other {
            Some(found) => VerifyError::SignedWithOtherType {
                found,
                expected: sign_type,
            },
            None => VerifyError::MalformedSign(Some(sign_type)),
        });
    }
    let mut received_bytes = [0u8; 32];
    let received_bytes = base16ct::mixed::decode(received, &mut received_bytes)
        .map_err(|_| VerifyError::MalformedSign(Some(sign_type)))?;

    let computed = digest(params, key, sign_type);

    if bool::from(computed.ct_eq(received_bytes)) {
        Ok(sign_type)
    } else {
        Err(VerifyError::Mismatch(sign_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn official() -> Params<'static> {
        [
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ]
        .into_iter()
        .collect()
    }

    fn key() -> ApiKey {
        ApiKey::new(KEY).unwrap()
    }

    #[test]
    fn a_sign_of_the_other_type_says_so_when_the_type_is_bound() {
        let mut params = official();
        params.insert(
            "sign",
            sign(&official(), &key(), SignType::Md5).as_str().to_owned(),
        );
        let error = verify(&params, &key(), Some(SignType::HmacSha256)).unwrap_err();
        assert_eq!(
            error,
            VerifyError::SignedWithOtherType {
                found: SignType::Md5,
                expected: SignType::HmacSha256
            }
        );
        assert_eq!(
            error.to_string(),
            "the order is HMAC-SHA256 but this message is signed MD5 (its sign has 32 hex characters)"
        );
        // Unbound, the length decides the type and the MD5 sign verifies.
        assert_eq!(verify(&params, &key(), None), Ok(SignType::Md5));
        params.insert("sign", "ABC".to_owned());
        assert_eq!(
            verify(&params, &key(), Some(SignType::HmacSha256)),
            Err(VerifyError::MalformedSign(Some(SignType::HmacSha256)))
        );
    }

    #[test]
    fn signs_the_official_example_both_ways() {
        assert_eq!(
            sign(&official(), &key(), SignType::Md5).as_str(),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            sign(&official(), &key(), SignType::HmacSha256).as_str(),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    #[test]
    fn verify_infers_type_from_length_and_accepts_lower_case() {
        let mut params = official();
        params.insert("sign", "9a0a8659f005d6984697e2ca0a9cf3b7");
        assert_eq!(verify(&params, &key(), None), Ok(SignType::Md5));
        params.insert(
            "sign",
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6",
        );
        assert_eq!(verify(&params, &key(), None), Ok(SignType::HmacSha256));
    }

    #[test]
    fn expected_type_is_binding() {
        let mut params = official();
        params.insert("sign", "9A0A8659F005D6984697E2CA0A9CF3B7");
        // An MD5 sign on a message whose order says HMAC-SHA256 does not verify.
        assert_eq!(
            verify(&params, &key(), Some(SignType::HmacSha256)),
            Err(VerifyError::SignedWithOtherType {
                found: SignType::Md5,
                expected: SignType::HmacSha256
            })
        );
        params.insert("sign_type", "MD5");
        assert_eq!(
            verify(&params, &key(), Some(SignType::HmacSha256)),
            Err(VerifyError::SignTypeMismatch {
                found: SignType::Md5,
                expected: SignType::HmacSha256
            })
        );
    }

    #[test]
    fn rejects_missing_malformed_and_wrong_signs() {
        let mut params = official();
        assert_eq!(verify(&params, &key(), None), Err(VerifyError::MissingSign));
        params.insert("sign", "ABC");
        assert_eq!(
            verify(&params, &key(), None),
            Err(VerifyError::MalformedSign(None))
        );
        params.insert("sign", "ZZ0A8659F005D6984697E2CA0A9CF3B7");
        assert_eq!(
            verify(&params, &key(), None),
            Err(VerifyError::MalformedSign(Some(SignType::Md5)))
        );
        params.insert("sign", "9A0A8659F005D6984697E2CA0A9CF3B8");
        assert_eq!(
            verify(&params, &key(), None),
            Err(VerifyError::Mismatch(SignType::Md5))
        );
        params.insert("sign_type", "md5");
        assert_eq!(
            verify(&params, &key(), None),
            Err(VerifyError::UnknownSignType)
        );
    }

    #[test]
    fn sign_in_place_signs_the_sign_type_too() {
        let mut params = official();
        let signature = sign_in_place(&mut params, &key(), SignType::HmacSha256);
        assert_eq!(params.get("sign_type"), Some("HMAC-SHA256"));
        assert_eq!(params.get("sign"), Some(signature.as_str()));
        assert_eq!(verify(&params, &key(), None), Ok(SignType::HmacSha256));
        assert_ne!(
            signature,
            sign(&official(), &key(), SignType::HmacSha256),
            "sign_type must be part of the signed set"
        );
    }

    #[test]
    fn error_messages_never_carry_signs() {
        let err = VerifyError::Mismatch(SignType::Md5).to_string();
        assert!(err.contains("does not match"));
        assert!(!err.contains("9A0A"));
    }
}
