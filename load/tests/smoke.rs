//! Smoke-sized runs of the load driver against the real `wxpay` binary of this build: the
//! benchmark must keep working (CI runs this; the measured runs are in BENCHMARKS.md).
//! Each run's report is checked for what it claims, not only that it ran.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

use serde_json::Value;

/// Runs `wxpay-load` with `args` against the `wxpay` binary built by this `cargo test`.
fn load(args: &[&str]) -> String {
    let server = wxpay_tests::wxpay_binary().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wxpay-load"))
        .args(args)
        .arg("--binary")
        .arg(&server)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wxpay-load {args:?} failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn report(args: &[&str]) -> Value {
    let stdout = load(args);
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}"))
}

fn assert_clean(r: &Value) {
    assert!(r["requests"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert!(r["throughput"].as_f64().unwrap() > 0.0, "{r}");
    assert!(
        r["p99_ms"].as_f64().unwrap() >= r["p50_ms"].as_f64().unwrap(),
        "{r}"
    );
    assert!(
        r["server_cpu_us_per_request"].as_f64().unwrap() > 0.0,
        "{r}"
    );
    assert!(r["server_rss_peak_mib"].as_f64().unwrap() > 1.0, "{r}");
}

/// Every acknowledged notify paid its order, with its one payment event.
fn assert_notifies_paid(r: &Value) {
    assert_clean(r);
    assert_eq!(r["orders_paid_by_run"], r["requests"], "{r}");
}

/// The plan lines under `-- <title starting with name>`.
fn section<'a>(plans: &'a str, name: &str) -> &'a str {
    let start = plans
        .find(&format!("-- {name}"))
        .unwrap_or_else(|| panic!("no {name} in {plans}"));
    let rest = &plans[start + 3..];
    rest.find("\n-- ").map_or(rest, |end| &rest[..end])
}

fn postgres() -> Option<String> {
    match std::env::var("WXPAY_TEST_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) => {
            assert_ne!(
                std::env::var("WXPAY_REQUIRE_POSTGRES").as_deref(),
                Ok("1"),
                "PostgreSQL required"
            );
            None
        }
    }
}

#[test]
fn notify_closed_loop_on_sqlite() {
    let r = report(&[
        "notify",
        "--db",
        "sqlite",
        "--concurrency",
        "4",
        "--seconds",
        "2",
    ]);
    assert_eq!(r["mode"], "closed 4");
    assert_notifies_paid(&r);
}

#[test]
fn status_reads_open_loop_on_a_preloaded_sqlite() {
    let r = report(&[
        "status",
        "--db",
        "sqlite",
        "--rate",
        "50",
        "--seconds",
        "2",
        "--preload",
        "3000",
    ]);
    assert_eq!(r["preload"], 3000);
    // Open loop: exactly rate x seconds requests, whatever the server's speed.
    assert_eq!(r["requests"], 100);
    assert_clean(&r);
}

#[test]
fn order_creation_on_sqlite() {
    let r = report(&[
        "orders",
        "--db",
        "sqlite",
        "--concurrency",
        "2",
        "--seconds",
        "2",
    ]);
    assert_clean(&r);
}

/// API v3: RSA-signed, encrypted notifies (open loop: only rate x seconds are signed up
/// front) and order creation with its two RSA signatures beside their bare cost.
#[test]
fn v3_notify_and_order_creation_on_sqlite() {
    let r = report(&[
        "notify",
        "--db",
        "sqlite",
        "--api",
        "v3",
        "--rate",
        "100",
        "--seconds",
        "2",
    ]);
    assert_eq!(r["api"], "v3");
    assert_eq!(r["requests"], 200);
    assert_notifies_paid(&r);
    let r = report(&[
        "orders",
        "--db",
        "sqlite",
        "--api",
        "v3",
        "--concurrency",
        "2",
        "--seconds",
        "2",
    ]);
    assert_clean(&r);
    let sign = r["bare_rsa_sign_us"].as_f64().unwrap();
    let share = r["two_rsa_signs_share_of_cpu"].as_f64().unwrap();
    assert!(sign > 0.0 && share > 0.0, "{r}");
}

#[test]
fn sqlite_ceiling_and_plans() {
    let c = report(&[
        "ceiling",
        "--db",
        "sqlite",
        "--concurrency",
        "4",
        "--seconds",
        "1",
    ]);
    assert!(c["tps"].as_f64().unwrap() > 0.0, "{c}");
    let plans = load(&["plans", "--db", "sqlite", "--preload", "2000"]);
    // The notify's update and the status read use the order number's index, the
    // reconciler the partial index of open orders: none of them scans all orders.
    let by_order_no = "SEARCH orders USING INDEX sqlite_autoindex_orders_1 (order_no=?)";
    assert!(section(&plans, "notify").contains(by_order_no), "{plans}");
    assert!(
        section(&plans, "status read: the order").contains(by_order_no),
        "{plans}"
    );
    let claim = section(&plans, "reconciler: claim");
    assert!(claim.contains("USING INDEX orders_due"), "{plans}");
    assert!(!plans.contains("SCAN orders"), "{plans}");
    assert!(
        plans.contains("reconciler batch selection: 100 orders"),
        "{plans}"
    );
}

#[test]
fn notify_and_ceiling_on_postgres() {
    let Some(url) = postgres() else { return };
    let r = report(&[
        "notify",
        "--db",
        "postgres",
        "--pg-admin",
        &url,
        "--concurrency",
        "4",
        "--seconds",
        "2",
    ]);
    assert_notifies_paid(&r);
    let plans = load(&[
        "plans",
        "--db",
        "postgres",
        "--pg-admin",
        &url,
        "--preload",
        "2000",
    ]);
    // (On 3,000 orders the planner may still scan the whole small table elsewhere; the
    // 1,000,000-order plans are in BENCHMARKS.md.)
    let by_order_no = "Index Scan using orders_pkey";
    assert!(section(&plans, "notify").contains(by_order_no), "{plans}");
    assert!(
        section(&plans, "status read: the order").contains(by_order_no),
        "{plans}"
    );
    let claim = section(&plans, "reconciler: claim");
    assert!(claim.contains("Index Scan using orders_due"), "{plans}");
    // pgbench ships with PostgreSQL's client tools; CI (WXPAY_REQUIRE_POSTGRES=1) has it.
    let pgbench = Command::new("pgbench").arg("--version").output();
    if !pgbench.is_ok_and(|o| o.status.success()) {
        assert_ne!(
            std::env::var("WXPAY_REQUIRE_POSTGRES").as_deref(),
            Ok("1"),
            "pgbench required"
        );
        eprintln!("pgbench not installed: the PostgreSQL ceiling is not smoke-tested");
        return;
    }
    let c = report(&[
        "ceiling",
        "--db",
        "postgres",
        "--pg-admin",
        &url,
        "--pgbench-scale",
        "1",
        "--concurrency",
        "4",
        "--seconds",
        "1",
    ]);
    assert!(c["tps"].as_f64().unwrap() > 0.0, "{c}");
}
