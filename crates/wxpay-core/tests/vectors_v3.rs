//! Every API v3 golden vector of `tests/vectors/vectors.json` (15, one from the official
//! Go SDK's tests) through `wxpay_core::v3`, each passing one checked again with every
//! byte flipped (which must fail); then the negative cases the vectors do not cover:
//! window edges, unknown serials, expired certificates, probes, wrong AAD, truncated tags,
//! missing and malformed headers.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg(feature = "v3")]

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use wxpay_core::Fen;
use wxpay_core::v3::aead::{self, AeadError, ApiV3Key};
use wxpay_core::v3::keys::{self, Certificate, KeyError, WechatPayPublicKey};
use wxpay_core::v3::notify::{NotifyError, verify_notify};
use wxpay_core::v3::payloads::{ExpectedOrder, Mismatch};
use wxpay_core::v3::payment::RequestPaymentV3;
use wxpay_core::v3::request::{Authorization, RequestToSign, authorize};
use wxpay_core::v3::verify::{KeySet, SignatureHeaders, VerifyError};
use wxpay_core::v3::{RsaPrivateKey, RsaPublicKey};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/vectors/vectors.json"
));

fn vectors() -> HashMap<String, Value> {
    let all: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    all.into_iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v))
        .collect()
}

fn text<'v>(v: &'v Value, field: &str) -> &'v str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {field} missing", v["name"]))
}

/// `v3_test_keys.<field>`.
fn key_ref<'v>(all: &'v HashMap<String, Value>, reference: &str) -> &'v str {
    let field = reference.strip_prefix("v3_test_keys.").unwrap();
    text(&all["v3_test_keys"], field)
}

/// Every byte of `bytes`, one at a time, XOR 0x01.
fn each_flip(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    (0..bytes.len()).map(move |i| {
        let mut copy = bytes.to_vec();
        copy[i] ^= 0x01;
        copy
    })
}

fn merchant_key(all: &HashMap<String, Value>) -> RsaPrivateKey {
    RsaPrivateKey::from_pem(key_ref(all, "v3_test_keys.merchant_private_key_pem")).unwrap()
}

fn platform_keys(all: &HashMap<String, Value>) -> KeySet {
    let mut keys = KeySet::new();
    keys.add_certificate(
        Certificate::from_pem(key_ref(all, "v3_test_keys.platform_certificate_pem")).unwrap(),
    )
    .unwrap();
    keys
}

fn headers(v: &Value) -> HashMap<String, String> {
    v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, val)| (k.to_ascii_lowercase(), val.as_str().unwrap().to_owned()))
        .collect()
}

fn signature_headers(map: &HashMap<String, String>) -> Result<SignatureHeaders<'_>, VerifyError> {
    SignatureHeaders::from_lookup(|name| map.get(&name.to_ascii_lowercase()).map(String::as_str))
}

fn check_keys(all: &HashMap<String, Value>, v: &Value) {
    let certificate = Certificate::from_pem(text(v, "platform_certificate_pem")).unwrap();
    assert_eq!(certificate.serial_no(), text(v, "platform_cert_serial_no"));
    let public = keys::public_key_from_pem(text(v, "platform_public_key_pem"), "x").unwrap();
    assert_eq!(certificate.public_key(), &public);
    assert_eq!(public.bits(), 2048);
    let merchant = merchant_key(all);
    let merchant_public =
        keys::public_key_from_pem(text(v, "merchant_public_key_pem"), "x").unwrap();
    assert_eq!(merchant.public_key(), &merchant_public);
    assert_ne!(merchant.public_key(), &public);
    keys::check_public_key_id(text(v, "wechatpay_public_key_id")).unwrap();
    WechatPayPublicKey::from_pem(
        text(v, "wechatpay_public_key_id"),
        text(v, "platform_public_key_pem"),
    )
    .unwrap();
    RsaPrivateKey::from_pem(text(v, "platform_private_key_pem")).unwrap();
}

fn check_request_sign(all: &HashMap<String, Value>, v: &Value) {
    let key = merchant_key(all);
    let request = RequestToSign {
        method: text(v, "method"),
        url: text(v, "url_path"),
        timestamp: text(v, "timestamp").parse().unwrap(),
        nonce: text(v, "nonce_str"),
        body: text(v, "body").as_bytes(),
    };
    let message = request.message().unwrap();
    assert_eq!(
        String::from_utf8(message.clone()).unwrap(),
        text(v, "expected_message")
    );
    let expected = text(v, "expected_signature");
    assert_eq!(
        key.sign_base64(&message).unwrap(),
        expected,
        "{}",
        v["name"]
    );
    if let Some(header) = v["expected_authorization"].as_str() {
        let mchid = header
            .split("mchid=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let serial = text(&all["v3_test_keys"], "merchant_cert_serial_no");
        let authorization = authorize(&key, mchid, serial, &request).unwrap();
        assert_eq!(authorization.header_value(), header);
        assert_eq!(Authorization::parse(header).unwrap(), authorization);
    }
    // The signature verifies with the merchant's public key, and over no flipped message.
    let signature = STANDARD.decode(expected).unwrap();
    assert!(key.public_key().verify_sha256(&message, &signature));
    for flipped in each_flip(&message) {
        assert!(!key.public_key().verify_sha256(&flipped, &signature));
    }
    for flipped in each_flip(&signature) {
        assert!(!key.public_key().verify_sha256(&message, &flipped));
    }
}

/// The vector's `key_ref` key under the serial its headers name.
fn vector_keys(all: &HashMap<String, Value>, v: &Value) -> KeySet {
    let key = keys::public_key_from_pem(key_ref(all, text(v, "key_ref")), "x").unwrap();
    let mut set = KeySet::new();
    set.add_key(text(&v["headers"], "Wechatpay-Serial"), key)
        .unwrap();
    set
}

fn check_verify(all: &HashMap<String, Value>, v: &Value) {
    let keys = vector_keys(all, v);
    let map = headers(v);
    let headers = signature_headers(&map).unwrap();
    let body = text(v, "body").as_bytes();
    let now = v["now_for_skew_check"].as_i64().unwrap();
    assert_eq!(
        String::from_utf8(wxpay_core::v3::verify::signed_message(
            headers.timestamp,
            headers.nonce,
            body
        ))
        .unwrap(),
        text(v, "expected_message")
    );
    let verified = keys.verify(&headers, body, now).unwrap();
    assert_eq!(verified.body(), body);
    assert_eq!(verified.serial(), headers.serial);
    assert_flips_fail(&keys, &headers, body, now);
}

/// No flipped byte of the body, nonce or signature verifies.
fn assert_flips_fail(keys: &KeySet, headers: &SignatureHeaders<'_>, body: &[u8], now: i64) {
    for flipped in each_flip(body) {
        assert!(keys.verify(headers, &flipped, now).is_err());
    }
    for flipped in each_flip(headers.nonce.as_bytes()) {
        let nonce = String::from_utf8(flipped).unwrap();
        let changed = SignatureHeaders {
            nonce: &nonce,
            ..*headers
        };
        assert!(keys.verify(&changed, body, now).is_err());
    }
    for flipped in each_flip(headers.signature.as_bytes()) {
        let signature = String::from_utf8(flipped).unwrap();
        let changed = SignatureHeaders {
            signature: &signature,
            ..*headers
        };
        assert!(keys.verify(&changed, body, now).is_err());
    }
}

fn check_notify(all: &HashMap<String, Value>, v: &Value) {
    let name = text(v, "name");
    let keys = match v["platform_certificate_pem"].as_str() {
        // The official Go SDK's vector brings its own certificate.
        Some(pem) => {
            let certificate = Certificate::from_pem(pem).unwrap();
            assert_eq!(certificate.serial_no(), text(v, "platform_cert_serial_no"));
            let mut keys = KeySet::new();
            keys.add_certificate(certificate).unwrap();
            keys
        }
        None => vector_keys(all, v),
    };
    let map = headers(v);
    let headers = signature_headers(&map).unwrap();
    let body = text(v, "body").as_bytes();
    let now = v["now_for_skew_check"].as_i64().unwrap_or(1_704_081_601);
    let result = verify_notify(&keys, &headers, body, now);
    if v["expected_valid"] == false {
        let error = result.unwrap_err();
        let expected = match name {
            "v3_notify_signature_probe" => NotifyError::Verify(VerifyError::SignatureProbe),
            "v3_notify_stale_timestamp" => {
                NotifyError::Verify(VerifyError::OutsideWindow { skew: 301 })
            }
            "v3_notify_tampered_body" => NotifyError::Verify(VerifyError::BadSignature),
            other => panic!("{other}: no expected error"),
        };
        assert_eq!(error, expected, "{name}");
        if name == "v3_notify_stale_timestamp" {
            // The signature itself is good: inside the window it verifies.
            let ts: i64 = headers.timestamp.parse().unwrap();
            verify_notify(&keys, &headers, body, ts).unwrap();
        }
        return;
    }
    let notify = result.unwrap();
    assert_flips_fail(&keys, &headers, body, now);
    let key = text(v, "apiv3_key");
    let plaintext = if key.len() == 32 {
        let decrypted = notify.decrypt(&ApiV3Key::new(key).unwrap()).unwrap();
        assert_eq!(decrypted.event_type, text(v, "expected_event_type"));
        decrypted.plaintext
    } else {
        // The Go SDK's vector uses a 16-byte key: AES-128-GCM through the low-level call.
        assert_eq!(
            ApiV3Key::new(key).unwrap_err(),
            AeadError::KeyLength(key.len())
        );
        let resource = &notify.envelope().resource;
        let plain = aead::decrypt(
            key.as_bytes(),
            &resource.nonce,
            &resource.associated_data,
            &resource.ciphertext,
        )
        .unwrap();
        String::from_utf8(plain).unwrap()
    };
    assert_eq!(plaintext, text(v, "expected_plaintext"), "{name}");
}

fn check_aead(v: &Value) {
    let key = text(v, "apiv3_key").as_bytes();
    let nonce = text(v, "nonce");
    let aad = text(v, "associated_data");
    let ciphertext = text(v, "ciphertext_base64");
    let result = aead::decrypt(key, nonce, aad, ciphertext);
    if let Some(expected_error) = v["expected_error"].as_str() {
        let error = result.unwrap_err();
        assert_eq!(error, AeadError::TagMismatch);
        assert!(error.to_string().contains(expected_error), "{error}");
        return;
    }
    let plain = result.unwrap();
    assert_eq!(
        String::from_utf8(plain.clone()).unwrap(),
        text(v, "expected_plaintext")
    );
    // Sealing again gives the same bytes (GCM is deterministic for a nonce).
    assert_eq!(aead::encrypt(key, nonce, aad, &plain).unwrap(), ciphertext);
    for flipped in each_flip(&STANDARD.decode(ciphertext).unwrap()) {
        let encoded = STANDARD.encode(flipped);
        assert_eq!(
            aead::decrypt(key, nonce, aad, &encoded),
            Err(AeadError::TagMismatch)
        );
    }
    for flipped in each_flip(aad.as_bytes()) {
        let aad = String::from_utf8(flipped).unwrap();
        assert_eq!(
            aead::decrypt(key, nonce, &aad, ciphertext),
            Err(AeadError::TagMismatch)
        );
    }
}

fn check_pay_sign(all: &HashMap<String, Value>, v: &Value) {
    let key = merchant_key(all);
    let app_id = text(v, "appId");
    let prepay_id = text(v, "package").strip_prefix("prepay_id=").unwrap();
    let seconds: i64 = text(v, "timeStamp").parse().unwrap();
    let params =
        RequestPaymentV3::build(app_id, prepay_id, &key, text(v, "nonceStr"), seconds).unwrap();
    assert_eq!(params.message(app_id), text(v, "expected_message"));
    assert_eq!(params.sign_type, text(v, "signType"));
    assert_eq!(params.package, text(v, "package"));
    assert_eq!(params.pay_sign, text(v, "expected_paySign"));
    params.verify(app_id, key.public_key()).unwrap();
    let message = params.message(app_id);
    let signature = STANDARD.decode(&params.pay_sign).unwrap();
    for flipped in each_flip(message.as_bytes()) {
        assert!(!key.public_key().verify_sha256(&flipped, &signature));
    }
}

#[test]
fn every_v3_vector_passes_and_resists_tampering() {
    let all = vectors();
    let mut ran = Vec::new();
    for (name, v) in &all {
        match text(v, "kind") {
            "wxpay_v3_keys" => check_keys(&all, v),
            "wxpay_v3_request_sign" => check_request_sign(&all, v),
            "wxpay_v3_verify" => check_verify(&all, v),
            "wxpay_v3_notify" => check_notify(&all, v),
            "wxpay_v3_aead" => check_aead(v),
            "wxpay_v3_paysign" => check_pay_sign(&all, v),
            kind if kind.starts_with("wxpay_v3") => panic!("vector kind {kind} has no runner"),
            _ => continue,
        }
        ran.push(name.clone());
    }
    // Guards against a vector silently dropping out of the run.
    assert_eq!(ran.len(), 15, "ran: {ran:?}");
}

/// The end-to-end notify vector: a genuine notify signed at `ts`.
struct Genuine {
    all: HashMap<String, Value>,
    headers: HashMap<String, String>,
    body: String,
    ts: i64,
}

fn genuine() -> Genuine {
    let all = vectors();
    let v = &all["v3_notify_end_to_end"];
    Genuine {
        headers: headers(v),
        body: text(v, "body").to_owned(),
        ts: v["now_for_skew_check"].as_i64().unwrap(),
        all: all.clone(),
    }
}

#[test]
fn the_300_second_window_holds_both_ways_at_its_edges() {
    let g = genuine();
    let keys = platform_keys(&g.all);
    let headers = signature_headers(&g.headers).unwrap();
    for (offset, accepted) in [
        (0, true),
        (299, true),
        (-299, true),
        (300, false),
        (-300, false),
        (301, false),
        (-301, false),
    ] {
        let result = keys.verify(&headers, g.body.as_bytes(), g.ts + offset);
        assert_eq!(result.is_ok(), accepted, "now = ts + {offset}: {result:?}");
        if !accepted {
            assert_eq!(
                result.unwrap_err(),
                VerifyError::OutsideWindow { skew: offset }
            );
        }
    }
}

#[test]
fn each_way_a_signature_can_be_wrong_has_its_own_error() {
    let g = genuine();
    let keys = platform_keys(&g.all);
    let body = g.body.as_bytes();
    let with = |name: &str, value: Option<&str>| {
        let mut map = g.headers.clone();
        match value {
            Some(value) => map.insert(name.to_ascii_lowercase(), value.to_owned()),
            None => map.remove(&name.to_ascii_lowercase()),
        };
        map
    };
    let verify = |map: &HashMap<String, String>| {
        signature_headers(map).and_then(|h| keys.verify(&h, body, g.ts))
    };
    for name in [
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Signature",
        "Wechatpay-Serial",
    ] {
        assert!(
            matches!(verify(&with(name, None)), Err(VerifyError::MissingHeader(n)) if n == name),
            "{name}"
        );
    }
    assert_eq!(
        verify(&with(
            "Wechatpay-Serial",
            Some("PUB_KEY_ID_0000000000000000000000000000000009")
        )),
        Err(VerifyError::UnknownSerial(
            "PUB_KEY_ID_0000000000000000000000000000000009".into()
        ))
    );
    assert_eq!(
        verify(&with(
            "Wechatpay-Signature",
            Some("WECHATPAY/SIGNTEST/not base64 at all!")
        )),
        Err(VerifyError::SignatureProbe)
    );
    assert_eq!(
        verify(&with("Wechatpay-Signature", Some("not*base64"))),
        Err(VerifyError::BadBase64)
    );
    assert_eq!(
        verify(&with("Wechatpay-Signature", Some(""))),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        verify(&with(
            "Wechatpay-Signature-Type",
            Some("WECHATPAY2-SHA256-RSA4096")
        )),
        Err(VerifyError::WrongSignatureType(
            "WECHATPAY2-SHA256-RSA4096".into()
        ))
    );
    assert_eq!(
        verify(&with("Wechatpay-Timestamp", Some("1704081601000"))),
        Err(VerifyError::BadTimestamp),
        "milliseconds"
    );
    assert_eq!(
        verify(&with("Wechatpay-Timestamp", Some("-5"))),
        Err(VerifyError::BadTimestamp)
    );
    // After the platform certificate expired (2034-01-01), and before it was valid.
    let headers = signature_headers(&g.headers).unwrap();
    for now in [2_019_686_401, 1_704_067_199] {
        assert!(matches!(
            keys.verify(&headers, body, now),
            Err(VerifyError::CertificateNotValid { .. })
        ));
    }
    // The body re-serialized (same JSON, other whitespace) no longer verifies.
    let reserialized: Value = serde_json::from_str(&g.body).unwrap();
    let pretty = serde_json::to_string_pretty(&reserialized).unwrap();
    assert_eq!(
        keys.verify(&headers, pretty.as_bytes(), g.ts),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn the_migration_week_verifies_with_whichever_key_the_serial_names() {
    let g = genuine();
    let id = text(&g.all["v3_test_keys"], "wechatpay_public_key_id");
    // Certificate and public key in one set: each serial picks its own key.
    let mut keys = platform_keys(&g.all);
    keys.add_pem(id, key_ref(&g.all, "v3_test_keys.platform_public_key_pem"))
        .unwrap();
    assert_eq!(keys.serials().count(), 2);
    let body = g.body.as_bytes();
    let by_cert = signature_headers(&g.headers).unwrap();
    assert_eq!(
        keys.verify(&by_cert, body, g.ts).unwrap().serial(),
        by_cert.serial
    );
    let by_public_key = SignatureHeaders {
        serial: id,
        ..by_cert
    };
    assert_eq!(
        keys.verify(&by_public_key, body, g.ts).unwrap().serial(),
        id
    );
    // Public-key mode alone: a certificate serial is unknown.
    let mut public_only = KeySet::new();
    public_only
        .add_pem(id, key_ref(&g.all, "v3_test_keys.platform_public_key_pem"))
        .unwrap();
    assert!(matches!(
        public_only.verify(&by_cert, body, g.ts),
        Err(VerifyError::UnknownSerial(_))
    ));
}

#[test]
fn decryption_failures_are_named() {
    let all = vectors();
    let v = &all["v3_notify_resource_decrypt_transaction"];
    let key = text(v, "apiv3_key").as_bytes();
    let nonce = text(v, "nonce");
    let ciphertext = text(v, "ciphertext_base64");
    let raw = STANDARD.decode(ciphertext).unwrap();
    let truncated = STANDARD.encode(&raw[..raw.len() - 1]);
    assert_eq!(
        aead::decrypt(key, nonce, "transaction", &truncated),
        Err(AeadError::TagMismatch)
    );
    let too_short = STANDARD.encode(&raw[..15]);
    assert_eq!(
        aead::decrypt(key, nonce, "transaction", &too_short),
        Err(AeadError::TooShort)
    );
    assert_eq!(
        aead::decrypt(key, nonce, "certificate", ciphertext),
        Err(AeadError::TagMismatch)
    );
    assert_eq!(
        aead::decrypt(key, "short", "transaction", ciphertext),
        Err(AeadError::NonceLength(5))
    );
    assert_eq!(
        aead::decrypt(key, nonce, "transaction", "@@@"),
        Err(AeadError::Base64)
    );
    assert_eq!(
        aead::decrypt(&key[..20], nonce, "transaction", ciphertext),
        Err(AeadError::KeyLength(20))
    );
    // The v2 API key (also 32 characters) in place of the APIv3 key.
    assert_eq!(
        aead::decrypt(
            b"192006250b4c09247ec02edce69f6a2d",
            nonce,
            "transaction",
            ciphertext
        ),
        Err(AeadError::TagMismatch)
    );
}

#[test]
fn a_decrypted_payment_is_checked_against_the_order() {
    let g = genuine();
    let keys = platform_keys(&g.all);
    let headers = signature_headers(&g.headers).unwrap();
    let notify = verify_notify(&keys, &headers, g.body.as_bytes(), g.ts).unwrap();
    let key = ApiV3Key::new("0123456789abcdefghijklmnopqrstuv").unwrap();
    let decrypted = notify.decrypt(&key).unwrap();
    let payment = decrypted.transaction().unwrap();
    let amount = payment.amount.as_ref().unwrap().total;
    let order = ExpectedOrder {
        appid: &payment.appid,
        mchid: &payment.mchid,
        out_trade_no: &payment.out_trade_no,
        total: Fen::new(amount),
    };
    payment.check_matches(&order).unwrap();
    let other_amount = ExpectedOrder {
        total: Fen::new(amount + 1),
        ..order
    };
    assert_eq!(
        payment.check_matches(&other_amount),
        Err(Mismatch("amount.total"))
    );
    let other_app = ExpectedOrder {
        appid: "wx0000000000000000",
        ..order
    };
    assert_eq!(payment.check_matches(&other_app), Err(Mismatch("appid")));
    let mut not_paid = payment.clone().into_owned();
    not_paid.trade_state = "NOTPAY".into();
    assert_eq!(not_paid.check_matches(&order), Err(Mismatch("trade_state")));
    let mut refunded = payment.clone();
    refunded.trade_state = "REFUND".into();
    assert!(refunded.check_matches(&order).is_err());
    refunded.check_paid(&order).unwrap();
    // The refund vector's payload.
    let all = vectors();
    let r = &all["v3_refund_notify_resource_decrypt"];
    let plain = aead::decrypt(
        text(r, "apiv3_key").as_bytes(),
        text(r, "nonce"),
        text(r, "associated_data"),
        text(r, "ciphertext_base64"),
    )
    .unwrap();
    let refund: wxpay_core::v3::payloads::RefundResource = serde_json::from_slice(&plain).unwrap();
    assert_eq!(refund.refund_status, "SUCCESS");
    assert!(refund.amount.refund <= refund.amount.total);
}

#[test]
fn platform_certificates_decrypt_from_the_certificates_response() {
    let all = vectors();
    let pem = key_ref(&all, "v3_test_keys.platform_certificate_pem");
    let key_text = "0123456789abcdefghijklmnopqrstuv";
    let ciphertext = aead::encrypt(
        key_text.as_bytes(),
        "0123456789ab",
        "certificate",
        pem.as_bytes(),
    )
    .unwrap();
    let body = serde_json::json!({"data": [
        {"serial_no": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
         "effective_time": "2024-01-01T08:00:00+08:00", "expire_time": "2034-01-01T08:00:00+08:00",
         "encrypt_certificate": {"algorithm": "AEAD_AES_256_GCM", "nonce": "0123456789ab",
            "associated_data": "certificate", "ciphertext": ciphertext}},
        {"serial_no": "SKIPPED-NO-CERTIFICATE"}
    ]})
    .to_string();
    let key = ApiV3Key::new(key_text).unwrap();
    let certificates =
        wxpay_core::v3::certificates::decrypt_certificates(body.as_bytes(), &key).unwrap();
    assert_eq!(certificates.len(), 1);
    assert_eq!(
        certificates[0].serial_no(),
        "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
    );
    let wrong = ApiV3Key::new("192006250b4c09247ec02edce69f6a2d").unwrap();
    assert!(wxpay_core::v3::certificates::decrypt_certificates(body.as_bytes(), &wrong).is_err());
}

const MERCHANT_CERT: &str = include_str!("data/merchant_cert.pem");

#[test]
fn files_passed_in_the_wrong_place_are_named() {
    let all = vectors();
    let merchant_pem = key_ref(&all, "v3_test_keys.merchant_private_key_pem");
    let merchant = RsaPrivateKey::from_pem(merchant_pem).unwrap();
    let merchant_cert = Certificate::from_pem(MERCHANT_CERT).unwrap();
    assert_eq!(
        merchant_cert.serial_no(),
        "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"
    );
    assert_eq!(merchant_cert.common_name(), Some("1230000109"));
    merchant.check_matches(&merchant_cert).unwrap();
    let platform_cert =
        Certificate::from_pem(key_ref(&all, "v3_test_keys.platform_certificate_pem")).unwrap();
    assert_eq!(
        merchant.check_matches(&platform_cert),
        Err(KeyError::KeyCertificateMismatch {
            serial: platform_cert.serial_no().into()
        })
    );
    // PKCS#1 loads too, and is the same key.
    let pkcs1 = RsaPrivateKey::from_pem(include_str!("data/merchant_key_pkcs1.pem")).unwrap();
    assert_eq!(pkcs1.public_key(), merchant.public_key());
    assert_eq!(
        RsaPrivateKey::from_pem(include_str!("data/merchant_key_encrypted.pem")).unwrap_err(),
        KeyError::EncryptedPrivateKey
    );
    // The classic mistake: apiclient_cert.pem where WeChat's certificate belongs.
    let mut keys = KeySet::for_merchant(merchant.public_key().clone(), merchant_cert.serial_no());
    let error = keys.add_certificate(merchant_cert.clone()).unwrap_err();
    assert!(
        matches!(error, KeyError::MerchantCertificate { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("apiclient_cert.pem"), "{error}");
    let own_public = WechatPayPublicKey::from_pem(
        "PUB_KEY_ID_0000000000000000000000000000000001",
        key_ref(&all, "v3_test_keys.merchant_public_key_pem"),
    )
    .unwrap();
    assert_eq!(
        keys.add_public_key(own_public),
        Err(KeyError::MerchantPublicKey)
    );
    keys.add_certificate(platform_cert.clone()).unwrap();
    assert_eq!(
        keys.add_certificate(platform_cert),
        Err(KeyError::Duplicate(
            "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into()
        ))
    );
    // A certificate or a private key where a public key belongs, and the reverse.
    let error = WechatPayPublicKey::from_pem(
        "PUB_KEY_ID_0000000000000000000000000000000001",
        MERCHANT_CERT,
    )
    .unwrap_err();
    assert_eq!(
        error,
        KeyError::WrongKind {
            expected: "the WeChat Pay public key (pub_key.pem)",
            found: "a certificate"
        }
    );
    assert!(matches!(
        Certificate::from_pem(merchant_pem),
        Err(KeyError::WrongKind { found, .. }) if found.contains("private key")
    ));
    assert!(matches!(
        RsaPrivateKey::from_pem(MERCHANT_CERT),
        Err(KeyError::WrongKind {
            found: "a certificate",
            ..
        })
    ));
    assert_eq!(
        WechatPayPublicKey::from_pem(
            "5157F09EFDC096DE",
            key_ref(&all, "v3_test_keys.platform_public_key_pem")
        ),
        Err(KeyError::BadPublicKeyId("5157F09EFDC096DE".into()))
    );
    assert_eq!(Certificate::from_pem("hello"), Err(KeyError::NotPem));
    assert_eq!(
        Certificate::from_pem(include_str!("data/rsa1024_cert.pem")),
        Err(KeyError::TooSmall(1024))
    );
    assert_eq!(
        Certificate::from_pem(include_str!("data/ec_cert.pem")),
        Err(KeyError::NotRsa)
    );
    // Windows line ends and text before the block (OpenSSL's "Bag Attributes").
    let crlf = format!("Bag Attributes\r\n{}", MERCHANT_CERT.replace('\n', "\r\n"));
    assert_eq!(Certificate::from_pem(&crlf).unwrap(), merchant_cert);
}

#[test]
fn request_signing_refuses_the_classic_mistakes() {
    use wxpay_core::v3::request::RequestError;
    let request = RequestToSign {
        method: "GET",
        url: "/v3/certificates",
        timestamp: 1_554_208_460,
        nonce: "593BEC0C930BF1AFEB40B4A08C8FB242",
        body: b"",
    };
    assert_eq!(
        String::from_utf8(request.message().unwrap()).unwrap(),
        "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    );
    type IsExpected = fn(&RequestError) -> bool;
    let cases: [(RequestToSign<'_>, IsExpected); 5] = [
        (
            RequestToSign {
                timestamp: 1_554_208_460_000,
                ..request
            },
            |e| matches!(e, RequestError::Milliseconds(_)),
        ),
        (
            RequestToSign {
                url: "https://api.mch.weixin.qq.com/v3/certificates",
                ..request
            },
            |e| matches!(e, RequestError::Url(_)),
        ),
        (
            RequestToSign {
                url: "/v3/pay/transactions/out-trade-no/{out_trade_no}",
                ..request
            },
            |e| matches!(e, RequestError::Url(_)),
        ),
        (
            RequestToSign {
                method: "post",
                ..request
            },
            |e| matches!(e, RequestError::Method(_)),
        ),
        (
            RequestToSign {
                nonce: "with\"quote",
                ..request
            },
            |e| matches!(e, RequestError::Field { field: "nonce", .. }),
        ),
    ];
    for (bad, expected) in cases {
        let error = bad.message().unwrap_err();
        assert!(expected(&error), "{error}");
    }
}

#[test]
fn v3_pay_params_are_checked_like_the_wechat_client_does() {
    let all = vectors();
    let key = merchant_key(&all);
    let app_id = "wx2421b1c4370ec43b";
    let params = RequestPaymentV3::build(
        app_id,
        "wx201410272009395522657a690389285100",
        &key,
        "n0nce",
        1_554_208_460,
    )
    .unwrap();
    let json = serde_json::to_value(&params).unwrap();
    assert_eq!(json["signType"], "RSA");
    assert_eq!(json["timeStamp"], "1554208460");
    params.verify(app_id, key.public_key()).unwrap();
    let platform: RsaPublicKey =
        keys::public_key_from_pem(key_ref(&all, "v3_test_keys.platform_public_key_pem"), "x")
            .unwrap();
    assert!(params.verify(app_id, &platform).is_err(), "another key");
    assert!(
        params
            .verify("wx0000000000000000", key.public_key())
            .is_err(),
        "another app"
    );
    let mut md5 = params.clone();
    md5.sign_type = "MD5".into();
    assert!(md5.verify(app_id, key.public_key()).is_err());
    assert!(RequestPaymentV3::build(app_id, "x", &key, "n", 1_554_208_460_000).is_err());
}

/// An outside RSA verifier (as the npm package's Node one) replaces the RSA operation
/// only: every other check still runs, and its answer is taken as given.
#[test]
fn an_outside_rsa_verifier_replaces_only_the_rsa_operation() {
    use wxpay_core::v3::notify::verify_notify_using;
    use wxpay_core::v3::verify::RsaVerifier;

    struct Fixed(bool, std::cell::Cell<usize>);
    impl RsaVerifier for Fixed {
        fn verify_pkcs1_sha256(&self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
            assert_eq!(signature.len(), 256);
            assert!(message.ends_with(b"\n") && key.len() > 256);
            self.1.set(self.1.get() + 1);
            self.0
        }
    }
    /// The built-in operation, through the trait.
    struct Builtin;
    impl RsaVerifier for Builtin {
        fn verify_pkcs1_sha256(&self, key: &[u8], message: &[u8], signature: &[u8]) -> bool {
            let spki_free =
                keys::public_key_from_pem(&pem_rfc7468_encode("RSA PUBLIC KEY", key), "x").unwrap();
            spki_free.verify_sha256(message, signature)
        }
    }
    let g = genuine();
    let keys = platform_keys(&g.all);
    let headers = signature_headers(&g.headers).unwrap();
    let body = g.body.as_bytes();
    verify_notify_using(&keys, &headers, body, g.ts, &Builtin).unwrap();
    assert!(verify_notify_using(&keys, &headers, b"{}", g.ts, &Builtin).is_err());
    let yes = Fixed(true, std::cell::Cell::new(0));
    verify_notify_using(&keys, &headers, body, g.ts, &yes).unwrap();
    let no = Fixed(false, std::cell::Cell::new(0));
    assert_eq!(
        verify_notify_using(&keys, &headers, body, g.ts, &no).unwrap_err(),
        NotifyError::Verify(VerifyError::BadSignature)
    );
    // Outside the window, a probe, an unknown serial: refused before the verifier is asked.
    let before = yes.1.get();
    assert!(verify_notify_using(&keys, &headers, body, g.ts + 300, &yes).is_err());
    let probe = SignatureHeaders {
        signature: "WECHATPAY/SIGNTEST/x",
        ..headers
    };
    assert!(verify_notify_using(&keys, &probe, body, g.ts, &yes).is_err());
    assert_eq!(yes.1.get(), before);
}

fn pem_rfc7468_encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}
