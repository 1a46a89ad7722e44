//! Logging: `RUST_LOG` filters (default info), `WXPAY_LOG_FORMAT=json` for JSON lines.

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,actix_server=warn,sqlx=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let json = std::env::var("WXPAY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second init (tests) is refused harmlessly.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
