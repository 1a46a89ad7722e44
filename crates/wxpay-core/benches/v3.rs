//! W3 (verify and decrypt a v3 notify: RSA-2048 verification, AES-256-GCM over ~650
//! bytes, JSON) and W4 (one RSA-2048 signature, the v3 paySign) on exactly the inputs of
//! `workloads.json`, beside the bare primitives of the fastest backend measured here (the
//! ceiling, in the same run) and ring's (the other constant-time candidate).
//! `scripts/bench-v3.sh` runs this next to `openssl speed rsa2048`.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use wxpay_core::v3::keys::public_key_from_pem;
use wxpay_core::v3::notify::verify_notify;
use wxpay_core::v3::verify::{KeySet, SignatureHeaders, signed_message};
use wxpay_core::v3::{ApiV3Key, RequestPaymentV3, RsaPrivateKey};

const WORKLOADS: &str = include_str!("workloads.json");

fn w3(c: &mut Criterion) {
    let w: Value = serde_json::from_str(WORKLOADS).unwrap();
    let n = &w["W3_v3_notify"];
    let text = |field: &str| n[field].as_str().unwrap().to_owned();
    let (timestamp, nonce, body, signature, serial) = (
        text("timestamp"),
        text("nonce"),
        text("body"),
        text("signature"),
        text("serial"),
    );
    let now: i64 = timestamp.parse().unwrap();
    let platform = w["platform_public_key_pem"].as_str().unwrap();
    let mut keys = KeySet::new();
    keys.add_key(
        &serial,
        public_key_from_pem(platform, "platform key").unwrap(),
    )
    .unwrap();
    let api_v3_key = ApiV3Key::new(w["apiv3_key"].as_str().unwrap()).unwrap();
    let headers = SignatureHeaders {
        timestamp: &timestamp,
        nonce: &nonce,
        signature: &signature,
        serial: &serial,
        signature_type: Some("WECHATPAY2-SHA256-RSA2048"),
    };
    let notify = || {
        let verified = verify_notify(&keys, &headers, body.as_bytes(), now)?;
        let decrypted = verified.decrypt(&api_v3_key)?;
        decrypted.transaction().map(|t| t.amount)
    };
    assert!(notify().unwrap().is_some());

    let mut group = c.benchmark_group(format!("W3 v3 notify {} bytes", body.len()));
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify + decrypt + parse (wxpay-core)", |b| b.iter(notify));

    // The ceiling: aws-lc-rs's bare RSA verification and AES-GCM open over the same
    // bytes, the key parsed and the message and ciphertext decoded beforehand.
    let spki = pem_der(platform);
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki).unwrap();
    let message = signed_message(&timestamp, &nonce, body.as_bytes());
    let signature_bytes = STANDARD.decode(&signature).unwrap();
    let sealed = STANDARD.decode(text("ciphertext")).unwrap();
    let aead_key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, w["apiv3_key"].as_str().unwrap().as_bytes()).unwrap(),
    );
    let aes_nonce = text("aes_nonce");
    let aad = text("aad");
    group.bench_function("ceiling: bare verify + decrypt (aws-lc-rs)", |b| {
        b.iter(|| {
            parsed
                .verify_sig(black_box(&message), &signature_bytes)
                .unwrap();
            let mut buffer = sealed.clone();
            let nonce = Nonce::try_assume_unique_for_key(aes_nonce.as_bytes()).unwrap();
            aead_key
                .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buffer)
                .map(|p| p.len())
                .unwrap()
        })
    });
    group.bench_function("bare verify only (aws-lc-rs)", |b| {
        b.iter(|| parsed.verify_sig(black_box(&message), &signature_bytes))
    });
    // ring takes the PKCS#1 key (the SPKI's inner key).
    let pkcs1 = public_key_from_pem(platform, "platform key")
        .unwrap()
        .pkcs1_der()
        .to_vec();
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pkcs1,
    );
    group.bench_function("bare verify only (ring)", |b| {
        b.iter(|| ring_key.verify(black_box(&message), &signature_bytes))
    });
    group.finish();
}

fn w4(c: &mut Criterion) {
    let w: Value = serde_json::from_str(WORKLOADS).unwrap();
    let pem = w["merchant_private_key_pem"].as_str().unwrap();
    let key = RsaPrivateKey::from_pem(pem).unwrap();
    let p = &w["W4_v3_paysign"];
    let field = |name: &str| p[name].as_str().unwrap();
    let prepay_id = field("package").strip_prefix("prepay_id=").unwrap();
    let seconds: i64 = field("timeStamp").parse().unwrap();
    let build =
        || RequestPaymentV3::build(field("appId"), prepay_id, &key, field("nonceStr"), seconds);
    let params = build().unwrap();
    assert_eq!(
        params.message(field("appId")),
        w["W4_message"].as_str().unwrap()
    );
    assert_eq!(params.pay_sign, w["W4_signature"].as_str().unwrap());

    let mut group = c.benchmark_group("W4 RSA-2048 sign");
    group.throughput(Throughput::Elements(1));
    group.bench_function("v3 paySign params (wxpay-core, aws-lc-rs)", |b| {
        b.iter(|| build().map(|p| p.pay_sign.len()))
    });
    let message = w["W4_message"].as_str().unwrap().as_bytes().to_vec();
    group.bench_function("bare sign (aws-lc-rs)", |b| {
        b.iter(|| key.sign_sha256(black_box(&message)).map(|s| s.len()))
    });
    let ring_pair = ring::signature::RsaKeyPair::from_pkcs8(&pem_der(pem)).unwrap();
    let rng = ring::rand::SystemRandom::new();
    group.bench_function("bare sign (ring)", |b| {
        b.iter(|| {
            let mut signature = vec![0; ring_pair.public().modulus_len()];
            ring_pair
                .sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &rng,
                    black_box(&message),
                    &mut signature,
                )
                .map(|()| signature.len())
        })
    });
    group.finish();
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

criterion_group!(benches, w3, w4);
criterion_main!(benches);
