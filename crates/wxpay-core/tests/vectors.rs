//! Runs every v2 and Mini Program golden vector from `tests/vectors/vectors.json` (a copy
//! of the team's verified vectors) through the core, then checks each passing vector again
//! with flipped bytes, which must fail (the ring `hmac_tests.txt` discipline).

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::Value;
use wxpay_core::miniprogram::{
    UserDataError, decrypt_user_data, raw_data_signature, session_signature, verify_raw_data,
};
use wxpay_core::v2::notify::verify_pay_notify;
use wxpay_core::v2::refund::decrypt_refund_info;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, xml};
use wxpay_core::{ApiKey, SessionKey};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/vectors.json"
));

fn vectors() -> Vec<Value> {
    serde_json::from_str(VECTORS).unwrap()
}

fn text<'v>(v: &'v Value, field: &str) -> &'v str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {field} missing", v["name"]))
}

/// A vector's params; JSON null means "absent" (and must be skipped like an empty value).
fn params(v: &Value) -> Params<'static> {
    v["params"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, val)| val.as_str().map(|s| (k.clone(), s.to_owned())))
        .collect()
}

fn sign_type(v: &Value) -> SignType {
    v["sign_type"].as_str().unwrap_or("MD5").parse().unwrap()
}

fn key(v: &Value) -> ApiKey {
    ApiKey::new(text(v, "api_key")).unwrap()
}

/// Every byte of `bytes`, one at a time, XOR 0x01 (never just a hex-letter case change).
fn each_flip(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len()).map(move |i| {
        let mut copy = bytes.to_vec();
        copy[i] ^= 0x01;
        copy
    })
}

fn check_sign(v: &Value, expected_field: &str) {
    let params = params(v);
    let key = key(v);
    let sign_type = sign_type(v);
    let expected = text(v, expected_field);
    if let Some(a) = v["expected_string_a"].as_str() {
        assert_eq!(params.canonical_string(), a, "{}", v["name"]);
    }
    assert_eq!(sign::sign(&params, &key, sign_type).as_str(), expected);
    if let Some(md5) = v["expected_sign_if_md5"].as_str() {
        assert_eq!(sign::sign(&params, &key, SignType::Md5).as_str(), md5);
    }
    // The signed message verifies, and no single flipped byte of any value does.
    let mut signed = params.clone();
    signed.insert("sign", expected.to_owned());
    assert_eq!(sign::verify(&signed, &key, Some(sign_type)), Ok(sign_type));
    for (field, value) in params.iter() {
        if field == "sign" {
            continue;
        }
        for flipped in each_flip(value.as_bytes()) {
            let Ok(flipped) = String::from_utf8(flipped) else {
                continue; // not representable as a field value
            };
            let mut tampered = signed.clone();
            tampered.insert(field.to_owned(), flipped);
            assert!(
                sign::verify(&tampered, &key, Some(sign_type)).is_err(),
                "{}: flipped {field} still verifies",
                v["name"]
            );
        }
    }
    for flipped in each_flip(expected.as_bytes()) {
        let mut tampered = signed.clone();
        tampered.insert("sign", String::from_utf8(flipped).unwrap());
        assert!(sign::verify(&tampered, &key, Some(sign_type)).is_err());
    }
}

fn check_request(v: &Value) {
    check_sign(v, "expected_sign");
    let body = text(v, "example_body_xml");
    let parsed = xml::parse(body.as_bytes()).unwrap();
    let signed_as = sign::verify(&parsed, &key(v), None).unwrap();
    assert_eq!(signed_as, sign_type(v));
    assert_each_body_flip_fails(v, body, |b| {
        xml::parse(b).is_ok_and(|p| sign::verify(&p, &key(v), None).is_ok())
    });
}

fn check_notify(v: &Value) {
    let body = text(v, "body_xml");
    let key = key(v);
    let result = verify_pay_notify(body.as_bytes(), &key, None);
    if !v["expected_valid"].as_bool().unwrap() {
        assert!(result.is_err(), "{} must not verify", v["name"]);
        return;
    }
    let notify = result.unwrap_or_else(|e| panic!("{}: {e}", v["name"]));
    assert_eq!(notify.sign_type(), sign_type(v));
    assert_eq!(notify.params().get("sign"), Some(text(v, "expected_sign")));
    if let Some(fields) = v["expected_fields"].as_object() {
        assert_eq!(notify.params().len(), fields.len());
        for (k, expected) in fields {
            assert_eq!(notify.params().get(k), expected.as_str(), "{k}");
        }
        let expected_a = text(v, "expected_string_a");
        assert_eq!(notify.params().canonical_string(), expected_a);
    }
    if let Some(reply) = v["expected_response_xml"].as_str() {
        assert_eq!(wxpay_core::v2::reply::SUCCESS_REPLY, reply);
    }
    assert_each_body_flip_fails(v, body, |b| verify_pay_notify(b, &key, None).is_ok());
}

fn assert_each_body_flip_fails(v: &Value, body: &str, verifies: impl Fn(&[u8]) -> bool) {
    for (i, flipped) in each_flip(body.as_bytes()).enumerate() {
        assert!(
            !verifies(&flipped),
            "{}: body with byte {i} flipped still verifies",
            v["name"]
        );
    }
}

fn check_refund_notify(v: &Value) {
    let key = key(v);
    let req_info = text(v, "req_info_base64");
    let info = decrypt_refund_info(req_info, &key).unwrap();
    let expected = v["expected_fields"].as_object().unwrap();
    for (k, value) in expected {
        assert_eq!(info.params().get(k), value.as_str(), "{k}");
    }
    assert_eq!(info.params().len(), expected.len());
    // The req_info inside the outer notify is the same one.
    let outer = xml::parse(text(v, "body_xml").as_bytes()).unwrap();
    assert_eq!(outer.get("req_info"), Some(req_info));
    // Tampering: the wrong key, and a flipped byte in the last (padding) block.
    let other = ApiKey::new("192006250b4c09247ec02edce69f6a2e").unwrap();
    assert!(decrypt_refund_info(req_info, &other).is_err());
    let mut raw = base64_decode(req_info);
    let last = raw.len() - 1;
    raw[last - 3] ^= 0x01;
    assert!(decrypt_refund_info(&base64_encode(&raw), &key).is_err());
}

fn check_user_data(v: &Value) {
    let session_key = SessionKey::from_base64(text(v, "session_key")).unwrap();
    let encrypted = text(v, "encrypted_data");
    let iv = text(v, "iv");
    let appid = text(v, "appid");
    let result = decrypt_user_data(encrypted, &session_key, iv, appid);
    if v["expected_error"].as_str() == Some("padding") {
        assert_eq!(result.unwrap_err(), UserDataError::Padding);
        return;
    }
    if !v["expected_watermark_ok"].as_bool().unwrap() {
        assert!(matches!(
            result.unwrap_err(),
            UserDataError::WatermarkMismatch { .. }
        ));
        return;
    }
    let data = result.unwrap();
    assert_eq!(data.json, text(v, "expected_plaintext"));
    assert_eq!(data.watermark.appid, appid);
    let mut raw = base64_decode(encrypted);
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    assert!(decrypt_user_data(&base64_encode(&raw), &session_key, iv, appid).is_err());
}

fn check_raw_data(v: &Value) {
    let session_key = SessionKey::from_base64(text(v, "session_key")).unwrap();
    let raw = text(v, "raw_data");
    let expected = text(v, "expected_signature");
    assert_eq!(raw_data_signature(raw, &session_key), expected);
    assert!(verify_raw_data(raw, &session_key, expected));
    for flipped in each_flip(raw.as_bytes()) {
        if let Ok(flipped) = String::from_utf8(flipped) {
            assert!(!verify_raw_data(&flipped, &session_key, expected));
        }
    }
}

fn check_session_signature(v: &Value) {
    let session_key = SessionKey::from_base64(text(v, "session_key")).unwrap();
    let body = text(v, "post_body");
    let expected = text(v, "expected_signature");
    assert_eq!(session_signature(&session_key, body.as_bytes()), expected);
    for flipped in each_flip(body.as_bytes()) {
        assert_ne!(session_signature(&session_key, &flipped), expected);
    }
    let other = SessionKey::from_bytes([0; 16]);
    assert_ne!(session_signature(&other, body.as_bytes()), expected);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn every_v2_and_mini_program_vector_passes_and_resists_tampering() {
    let mut ran = Vec::new();
    let mut not_in_scope = 0;
    for v in vectors() {
        match text(&v, "kind") {
            "wxpay_v2_sign" => check_sign(&v, "expected_sign"),
            "wxpay_v2_paysign" => check_sign(&v, "expected_paySign"),
            "wxpay_v2_request" => check_request(&v),
            "wxpay_v2_notify" => check_notify(&v),
            "wxpay_v2_refund_notify" => check_refund_notify(&v),
            "miniprogram_decrypt" => check_user_data(&v),
            "miniprogram_rawdata_sig" => check_raw_data(&v),
            "miniprogram_session_sig" => check_session_signature(&v),
            kind if kind.starts_with("wxpay_v3") => {
                // Run by tests/vectors_v3.rs.
                not_in_scope += 1;
                continue;
            }
            other => panic!("vector kind {other} has no runner"),
        }
        ran.push(text(&v, "name").to_owned());
    }
    // Guards against a vector silently dropping out of the run.
    assert_eq!(ran.len(), 18, "ran: {ran:?}");
    assert_eq!(not_in_scope, 15);
}
