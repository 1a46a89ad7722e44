//! Logging: `RUST_LOG` filters (default info), `WXPAY_LOG_FORMAT=json` for JSON lines.
//! Colours only on a terminal, so a log file or collector gets plain text. Lines are
//! written as they happen (a queued writer thread was measured: no gain, BENCHMARKS.md).

use std::io::IsTerminal;

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,actix_server=warn,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let json = std::env::var("WXPAY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second init (tests) is refused harmlessly.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
