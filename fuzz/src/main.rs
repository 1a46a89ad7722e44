//! `cargo run --release -p wxpay-fuzz -- [TARGET|all] [SECONDS] [SEED]`: fuzz for a while
//! and report executions and crashes (crashing inputs are written to fuzz/crashes/).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[allow(clippy::print_stdout)] // The report is the program's output.
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map_or("all", String::as_str);
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut failed = false;
    for (name, _) in wxpay_fuzz::TARGETS {
        if which != "all" && which != *name {
            continue;
        }
        let report = wxpay_fuzz::run(
            name,
            &root.join("corpus"),
            Duration::from_secs(seconds),
            seed,
        );
        println!(
            "{name:<10} {:>11} executions in {seconds} s ({:.0}/s), corpus {}, crashes {}",
            report.executions,
            report.executions as f64 / seconds as f64,
            report.corpus,
            report.crashes.len()
        );
        for (i, input) in report.crashes.iter().enumerate() {
            let dir = root.join("crashes").join(name);
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(format!("crash-{i}")), input);
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
