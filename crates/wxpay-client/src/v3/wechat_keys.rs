//! WeChat's verification keys as the merchant holds them: a WeChat Pay public key, platform
//! certificates (configured, then downloaded from `/v3/certificates` and refreshed once
//! when a reply names an unknown serial), or both in the migration week.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use wxpay_core::v3::{Certificate, KeyError, KeySet, RsaPublicKey, WechatPayPublicKey};

/// An unknown serial triggers a download at most this often (never a loop of them).
const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// What the merchant configured to verify WeChat with (protocol §3.10).
#[derive(Debug, Clone, Default)]
pub struct WechatKeys {
    /// The WeChat Pay public key (`PUB_KEY_ID_...`), for merchants that have one.
    pub public_key: Option<WechatPayPublicKey>,
    /// Whether the merchant has platform certificates (then `/v3/certificates` is
    /// downloaded, and again when a reply names a serial not yet known). False for a
    /// merchant on the public key alone: it never calls `/v3/certificates`.
    pub platform_certificates: bool,
    /// Platform certificates known up front (optional; the download adds the others).
    pub certificates: Vec<Certificate>,
}

impl WechatKeys {
    /// A merchant on a WeChat Pay public key (new merchants).
    pub fn public_key(key: WechatPayPublicKey) -> WechatKeys {
        WechatKeys {
            public_key: Some(key),
            platform_certificates: false,
            certificates: Vec::new(),
        }
    }

    /// A merchant on platform certificates, downloaded from WeChat.
    pub fn platform_certificates() -> WechatKeys {
        WechatKeys {
            public_key: None,
            platform_certificates: true,
            certificates: Vec::new(),
        }
    }

    /// The migration week: the public key and the certificates, both verify.
    pub fn migrating(key: WechatPayPublicKey) -> WechatKeys {
        WechatKeys {
            public_key: Some(key),
            platform_certificates: true,
            certificates: Vec::new(),
        }
    }
}

/// The keys in use, replaced as a whole when certificates are downloaded.
#[derive(Debug)]
pub(crate) struct KeyStore {
    merchant_key: RsaPublicKey,
    merchant_serial: String,
    configured: WechatKeys,
    current: RwLock<Arc<KeySet>>,
    /// The newest certificate's serial, sent as `Wechatpay-Serial` in certificate mode.
    newest_certificate: RwLock<Option<String>>,
    last_download: Mutex<Option<Instant>>,
}

impl KeyStore {
    pub(crate) fn new(
        merchant_key: RsaPublicKey,
        merchant_serial: &str,
        configured: WechatKeys,
    ) -> Result<KeyStore, KeyError> {
        let store = KeyStore {
            merchant_key,
            merchant_serial: merchant_serial.to_owned(),
            current: RwLock::new(Arc::new(KeySet::new())),
            newest_certificate: RwLock::new(None),
            last_download: Mutex::new(None),
            configured,
        };
        store.install(&[])?;
        Ok(store)
    }

    pub(crate) fn has_certificates(&self) -> bool {
        self.configured.platform_certificates
    }

    pub(crate) fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// The key the merchant expects WeChat to sign with, sent as `Wechatpay-Serial` (in
    /// the migration week WeChat signs replies with the key it names): the public key's
    /// id when there is one, else the newest certificate's serial.
    pub(crate) fn expected_serial(&self) -> Option<String> {
        match &self.configured.public_key {
            Some(key) => Some(key.id().to_owned()),
            None => self
                .newest_certificate
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// The key set from the configuration plus `downloaded` certificates (one entry per
    /// serial; expired ones stay, so an old signature gets the precise error).
    pub(crate) fn build(&self, downloaded: &[Certificate]) -> Result<KeySet, KeyError> {
        let mut keys = KeySet::for_merchant(self.merchant_key.clone(), &self.merchant_serial);
        if let Some(key) = &self.configured.public_key {
            keys.add_public_key(key.clone())?;
        }
        for certificate in self.configured.certificates.iter().chain(downloaded) {
            if !keys.serials().any(|s| s == certificate.serial_no()) {
                keys.add_certificate(certificate.clone())?;
            }
        }
        Ok(keys)
    }

    /// Puts a key set built with `downloaded` in use.
    pub(crate) fn install(&self, downloaded: &[Certificate]) -> Result<(), KeyError> {
        let keys = self.build(downloaded)?;
        let newest = self
            .configured
            .certificates
            .iter()
            .chain(downloaded)
            .max_by_key(|c| c.not_before())
            .map(|c| c.serial_no().to_owned());
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        *self
            .newest_certificate
            .write()
            .unwrap_or_else(|p| p.into_inner()) = newest;
        Ok(())
    }

    /// Whether an unknown serial may trigger a download now (at most one a minute).
    pub(crate) fn may_refresh(&self) -> bool {
        if !self.configured.platform_certificates {
            return false;
        }
        let mut last = self.last_download.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < REFRESH_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    pub(crate) fn note_download(&self) {
        *self.last_download.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}
