//! The two digests the signing code needs, with the one fallible constructor handled once.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

pub(crate) fn md5(message: &[u8]) -> [u8; 16] {
    Md5::digest(message).into()
}

/// HMAC-SHA256. HMAC accepts keys of any length, so `new_from_slice` cannot fail; the
/// all-zero fallback exists only so no `expect` sits on an input path, and it can never
/// equal a real MAC that a caller would compare against.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}
