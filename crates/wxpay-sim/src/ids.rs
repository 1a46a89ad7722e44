//! Identifiers shaped like WeChat's, drawn from the simulator's seeded RNG.

use rand::Rng;
use rand::rngs::StdRng;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const OPENID: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

fn draw(rng: &mut StdRng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| {
            let at = rng.random_range(0..alphabet.len());
            char::from(alphabet.get(at).copied().unwrap_or(b'0'))
        })
        .collect()
}

/// A `wx.login` code: 32 characters, single use.
pub(crate) fn login_code(rng: &mut StdRng) -> String {
    draw(rng, ALNUM, 32)
}

/// An openid / unionid: `o` + 27 characters (28, as WeChat's usually are).
pub(crate) fn openid(rng: &mut StdRng) -> String {
    format!("o{}", draw(rng, OPENID, 27))
}

pub(crate) fn nonce(rng: &mut StdRng) -> String {
    draw(rng, ALNUM, 32)
}

/// `wx` + Beijing time `yyyyMMddHHmmss` + 22 hex characters, like WeChat's prepay ids.
pub(crate) fn prepay_id(rng: &mut StdRng, beijing_compact: &str) -> String {
    format!("wx{beijing_compact}{}", draw(rng, HEX, 22))
}

/// 28 digits starting `4200`, like WeChat Pay transaction ids.
pub(crate) fn transaction_id(rng: &mut StdRng) -> String {
    format!("4200{}", draw(rng, DIGITS, 24))
}

/// 29 digits starting `503`, like WeChat Pay refund ids.
pub(crate) fn refund_id(rng: &mut StdRng) -> String {
    format!("503{}", draw(rng, DIGITS, 26))
}

/// A request id for `errmsg` suffixes (`rid: ...`).
pub(crate) fn rid(rng: &mut StdRng) -> String {
    draw(rng, HEX, 24)
}

/// A `Request-ID` header value, as v3 replies carry for support tickets.
pub(crate) fn request_id(rng: &mut StdRng) -> String {
    draw(rng, HEX, 40).to_ascii_uppercase()
}

/// A notify's `id`, shaped like the UUIDs of WeChat's newer notifies.
pub(crate) fn event_id(rng: &mut StdRng) -> String {
    let hex = draw(rng, HEX, 32);
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// The 12-character nonce of an AES-GCM resource.
pub(crate) fn resource_nonce(rng: &mut StdRng) -> String {
    draw(rng, ALNUM, 12)
}

pub(crate) fn session_key_bytes(rng: &mut StdRng) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn ids_have_wechat_shapes_and_follow_the_seed() {
        let mut a = StdRng::seed_from_u64(1);
        let mut b = StdRng::seed_from_u64(1);
        let id = openid(&mut a);
        assert_eq!(id, openid(&mut b));
        assert_eq!(id.len(), 28);
        assert!(id.starts_with('o'));
        let prepay = prepay_id(&mut a, "20261127120000");
        assert_eq!(prepay.len(), 38);
        assert!(prepay.starts_with("wx20261127120000"));
        let tx = transaction_id(&mut a);
        assert_eq!(tx.len(), 28);
        assert!(tx.bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(login_code(&mut a).len(), 32);
    }
}
