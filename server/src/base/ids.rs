//! Order numbers, bearer tokens and nonces, from the OS-seeded thread RNG.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";

fn draw(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            char::from(
                alphabet
                    .get(rng.random_range(0..alphabet.len()))
                    .copied()
                    .unwrap_or(b'0'),
            )
        })
        .collect()
}

/// `yyyyMMddHHmmss` (Beijing) + 12 random digits: 26 characters, digits only, so it is a
/// valid `out_trade_no` and sorts by creation time.
pub(crate) fn order_no(now_ms: i64) -> String {
    format!(
        "{}{}",
        crate::base::clock::beijing_compact(now_ms),
        draw(DIGITS, 12)
    )
}

/// `R` + an order-number-shaped id: a valid `out_refund_no` (27 characters) for v2 and v3.
pub(crate) fn refund_no(now_ms: i64) -> String {
    format!("R{}", order_no(now_ms))
}

/// A bearer token: 32 random bytes, base64url.
pub(crate) fn token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps instead of the token.
pub(crate) fn token_hash(token: &str) -> String {
    base16ct::lower::encode_string(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn nonce() -> String {
    draw(ALNUM, 32)
}

/// A short stable fingerprint of a request body (for idempotency keys).
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(&Sha256::digest(bytes))
}

/// Whether `text` could be one of our ids (an order or refund number, an event id): 1 to
/// 64 ASCII letters, digits, `_` or `-`. Anything else is known absent without asking
/// the database, which would refuse some of it (PostgreSQL text holds no NUL) as an
/// error instead of a "no such row".
pub(crate) fn plausible_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An event's id (`webhook-id`): `evt_` + 24 random letters and digits.
pub(crate) fn event_id() -> String {
    format!("evt_{}", draw(ALNUM, 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let no = order_no(0);
        assert_eq!(no.len(), 26);
        assert!(no.starts_with("19700101080000"));
        assert!(no.bytes().all(|b| b.is_ascii_digit()));
        let t = token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, token());
        assert_eq!(token_hash("a"), token_hash("a"));
        assert_eq!(token_hash("a").len(), 64);
        assert_eq!(nonce().len(), 32);
    }
}
