//! The merchant the load runs as: the simulator's test merchant, not WeChat's
//! documentation one, which production (`wxpay serve`) refuses.

pub(crate) use wxpay_sim::config::{
    TEST_API_KEY as API_KEY, TEST_APP_SECRET as APP_SECRET, TEST_APPID as APPID,
    TEST_MCH_ID as MCH_ID,
};
use wxpay_sim::{MerchantConfig, SimConfig};

/// The simulator, playing WeChat for this merchant only.
pub(crate) fn sim_config() -> SimConfig {
    SimConfig::for_merchant(MerchantConfig::test_merchant())
}
