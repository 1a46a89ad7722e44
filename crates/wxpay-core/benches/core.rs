//! W1 (sign a 14-field unifiedorder map) and W2 (parse + verify a ~900-byte notify) on
//! exactly the inputs of `workloads.json` (copied from the team's bench/workloads.json,
//! where the peer figures were measured), beside the bare hash over the same bytes: the
//! ceiling, measured in the same run.

// Test code: a panic here is a failed test, not a crashed server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use md5::{Digest, Md5};
use serde_json::Value;
use wxpay_core::ApiKey;
use wxpay_core::v2::Params;
use wxpay_core::v2::notify::verify_pay_notify;
use wxpay_core::v2::sign::{self, SignType};

const WORKLOADS: &str = include_str!("workloads.json");

fn workloads() -> Value {
    serde_json::from_str(WORKLOADS).unwrap()
}

fn map(w: &Value, field: &str) -> Vec<(String, String)> {
    w[field]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn w1(c: &mut Criterion) {
    let w = workloads();
    let key = ApiKey::new(w["v2_key"].as_str().unwrap()).unwrap();
    let mut group = c.benchmark_group("W1 sign 14 fields");
    group.throughput(Throughput::Elements(1));
    for (name, field, expected, sign_type) in [
        (
            "MD5",
            "W1_sign_md5_params",
            "W1_sign_md5_expected",
            SignType::Md5,
        ),
        (
            "HMAC-SHA256",
            "W1_sign_hmac_params",
            "W1_sign_hmac_expected",
            SignType::HmacSha256,
        ),
    ] {
        let fields = map(&w, field);
        let params: Params = fields.iter().cloned().collect();
        let signed = sign::sign(&params, &key, sign_type);
        assert_eq!(signed.as_str(), w[expected].as_str().unwrap());

        group.bench_function(format!("{name} sign (params built)"), |b| {
            b.iter(|| sign::sign(black_box(&params), &key, sign_type))
        });
        group.bench_function(format!("{name} build map + sign"), |b| {
            b.iter(|| {
                let params: Params = black_box(&fields)
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                sign::sign(&params, &key, sign_type)
            })
        });
    }
    // The ceiling: the bare MD5 over the same stringSignTemp bytes (458 bytes).
    let params: Params = map(&w, "W1_sign_md5_params").into_iter().collect();
    let sign_temp = format!(
        "{}&key={}",
        params.canonical_string(),
        w["v2_key"].as_str().unwrap()
    );
    group.bench_function(
        format!("MD5 primitive only ({} bytes)", sign_temp.len()),
        |b| b.iter(|| Md5::digest(black_box(sign_temp.as_bytes()))),
    );
    group.finish();
}

fn w2(c: &mut Criterion) {
    let w = workloads();
    let key = ApiKey::new(w["v2_key"].as_str().unwrap()).unwrap();
    let body = w["W2_notify_xml"].as_str().unwrap().as_bytes().to_vec();
    let notify = verify_pay_notify(&body, &key, None).unwrap();
    assert_eq!(notify.params().get("sign"), w["W2_notify_sign"].as_str());

    let mut group = c.benchmark_group(format!("W2 notify {} bytes", body.len()));
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse + verify", |b| {
        b.iter(|| verify_pay_notify(black_box(&body), &key, None).map(|n| n.total_fee()))
    });
    // The ceiling: the bare MD5 over this notify's stringSignTemp.
    let sign_temp = format!(
        "{}&key={}",
        notify.params().canonical_string(),
        w["v2_key"].as_str().unwrap()
    );
    group.bench_function(
        format!("MD5 primitive only ({} bytes)", sign_temp.len()),
        |b| b.iter(|| Md5::digest(black_box(sign_temp.as_bytes()))),
    );
    group.bench_function("parse only", |b| {
        b.iter(|| wxpay_core::v2::xml::parse(black_box(&body)).map(|p| p.len()))
    });
    group.finish();
}

criterion_group!(benches, w1, w2);
criterion_main!(benches, floor);

fn quick_xml_floor(c: &mut Criterion) {
    let w = workloads();
    let body = w["W2_notify_xml"].as_str().unwrap().to_owned();
    c.bench_function("quick-xml events only", |b| {
        b.iter(|| {
            let mut r = quick_xml::Reader::from_str(black_box(&body));
            let mut n = 0usize;
            loop {
                match r.read_event() {
                    Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                    Ok(_) => n += 1,
                }
            }
            n
        })
    });
}
criterion_group!(floor, quick_xml_floor);
