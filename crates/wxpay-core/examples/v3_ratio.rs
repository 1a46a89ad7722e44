//! W3 and W4 against their ceilings, measured interleaved: round after round, a batch of
//! wxpay-core's operation, then a batch of the bare primitive, so both see the same
//! machine (these machines share cores; a slow minute slows both). Prints each side's
//! median time per operation and the median of the per-round ratios.
//!
//! ```sh
//! cargo run --release -p wxpay-core --example v3_ratio -- w3 200
//! cargo run --release -p wxpay-core --example v3_ratio -- w4 60
//! ```
//! (`scripts/bench-v3.sh` runs both beside `openssl speed rsa2048`.) `backends N`
//! compares aws-lc-rs with ring (the other constant-time candidate) the same way.
//! `w3-ours N` and `w3-ceiling N` (and `w4-...`) run one side alone, for callgrind or perf.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    clippy::panic,
    reason = "a measuring harness: a bad workload file should stop it loudly"
)]

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use wxpay_core::v3::keys::public_key_from_pem;
use wxpay_core::v3::notify::verify_notify;
use wxpay_core::v3::verify::{KeySet, SignatureHeaders, signed_message};
use wxpay_core::v3::{ApiV3Key, RequestPaymentV3, RsaPrivateKey};

/// Runs `a` and `b` in alternating batches of `batch` for `rounds` rounds (which goes
/// first alternates too): (median ns/op of
/// a, of b, median of a/b per round).
fn interleaved(
    rounds: usize,
    batch: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> (f64, f64, f64) {
    let mut time_a = Vec::new();
    let mut time_b = Vec::new();
    let mut ratios = Vec::new();
    let per_op = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..batch {
            f();
        }
        started.elapsed().as_secs_f64() * 1e9 / batch as f64
    };
    for round in 0..rounds {
        // Each side goes first every other round: no place in the round is favoured.
        let (ta, tb) = if round % 2 == 0 {
            let ta = per_op(&mut a);
            (ta, per_op(&mut b))
        } else {
            let tb = per_op(&mut b);
            (per_op(&mut a), tb)
        };
        time_a.push(ta);
        time_b.push(tb);
        ratios.push(tb / ta);
    }
    (median(time_a), median(time_b), median(ratios))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn report(name: &str, ours: &str, ceiling: &str, (a, b, ratio): (f64, f64, f64)) {
    println!(
        "{name}: {ours} {:.2} µs ({:.0}/s); {ceiling} {:.2} µs ({:.0}/s); ratio (ceiling time / ours, per round, median) {ratio:.3}x",
        a / 1e3,
        1e9 / a,
        b / 1e3,
        1e9 / b
    );
}

fn w3(w: &Value, rounds: usize, mode: Mode) {
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
    let ours = || {
        let verified = verify_notify(&keys, &headers, black_box(body.as_bytes()), now).unwrap();
        let decrypted = verified.decrypt(&api_v3_key).unwrap();
        let payment = decrypted.transaction().unwrap();
        black_box(payment.amount);
    };
    let pkcs1 = public_key_from_pem(platform, "platform key")
        .unwrap()
        .pkcs1_der()
        .to_vec();
    let parsed = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &pkcs1).unwrap();
    let message = signed_message(&timestamp, &nonce, body.as_bytes());
    let signature_bytes = STANDARD.decode(&signature).unwrap();
    let sealed = STANDARD.decode(text("ciphertext")).unwrap();
    let aead_key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, w["apiv3_key"].as_str().unwrap().as_bytes()).unwrap(),
    );
    let (aes_nonce, aad) = (text("aes_nonce"), text("aad"));
    let ceiling = || {
        parsed
            .verify_sig(black_box(&message), &signature_bytes)
            .unwrap();
        let mut buffer = sealed.clone();
        let nonce = Nonce::try_assume_unique_for_key(aes_nonce.as_bytes()).unwrap();
        black_box(
            aead_key
                .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buffer)
                .unwrap(),
        );
    };
    match mode {
        // One side alone, for profilers (callgrind counts instructions, not seconds).
        Mode::Ours => (0..rounds).for_each(|_| ours()),
        Mode::Ceiling => (0..rounds).for_each(|_| ceiling()),
        Mode::Both => report(
            "W3 v3 notify",
            "verify + decrypt + parse (wxpay-core)",
            "bare verify + decrypt (aws-lc-rs)",
            interleaved(rounds, 200, ours, ceiling),
        ),
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Both,
    Ours,
    Ceiling,
}

fn w4(w: &Value, rounds: usize, mode: Mode) {
    let pem = w["merchant_private_key_pem"].as_str().unwrap();
    let key = RsaPrivateKey::from_pem(pem).unwrap();
    let p = &w["W4_v3_paysign"];
    let field = |name: &str| p[name].as_str().unwrap();
    let prepay_id = field("package").strip_prefix("prepay_id=").unwrap();
    let seconds: i64 = field("timeStamp").parse().unwrap();
    let ours = || {
        let params =
            RequestPaymentV3::build(field("appId"), prepay_id, &key, field("nonceStr"), seconds)
                .unwrap();
        black_box(params);
    };
    let message = w["W4_message"].as_str().unwrap().as_bytes().to_vec();
    let ceiling = || {
        black_box(key.sign_sha256(black_box(&message)).unwrap());
    };
    match mode {
        Mode::Ours => (0..rounds).for_each(|_| ours()),
        Mode::Ceiling => (0..rounds).for_each(|_| ceiling()),
        Mode::Both => report(
            "W4 RSA-2048 sign",
            "v3 paySign params (wxpay-core)",
            "bare sign (aws-lc-rs)",
            interleaved(rounds, 20, ours, ceiling),
        ),
    }
}

/// aws-lc-rs against ring, interleaved: RSA-2048 verification and signature.
fn backends(w: &Value, rounds: usize) {
    let n = &w["W3_v3_notify"];
    let text = |field: &str| n[field].as_str().unwrap().to_owned();
    let platform = w["platform_public_key_pem"].as_str().unwrap();
    let pkcs1 = public_key_from_pem(platform, "platform key")
        .unwrap()
        .pkcs1_der()
        .to_vec();
    let message = signed_message(&text("timestamp"), &text("nonce"), text("body").as_bytes());
    let signature = STANDARD.decode(text("signature")).unwrap();
    let aws = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &pkcs1).unwrap();
    let ring_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        &pkcs1,
    );
    report(
        "RSA-2048 verify",
        "ring",
        "aws-lc-rs",
        interleaved(
            rounds,
            200,
            || ring_key.verify(black_box(&message), &signature).unwrap(),
            || aws.verify_sig(black_box(&message), &signature).unwrap(),
        ),
    );
    let pem = w["merchant_private_key_pem"].as_str().unwrap();
    let aws_key = RsaPrivateKey::from_pem(pem).unwrap();
    let der_text: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let ring_pair =
        ring::signature::RsaKeyPair::from_pkcs8(&STANDARD.decode(der_text).unwrap()).unwrap();
    let rng = ring::rand::SystemRandom::new();
    let paysign = w["W4_message"].as_str().unwrap().as_bytes().to_vec();
    report(
        "RSA-2048 sign",
        "ring",
        "aws-lc-rs",
        interleaved(
            rounds / 10,
            20,
            || {
                let mut out = vec![0; ring_pair.public().modulus_len()];
                ring_pair
                    .sign(
                        &ring::signature::RSA_PKCS1_SHA256,
                        &rng,
                        black_box(&paysign),
                        &mut out,
                    )
                    .unwrap();
            },
            || {
                black_box(aws_key.sign_sha256(black_box(&paysign)).unwrap());
            },
        ),
    );
}

fn main() {
    let w: Value = serde_json::from_str(include_str!("../benches/workloads.json")).unwrap();
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "w3".to_owned());
    let rounds: usize = args
        .next()
        .map_or(100, |r| r.parse().expect("rounds: a number"));
    match which.as_str() {
        "w3" => w3(&w, rounds, Mode::Both),
        "w3-ours" => w3(&w, rounds, Mode::Ours),
        "w3-ceiling" => w3(&w, rounds, Mode::Ceiling),
        "w4" => w4(&w, rounds, Mode::Both),
        "w4-ours" => w4(&w, rounds, Mode::Ours),
        "w4-ceiling" => w4(&w, rounds, Mode::Ceiling),
        "backends" => backends(&w, rounds),
        other => panic!("w3 or w4, not {other}"),
    }
}
