//! W2 (parse + verify the workload notify) in a plain loop, for profilers that want a
//! process rather than a criterion harness:
//!
//! ```sh
//! cargo build --profile bench -p wxpay-core --example w2_profile
//! valgrind --tool=callgrind target/release/examples/w2_profile 10000
//! perf record target/release/examples/w2_profile 1000000
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stdout,
    reason = "a profiling harness: a bad workload file should stop it loudly"
)]

use wxpay_core::ApiKey;

use wxpay_core::v2::verify_pay_notify;

fn main() {
    let workloads: serde_json::Value =
        serde_json::from_str(include_str!("../benches/workloads.json")).unwrap();
    let key = ApiKey::new(workloads["v2_key"].as_str().unwrap()).unwrap();
    let body = workloads["W2_notify_xml"].as_str().unwrap().as_bytes();
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |n| n.parse().expect("rounds: a number"));
    let verified = (0..rounds)
        .filter(|_| verify_pay_notify(std::hint::black_box(body), &key, None).is_ok())
        .count();
    assert_eq!(verified, rounds, "the workload notify must verify");
    println!("{verified} notifies verified");
}
