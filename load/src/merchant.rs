//! The merchant the load runs as: the simulator's only merchant and the server's
//! credentials. Not WeChat's documentation ones, which production (`wxpay serve`) refuses.

use wxpay_sim::{MerchantConfig, SimConfig};

pub(crate) const APPID: &str = "wx10ad000000000001";
pub(crate) const MCH_ID: &str = "1900000199";
pub(crate) const API_KEY: &str = "LoadTestKeyLoadTestKeyLoadTest32";
pub(crate) const APP_SECRET: &str = "LoadTestSecretLoadTestSecret0032";

/// The simulator, playing WeChat for this merchant only.
pub(crate) fn sim_config() -> SimConfig {
    SimConfig {
        merchants: vec![MerchantConfig {
            appid: APPID.to_owned(),
            mch_id: MCH_ID.to_owned(),
            api_key: API_KEY.to_owned(),
            app_secret: APP_SECRET.to_owned(),
            unionid: false,
        }],
        ..SimConfig::default()
    }
}
