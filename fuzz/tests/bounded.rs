//! CI's bounded fuzz run: every target for a few seconds, no crash allowed.

// Test code: a panic here is a failed test.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Duration;

#[test]
fn every_target_runs_without_a_crash() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, _) in wxpay_fuzz::TARGETS {
        let report = wxpay_fuzz::run(name, &root, Duration::from_secs(3), 2026);
        println!(
            "{name}: {} executions, corpus {}, crashes {}",
            report.executions,
            report.corpus,
            report.crashes.len()
        );
        assert!(report.corpus > 0, "{name} has no corpus");
        assert!(report.executions > 1000, "{name} ran too little");
        assert!(
            report.crashes.is_empty(),
            "{name} crashed on {:?}",
            String::from_utf8_lossy(&report.crashes[0])
        );
    }
}

#[test]
fn a_crashing_target_is_caught() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let report = wxpay_fuzz::run_with(
        "xml",
        |input| assert!(!input.contains(&b'&')),
        &root,
        Duration::from_millis(200),
        1,
    );
    assert!(
        !report.crashes.is_empty(),
        "a target that panics on '&' must be reported"
    );
}
