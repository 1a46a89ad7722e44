//! Property tests: canonicalisation ignores insertion order, XML round-trips any field
//! set the encoder accepts, and no byte string makes a parser or verifier panic.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use wxpay_core::miniprogram::decrypt_user_data;
use wxpay_core::v2::notify::verify_pay_notify;
use wxpay_core::v2::refund::decrypt_refund_info;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, xml};
use wxpay_core::{ApiKey, SessionKey};

fn key() -> ApiKey {
    ApiKey::new("192006250b4c09247ec02edce69f6a2d").unwrap()
}

fn field_name() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,15}"
}

/// Values as WeChat carries them: any text XML 1.0 can hold, Chinese and `]]>` included.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,6}",
        "[\\PC]{0,24}",
        Just("x]]>y".to_owned()),
        Just("腾讯充值中心-QQ会员充值".to_owned()),
        "[\\t\\n\\r a-z<>&'\"]{0,12}",
    ]
}

fn field_set() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(field_name(), field_value(), 0..20)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn key_order_does_not_matter(fields in field_set(), seed in any::<u64>()) {
        let forward: Params = fields.iter().cloned().collect();
        let mut shuffled = fields.clone();
        // A cheap deterministic shuffle driven by the seed.
        let n = shuffled.len().max(1);
        for i in 0..shuffled.len() {
            shuffled.swap(i, (seed as usize).wrapping_mul(i + 7) % n);
        }
        shuffled.reverse();
        let backward: Params = shuffled.into_iter().collect();
        prop_assert_eq!(forward.canonical_string(), backward.canonical_string());
        for t in [SignType::Md5, SignType::HmacSha256] {
            prop_assert_eq!(sign::sign(&forward, &key(), t), sign::sign(&backward, &key(), t));
        }
    }

    #[test]
    fn xml_round_trips(fields in field_set()) {
        let params: Params = fields.into_iter().collect();
        let encoded = xml::to_xml(&params).unwrap();
        let decoded = xml::parse(encoded.as_bytes()).unwrap();
        prop_assert_eq!(decoded, params);
    }

    #[test]
    fn signed_xml_round_trips_and_verifies(fields in field_set()) {
        let mut params: Params = fields.into_iter().collect();
        params.remove("sign");
        params.remove("sign_type");
        sign::sign_in_place(&mut params, &key(), SignType::HmacSha256);
        let encoded = xml::to_xml(&params).unwrap();
        let decoded = xml::parse(encoded.as_bytes()).unwrap();
        prop_assert_eq!(sign::verify(&decoded, &key(), None), Ok(SignType::HmacSha256));
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = xml::parse(&bytes);
        let _ = verify_pay_notify(&bytes, &key(), None);
    }

    #[test]
    fn parsing_xml_like_input_never_panics(body in "(<|>|/|xml|a|!|\\[|CDATA|\\]|&|;|#|x|[0-9]|\"|=| |\\?|-|DOCTYPE){0,64}") {
        let _ = xml::parse(body.as_bytes());
        let _ = verify_pay_notify(body.as_bytes(), &key(), Some(SignType::Md5));
    }

    #[test]
    fn decrypting_arbitrary_input_never_panics(data in "[A-Za-z0-9+/=]{0,96}", iv in "[A-Za-z0-9+/=]{0,32}") {
        let session_key = SessionKey::from_bytes([1; 16]);
        let _ = decrypt_user_data(&data, &session_key, &iv, "wx");
        let _ = decrypt_refund_info(&data, &key());
    }
}
