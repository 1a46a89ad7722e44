//! `wxpay serve --sandbox`: the server against an embedded WeChat simulator, with
//! WeChat's documentation credentials and a demo catalog. Payments are simulated.

use secrecy::SecretString;
use wxpay_sim::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
use wxpay_sim::{SimConfig, Simulator};

use crate::config::Settings;

pub const DEFAULT_SIM_BIND: &str = "127.0.0.1:8081";
pub const DEFAULT_DATABASE: &str = "sqlite://wxpay-sandbox.sqlite";

/// Binds the simulator and points `settings` at it.
pub fn prepare(
    settings: &mut Settings,
    sim_bind: &str,
    database_given: bool,
) -> anyhow::Result<Simulator> {
    let simulator = Simulator::bind(&SimConfig::default(), sim_bind)?;
    let base = simulator.base_url();
    let wechat = &mut settings.wechat;
    wechat.appid = Some(DOC_APPID.to_owned());
    wechat.mch_id = Some(DOC_MCH_ID.to_owned());
    wechat.app_secret = Some(SecretString::from(DOC_APP_SECRET));
    wechat.api_key = Some(SecretString::from(DOC_API_KEY));
    wechat.mp_base_url = base.clone();
    wechat.pay_base_url = base;
    if !database_given {
        settings.database.url = SecretString::from(DEFAULT_DATABASE);
    }
    Ok(simulator)
}

#[allow(clippy::print_stdout)] // The banner is the command's output.
pub fn banner(api: &str, sim: &str) {
    println!("wxpay sandbox: payments are SIMULATED, no real money moves.");
    println!("  API:              {api}");
    println!("  WeChat simulator: {sim}  (control API under {sim}/sim/)");
    println!(
        "  credentials:      WeChat's documentation ones (appid {DOC_APPID}, mch_id {DOC_MCH_ID})"
    );
    println!("  try:              curl {api}/v1/products");
}
