//! `wxpay-sim`: run the WeChat simulator standalone.

use clap::Parser;
use wxpay_sim::cli::SimArgs;

/// A stateful local WeChat: Mini Program login, WeChat Pay v2 (unifiedorder, orderquery,
/// closeorder), the payer, notify delivery with retries, and fault injection.
///
/// Point a backend's WeChat base URLs (api.weixin.qq.com and api.mch.weixin.qq.com) at
/// this address. Control API: /sim/login, /sim/pay, /sim/faults, /sim/notifies,
/// /sim/trades/{out_trade_no}, /sim/merchants (see the README).
#[derive(Debug, Parser)]
#[command(name = "wxpay-sim", version)]
struct Cli {
    #[command(flatten)]
    args: SimArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    wxpay_sim::init_logging();
    Cli::parse().args.run().await
}
