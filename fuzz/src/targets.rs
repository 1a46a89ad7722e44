//! The fuzz targets: each takes arbitrary bytes and must not panic; where a property
//! holds for every input, the target asserts it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use wxpay_core::miniprogram::decrypt_user_data;
use wxpay_core::v2::notify::verify_pay_notify;
use wxpay_core::v2::refund::decrypt_refund_info;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, xml};
use wxpay_core::{ApiKey, SessionKey};

const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

type Target = fn(&[u8]);

pub const TARGETS: &[(&str, Target)] = &[
    ("xml", xml_round_trip),
    ("canonical", canonical),
    ("notify", notify),
    ("refund", refund),
    ("userdata", userdata),
];

/// Whatever parses, encodes, and parses back to the same fields.
fn xml_round_trip(input: &[u8]) {
    if let Ok(params) = xml::parse(input) {
        let encoded = xml::to_xml(&params).expect("parsed fields always encode");
        let again = xml::parse(encoded.as_bytes()).expect("encoded XML always parses");
        assert_eq!(again, params, "XML round trip changed the fields");
    }
}

/// Pairs split on NUL: the canonical string is what it claims, and a signed set verifies.
fn canonical(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let parts: Vec<&str> = text.split('\0').collect();
    let mut params: Params = parts
        .chunks(2)
        .filter_map(|c| Some((c.first()?.to_string(), c.get(1)?.to_string())))
        .collect();
    let canonical = params.canonical_string();
    assert_eq!(
        canonical.len(),
        params
            .signed_fields()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>()
            .saturating_sub(1)
    );
    let key = ApiKey::new(KEY).unwrap();
    for sign_type in [SignType::Md5, SignType::HmacSha256] {
        params.remove("sign");
        params.remove("sign_type");
        sign::sign_in_place(&mut params, &key, sign_type);
        assert_eq!(
            sign::verify(&params, &key, Some(sign_type)),
            Ok(sign_type),
            "a signed set must verify"
        );
    }
}

fn notify(input: &[u8]) {
    let key = ApiKey::new(KEY).unwrap();
    for expected in [None, Some(SignType::Md5), Some(SignType::HmacSha256)] {
        let _ = verify_pay_notify(input, &key, expected);
    }
}

fn refund(input: &[u8]) {
    let key = ApiKey::new(KEY).unwrap();
    let _ = decrypt_refund_info(&String::from_utf8_lossy(input), &key);
    // Also as raw ciphertext, so the decryption and <root> parsing see garbage.
    let _ = decrypt_refund_info(&BASE64.encode(input), &key);
}

fn userdata(input: &[u8]) {
    let key = SessionKey::from_bytes([7; 16]);
    let iv = BASE64.encode([0u8; 16]);
    let _ = decrypt_user_data(&String::from_utf8_lossy(input), &key, &iv, "wx");
    let _ = decrypt_user_data(&BASE64.encode(input), &key, &iv, "wx");
}
