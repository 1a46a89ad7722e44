//! wxpay-sim: a stateful local WeChat simulator.
//!
//! It speaks WeChat's real wire formats on WeChat's real paths (`/sns/jscode2session`,
//! `/pay/unifiedorder`, `/pay/orderquery`, `/pay/closeorder`, and API v3's
//! `/v3/pay/transactions/...` and `/v3/certificates`), so a backend's production code runs
//! against it unchanged with only the base URLs pointed here. v2 and v3 are two faces of
//! one trade state; for v3 each merchant has a key mode (platform certificates, a WeChat
//! Pay public key, or the migration week between them) and keys derived from the seed
//! (`GET /sim/merchants/{mchid}/v3-keys` hands a backend what it needs). It keeps state
//! (codes, users, trades), signs like WeChat, plays the user's phone (`/sim/login` for
//! `wx.login`, `/sim/pay` for `wx.requestPayment`), delivers signed pay notifies on
//! WeChat's retry schedule, and injects faults on demand. For the order-shipping service
//! it keeps each paid trade's shipping and state under WeChat's upload rules, and sends
//! the trade-management pushes to the app's message push URL (`shipping`). Durations scale with
//! `time_scale`; randomness follows `seed`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = wxpay_sim::spawn(&wxpay_sim::SimConfig::default()).await?;
//! println!("WeChat is at {}", sim.base_url);
//! # Ok(()) }
//! ```

mod access_log;
mod bill;
pub mod cli;
mod clock;
pub mod config;
mod control;
pub mod faults;
mod ids;
mod login;
pub mod notify;
mod pay;
mod payer;
pub mod refund;
pub mod secapi;
pub mod shipping;
mod startup;
mod state;
mod token;
pub mod v3;

pub use bill::sized_bill;
pub use config::{MerchantConfig, SimConfig};
pub use startup::{RunningSim, ShippingControl, SimHandle, Simulator, spawn};

/// A bare HTTP error status, as a failing gateway in front of WeChat would send.
fn http_status(status: u16) -> actix_web::HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    actix_web::HttpResponse::build(code)
        .content_type("text/plain")
        .body(code.canonical_reason().unwrap_or("Server Error"))
}

/// Plain-text logs filtered by `RUST_LOG` (default: info), coloured only on a terminal
/// (a log file gets no escape codes). A second call is harmless.
pub fn init_logging() {
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .try_init();
}
