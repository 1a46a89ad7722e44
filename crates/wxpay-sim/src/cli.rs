//! The simulator's command line, shared by `wxpay-sim` and `wxpay sim`.

use std::path::PathBuf;

use crate::config::{DOC_API_KEY, DOC_APP_SECRET, DOC_APPID, DOC_MCH_ID};
use crate::{MerchantConfig, SimConfig, Simulator};

/// The simulator's flags.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(
        long,
        default_value = "127.0.0.1:9100",
        env = "WXPAY_SIM_BIND",
        hide_env_values = true
    )]
    bind: String,
    /// TOML file with `seed`, `time_scale` and `[[merchants]]` (appid, mch_id, api_key,
    /// app_secret, unionid). Flags below override the first merchant.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Mini Program appid of the default merchant.
    #[arg(long)]
    appid: Option<String>,
    /// mch_id of the default merchant.
    #[arg(long)]
    mch_id: Option<String>,
    /// v2 API key (32 characters) of the default merchant.
    #[arg(long, env = "WXPAY_SIM_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// App secret (32 characters) of the default Mini Program.
    #[arg(long, env = "WXPAY_SIM_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
    /// code2session returns a unionid for the default Mini Program's users.
    #[arg(long)]
    unionid: bool,
    /// API v3 key mode of the default merchant: public_key (new merchants),
    /// platform_certificate, or migrating (the week of the switch).
    #[arg(long)]
    key_mode: Option<crate::config::KeyMode>,
    /// APIv3 key (32 characters) of the default merchant; derived from the seed if absent.
    #[arg(long, env = "WXPAY_SIM_APIV3_KEY", hide_env_values = true)]
    apiv3_key: Option<String>,
    /// Seed for every random choice (ids, keys, probabilistic faults).
    #[arg(long)]
    seed: Option<u64>,
    /// Divide every simulated duration by this (1000: a 15 s notify retry takes 15 ms).
    #[arg(long)]
    time_scale: Option<f64>,
}

impl SimArgs {
    fn into_config(self) -> anyhow::Result<(String, SimConfig)> {
        let mut config = match &self.config {
            Some(path) => SimConfig::from_toml_file(path)?,
            None => SimConfig::default(),
        };
        if config.merchants.is_empty() {
            config.merchants.push(MerchantConfig::documentation());
        }
        if let Some(first) = config.merchants.first_mut() {
            let set = |slot: &mut String, value: Option<String>| {
                if let Some(value) = value {
                    *slot = value;
                }
            };
            set(&mut first.appid, self.appid);
            set(&mut first.mch_id, self.mch_id);
            set(&mut first.api_key, self.api_key);
            set(&mut first.app_secret, self.app_secret);
            first.unionid |= self.unionid;
            if let Some(mode) = self.key_mode {
                first.key_mode = mode;
            }
            if self.apiv3_key.is_some() {
                first.apiv3_key = self.apiv3_key;
            }
        }
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(scale) = self.time_scale {
            config.time_scale = scale;
        }
        config.validate()?;
        Ok((self.bind, config))
    }

    /// Runs the simulator until Ctrl-C.
    pub async fn run(self) -> anyhow::Result<()> {
        let (bind, config) = self.into_config()?;
        let simulator = Simulator::bind(&config, &bind)?;
        print_banner(&simulator.base_url(), &config);
        let handle = simulator.handle();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                handle.stop(true).await;
            }
        });
        simulator.run_until_stopped().await?;
        Ok(())
    }
}

/// The simulator's credentials are printed on purpose: they are test credentials, and the
/// documentation ones unless you chose others.
#[allow(clippy::print_stdout)] // The banner is the program's output.
fn print_banner(base_url: &str, config: &SimConfig) {
    println!("wxpay-sim: a simulated WeChat (no real payments) at {base_url}");
    for m in &config.merchants {
        let documentation = m.appid == DOC_APPID
            && m.mch_id == DOC_MCH_ID
            && m.api_key == DOC_API_KEY
            && m.app_secret == DOC_APP_SECRET;
        println!(
            "  appid {}  mch_id {}  api_key {}  app_secret {}{}",
            m.appid,
            m.mch_id,
            m.api_key,
            m.app_secret,
            if documentation {
                "  (WeChat's documentation credentials)"
            } else {
                ""
            }
        );
    }
    for m in &config.merchants {
        println!(
            "  API v3 ({}): keys for a backend at {base_url}/sim/merchants/{}/v3-keys",
            m.key_mode.as_str(),
            m.mch_id
        );
    }
    println!(
        "  time scale {}x, seed {}; control API under {base_url}/sim/",
        config.time_scale, config.seed
    );
}
