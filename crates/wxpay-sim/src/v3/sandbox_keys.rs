//! A merchant's API v3 sandbox material, as `GET /sim/merchants/{mchid}/v3-keys` serves
//! it and a backend under test reads it. Test keys made by the simulator: handed out on
//! purpose, but still kept out of `Debug` output.

use serde::{Deserialize, Serialize};

use super::account::{self, V3Merchant};
use super::forge::ForgeError;
use crate::config::{KeyMode, SimConfig};

/// One platform certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxCertificate {
    pub serial_no: String,
    pub pem: String,
}

/// Everything a backend needs for API v3 with one simulated merchant.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxKeys {
    pub mchid: String,
    pub appid: String,
    pub key_mode: KeyMode,
    pub apiv3_key: String,
    pub merchant_serial_no: String,
    /// `None` for a merchant that registered its own certificate (and keeps its key).
    pub merchant_private_key_pem: Option<String>,
    pub merchant_certificate_pem: String,
    /// Empty in public-key mode.
    pub platform_certificates: Vec<SandboxCertificate>,
    /// `None` in platform-certificate mode.
    pub public_key_id: Option<String>,
    pub public_key_pem: Option<String>,
}

impl std::fmt::Debug for SandboxKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxKeys")
            .field("mchid", &self.mchid)
            .field("key_mode", &self.key_mode)
            .field("merchant_serial_no", &self.merchant_serial_no)
            .field("public_key_id", &self.public_key_id)
            .finish_non_exhaustive()
    }
}

impl SandboxKeys {
    pub(crate) fn of(merchant: &V3Merchant) -> SandboxKeys {
        SandboxKeys {
            mchid: merchant.mchid.clone(),
            appid: merchant.appid.clone(),
            key_mode: merchant.key_mode,
            apiv3_key: merchant.apiv3_key.clone(),
            merchant_serial_no: merchant.merchant.serial_no.clone(),
            merchant_private_key_pem: merchant.merchant.private_key_pem.clone(),
            merchant_certificate_pem: merchant.merchant.certificate_pem.clone(),
            platform_certificates: merchant
                .certificates
                .iter()
                .map(|c| SandboxCertificate {
                    serial_no: c.serial_no().to_owned(),
                    pem: c.pem.clone(),
                })
                .collect(),
            public_key_id: merchant.public_key.as_ref().map(|p| p.id.clone()),
            public_key_pem: merchant
                .public_key
                .as_ref()
                .map(|p| p.key.public_pem.clone()),
        }
    }

    /// The keys a simulator started with `config` serves for `mchid` (before any key-mode
    /// switch or rotation), without starting it: for embedders such as
    /// `wxpay serve --sandbox`. Blocking: making keys takes ~0.4 s each the first time.
    pub fn derive(config: &SimConfig, mchid: &str) -> Result<Option<SandboxKeys>, ForgeError> {
        let Some(merchant) = config.merchants.iter().find(|m| m.mch_id == mchid) else {
            return Ok(None);
        };
        let merchant = account::resolve_config(config.seed, merchant)?;
        Ok(Some(SandboxKeys::of(&merchant)))
    }
}
