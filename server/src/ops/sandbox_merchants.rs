//! `serve --sandbox --merchants N`: N-1 made-up merchants beside the documentation one
//! (`default`), each with its mini program, all on API v2, known to the embedded
//! simulator and configured as `[[merchants]]` (with refund certificates and an admin
//! token of their own), to try many merchants in one deployment.

use secrecy::SecretString;
use wxpay_sim::MerchantConfig;
use wxpay_sim::secapi::sandbox_tls;

use crate::config::{MerchantSettings, SANDBOX_ADMIN_TOKEN, Settings};

use super::sandbox::refund_tls_settings;

/// At most this many merchants in one sandbox.
pub const MAX_MERCHANTS: usize = 9;

/// The `n`th merchant (2 and up): its id, and its credentials as the simulator has them.
pub fn extra(n: usize) -> (String, MerchantConfig) {
    let merchant = MerchantConfig {
        appid: format!("wx5a4db0c00000{n:04}"),
        mch_id: format!("19000{n:05}"),
        api_key: format!("5a4db0c{n:02}{}", "e".repeat(23)),
        app_secret: format!("5a4db0c5ec{n:02}{}", "0".repeat(20)),
        ..MerchantConfig::documentation()
    };
    (format!("shop{n}"), merchant)
}

/// The `n`th merchant's admin token (its own: it sees only that merchant).
pub fn admin_token(n: usize) -> String {
    format!("{SANDBOX_ADMIN_TOKEN}-shop{n}-0123456789abcdef")
}

/// Merchants 2..=`count`, for the simulator to know before it is bound.
pub fn extras(count: usize) -> anyhow::Result<Vec<(String, MerchantConfig)>> {
    anyhow::ensure!(
        (1..=MAX_MERCHANTS).contains(&count),
        "--merchants must be 1 to {MAX_MERCHANTS}"
    );
    Ok((2..=count).map(extra).collect())
}

/// Configures `extras` as `[[merchants]]` once the simulator's `/secapi` is bound.
pub fn configure(
    settings: &mut Settings,
    extras: &[(String, MerchantConfig)],
    seed: u64,
    secapi_url: &str,
) -> anyhow::Result<()> {
    for (n, (id, merchant)) in (2..).zip(extras) {
        let tls = sandbox_tls(seed, merchant, secapi_url)?;
        settings.merchants.push(MerchantSettings {
            id: id.clone(),
            appid: merchant.appid.clone(),
            app_secret: SecretString::from(merchant.app_secret.clone()),
            mch_id: merchant.mch_id.clone(),
            api_version: "v2".into(),
            api_key: Some(SecretString::from(merchant.api_key.clone())),
            sign_type: settings.wechat.sign_type.clone(),
            v3: None,
            refund_tls: refund_tls_settings(&tls),
            admin_token: Some(SecretString::from(admin_token(n))),
            push_token: None,
            push_aes_key: None,
        });
    }
    Ok(())
}
