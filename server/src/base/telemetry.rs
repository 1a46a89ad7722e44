//! Logging: `RUST_LOG` filters (default info), `WXPAY_LOG_FORMAT=json` for JSON lines.
//! Colours only on a terminal, so a log file or collector gets plain text. Lines are
//! written as they happen (a queued writer thread was measured: no gain, BENCHMARKS.md).

use std::io::IsTerminal;

/// Logs to stdout (the server's own output).
pub fn init() {
    init_to(std::io::stdout, std::io::stdout().is_terminal());
}

/// Logs to stderr, for commands whose stdout is their result (`wxpay reconcile`).
pub fn init_stderr() {
    init_to(std::io::stderr, std::io::stderr().is_terminal());
}

fn init_to<W>(writer: W, ansi: bool)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,actix_server=warn,sqlx=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    let json = std::env::var("WXPAY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second init (tests) is refused harmlessly.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Records the order (and what happened to it) on the current request's log line.
/// Returns false outside a request (the reconciler, a command): the caller logs a line of
/// its own then.
pub(crate) fn record_order(order_no: &str, outcome: &str) -> bool {
    let span = tracing::Span::current();
    if !span.has_field("order_no") {
        return false;
    }
    span.record("order_no", order_no);
    span.record("outcome", outcome);
    true
}
