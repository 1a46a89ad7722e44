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

/// The merchant's credentials for `wxpay serve`, as environment variables: the v2 API key,
/// or (v3) its keys as the simulator derives them, inline, without the v2 key.
pub(crate) fn credentials(api: crate::Api) -> anyhow::Result<Vec<(&'static str, String)>> {
    if api == crate::Api::V2 {
        return Ok(vec![("WXPAY_WECHAT__API_KEY", API_KEY.to_owned())]);
    }
    let keys = v3_keys()?;
    let text = |value: Option<&String>| value.cloned().unwrap_or_default();
    Ok(vec![
        ("WXPAY_WECHAT__API_VERSION", "v3".to_owned()),
        (
            "WXPAY_WECHAT__V3__PRIVATE_KEY_PEM",
            text(keys.merchant_private_key_pem.as_ref()),
        ),
        (
            "WXPAY_WECHAT__V3__CERTIFICATE_PEM",
            keys.merchant_certificate_pem.clone(),
        ),
        ("WXPAY_WECHAT__V3__APIV3_KEY", keys.apiv3_key.clone()),
        (
            "WXPAY_WECHAT__V3__KEY_MODE",
            keys.key_mode.as_str().to_owned(),
        ),
        (
            "WXPAY_WECHAT__V3__PUBLIC_KEY_ID",
            text(keys.public_key_id.as_ref()),
        ),
        (
            "WXPAY_WECHAT__V3__PUBLIC_KEY_PEM",
            text(keys.public_key_pem.as_ref()),
        ),
    ])
}

/// The merchant's v3 keys (the simulator's, from its seed).
pub(crate) fn v3_keys() -> anyhow::Result<wxpay_sim::v3::SandboxKeys> {
    wxpay_sim::v3::SandboxKeys::derive(&sim_config(), MCH_ID)?
        .ok_or_else(|| anyhow::anyhow!("the simulator has no v3 keys for {MCH_ID}"))
}

/// WeChat's key for the merchant (its WeChat Pay public key's private half, as the
/// simulator derives it): signs the v3 notifies the driver sends.
pub(crate) fn wechat_key() -> anyhow::Result<std::sync::Arc<wxpay_sim::v3::forge::ForgedKey>> {
    Ok(wxpay_sim::v3::forge::key(
        sim_config().seed,
        MCH_ID,
        wxpay_sim::v3::forge::Role::PublicKey,
    )?)
}
