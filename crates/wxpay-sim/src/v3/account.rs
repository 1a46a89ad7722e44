//! A merchant's API v3 standing at WeChat: its key mode, the migration week, the platform
//! certificates issued so far, and the keys all that resolves to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wxpay_core::v3::{Certificate, RsaPrivateKey, RsaPublicKey};

use super::forge::{self, ForgeError, ForgedCertificate, ForgedKey, Role};
use crate::config::KeyMode;
use crate::state::Sim;

/// How long WeChat takes to move every notify to the public key (protocol §3.10).
pub const MIGRATION_WEEK: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What changes at runtime; the keys themselves derive from the seed.
#[derive(Debug)]
pub struct V3Account {
    pub key_mode: KeyMode,
    /// When the switch to the public key started (`migrating`).
    pub migration_started: Option<Instant>,
    /// Platform certificates issued so far: the first, plus one per rotation.
    pub certificates_issued: u32,
}

impl V3Account {
    pub fn new(key_mode: KeyMode) -> V3Account {
        V3Account {
            key_mode,
            migration_started: (key_mode == KeyMode::Migrating).then(Instant::now),
            certificates_issued: 1,
        }
    }

    /// Switches the mode. Setting `migrating` starts the week, `elapsed` (real time) ago.
    pub fn set_key_mode(&mut self, key_mode: KeyMode, elapsed: Duration) {
        self.migration_started = if key_mode == KeyMode::Migrating {
            Some(
                Instant::now()
                    .checked_sub(elapsed)
                    .unwrap_or_else(Instant::now),
            )
        } else {
            None
        };
        self.key_mode = key_mode;
    }
}

/// The merchant's own API certificate and, when the simulator made it, its key.
#[derive(Debug, Clone)]
pub struct MerchantIdentity {
    pub serial_no: String,
    pub public: RsaPublicKey,
    pub certificate_pem: String,
    /// Sandbox material, only for keys the simulator made.
    pub private_key_pem: Option<String>,
}

/// WeChat Pay's public key for the merchant.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub id: String,
    pub key: Arc<ForgedKey>,
}

/// A merchant's v3 keys, resolved (see [`snapshot`]).
#[derive(Debug, Clone)]
pub struct V3Merchant {
    pub mchid: String,
    pub appid: String,
    pub key_mode: KeyMode,
    /// Share of notifies signed with the public key: 0 before the migration week, growing
    /// through it, 1 after it (and in public-key mode).
    pub public_key_share: f64,
    pub apiv3_key: String,
    pub merchant: MerchantIdentity,
    /// Platform certificates, oldest first (none in public-key mode); the last one signs.
    pub certificates: Vec<Arc<ForgedCertificate>>,
    pub public_key: Option<PublicKey>,
}

/// The key WeChat signs a message with, and the serial it names in `Wechatpay-Serial`.
#[derive(Debug, Clone, Copy)]
pub struct SigningKey<'a> {
    pub serial: &'a str,
    pub key: &'a RsaPrivateKey,
}

impl V3Merchant {
    fn newest_certificate(&self) -> Option<SigningKey<'_>> {
        self.certificates.last().map(|c| SigningKey {
            serial: c.serial_no(),
            key: &c.key.signer,
        })
    }

    fn public_key_signer(&self) -> Option<SigningKey<'_>> {
        self.public_key.as_ref().map(|p| SigningKey {
            serial: &p.id,
            key: &p.key.signer,
        })
    }

    /// The key for a response. In the migration week it follows the request's
    /// `Wechatpay-Serial` (the key the caller expects), else the newest certificate.
    pub fn response_key(&self, requested: Option<&str>) -> Option<SigningKey<'_>> {
        match self.key_mode {
            KeyMode::PlatformCertificate => self.newest_certificate(),
            KeyMode::PublicKey => self.public_key_signer(),
            KeyMode::Migrating => {
                let named = requested.and_then(|serial| {
                    if self.public_key.as_ref().is_some_and(|p| p.id == serial) {
                        return self.public_key_signer();
                    }
                    self.certificates
                        .iter()
                        .find(|c| c.serial_no() == serial)
                        .map(|c| SigningKey {
                            serial: c.serial_no(),
                            key: &c.key.signer,
                        })
                });
                named.or_else(|| self.newest_certificate())
            }
        }
    }

    /// The key for a notify; `draw` is uniform in [0, 1) (from the seeded RNG).
    pub fn notify_key(&self, draw: f64) -> Option<SigningKey<'_>> {
        if draw < self.public_key_share {
            self.public_key_signer()
        } else {
            self.newest_certificate()
        }
        .or_else(|| self.public_key_signer())
    }
}

/// What [`snapshot`] reads under the state lock: everything but the keys.
struct Descriptor {
    appid: String,
    key_mode: KeyMode,
    migration_started: Option<Instant>,
    certificates_issued: u32,
    apiv3_key: Option<String>,
    merchant_certificate_pem: Option<String>,
}

/// The merchant's v3 keys, or `None` for an unknown mchid. The state is read under the
/// lock; the keys are made (the first time, ~0.4 s each) on a blocking thread.
pub async fn snapshot(sim: &Sim, mchid: &str) -> Result<Option<V3Merchant>, ForgeError> {
    let descriptor = {
        let state = sim.state();
        let Some(merchant) = state.merchant_by_mch_id(mchid) else {
            return Ok(None);
        };
        Descriptor {
            appid: merchant.config.appid.clone(),
            key_mode: merchant.v3.key_mode,
            migration_started: merchant.v3.migration_started,
            certificates_issued: merchant.v3.certificates_issued,
            apiv3_key: merchant.config.apiv3_key.clone(),
            merchant_certificate_pem: merchant.config.merchant_certificate_pem.clone(),
        }
    };
    let public_key_share = match (descriptor.key_mode, descriptor.migration_started) {
        (KeyMode::PlatformCertificate, _) => 0.0,
        (KeyMode::PublicKey, _) | (KeyMode::Migrating, None) => 1.0,
        (KeyMode::Migrating, Some(started)) => {
            let week = sim.scale.real(MIGRATION_WEEK).as_secs_f64();
            (started.elapsed().as_secs_f64() / week).clamp(0.0, 1.0)
        }
    };
    let (seed, mchid) = (sim.seed, mchid.to_owned());
    let resolved = tokio::task::spawn_blocking(move || resolve(seed, mchid, descriptor))
        .await
        .map_err(|e| ForgeError::new("keys", e))??;
    Ok(Some(V3Merchant {
        public_key_share,
        ..resolved
    }))
}

/// A configured merchant's keys as the simulator starts with them.
pub(crate) fn resolve_config(
    seed: u64,
    config: &crate::config::MerchantConfig,
) -> Result<V3Merchant, ForgeError> {
    let v3 = V3Account::new(config.key_mode);
    let descriptor = Descriptor {
        appid: config.appid.clone(),
        key_mode: v3.key_mode,
        migration_started: v3.migration_started,
        certificates_issued: v3.certificates_issued,
        apiv3_key: config.apiv3_key.clone(),
        merchant_certificate_pem: config.merchant_certificate_pem.clone(),
    };
    resolve(seed, config.mch_id.clone(), descriptor)
}

fn resolve(seed: u64, mchid: String, d: Descriptor) -> Result<V3Merchant, ForgeError> {
    let merchant = match &d.merchant_certificate_pem {
        Some(pem) => {
            let certificate =
                Certificate::from_pem(pem).map_err(|e| ForgeError::new("merchant", e))?;
            MerchantIdentity {
                serial_no: certificate.serial_no().to_owned(),
                public: certificate.public_key().clone(),
                certificate_pem: pem.clone(),
                private_key_pem: None,
            }
        }
        None => {
            let made = forge::certificate(seed, &mchid, Role::Merchant)?;
            MerchantIdentity {
                serial_no: made.serial_no().to_owned(),
                public: made.key.public.clone(),
                certificate_pem: made.pem.clone(),
                private_key_pem: Some(made.key.private_pem.clone()),
            }
        }
    };
    let certificates = if d.key_mode.has_certificates() {
        (0..d.certificates_issued)
            .map(|n| forge::certificate(seed, &mchid, Role::Platform(n)))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    let public_key = if d.key_mode.has_public_key() {
        Some(PublicKey {
            id: forge::public_key_id(seed, &mchid),
            key: forge::key(seed, &mchid, Role::PublicKey)?,
        })
    } else {
        None
    };
    Ok(V3Merchant {
        apiv3_key: d
            .apiv3_key
            .unwrap_or_else(|| forge::apiv3_key(seed, &mchid)),
        appid: d.appid,
        key_mode: d.key_mode,
        public_key_share: 0.0,
        merchant,
        certificates,
        public_key,
        mchid,
    })
}
