//! WeChat's verification keys as the merchant holds them: a WeChat Pay public key, platform
//! certificates (configured, then downloaded from `/v3/certificates` and refreshed once
//! when a reply names an unknown serial), or both in the migration week.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use wxpay_core::v3::{Certificate, KeyError, KeySet, RsaPublicKey, WechatPayPublicKey};

/// One unknown serial triggers a download at most this often (never a loop of them).
const SAME_SERIAL_INTERVAL: Duration = Duration::from_secs(60);
/// Downloads triggered by unknown serials are at least this far apart by default, so
/// forged notifies naming made-up serials cannot make the server hammer WeChat.
pub const DEFAULT_REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(10);

/// What the merchant configured to verify WeChat with (protocol §3.10).
#[derive(Debug, Clone)]
pub struct WechatKeys {
    /// The WeChat Pay public key (`PUB_KEY_ID_...`), for merchants that have one.
    pub public_key: Option<WechatPayPublicKey>,
    /// Whether the merchant has platform certificates (then `/v3/certificates` is
    /// downloaded, and again when a reply names a serial not yet known). False for a
    /// merchant on the public key alone: it never calls `/v3/certificates`.
    pub platform_certificates: bool,
    /// Platform certificates known up front (optional; the download adds the others).
    pub certificates: Vec<Certificate>,
    /// The shortest time between two downloads an unknown serial triggers.
    pub refresh_min_interval: Duration,
}

impl WechatKeys {
    /// A merchant on a WeChat Pay public key (new merchants).
    pub fn public_key(key: WechatPayPublicKey) -> WechatKeys {
        WechatKeys {
            public_key: Some(key),
            platform_certificates: false,
            certificates: Vec::new(),
            refresh_min_interval: DEFAULT_REFRESH_MIN_INTERVAL,
        }
    }

    /// A merchant on platform certificates, downloaded from WeChat.
    pub fn platform_certificates() -> WechatKeys {
        WechatKeys {
            public_key: None,
            platform_certificates: true,
            certificates: Vec::new(),
            refresh_min_interval: DEFAULT_REFRESH_MIN_INTERVAL,
        }
    }

    /// The migration week: the public key and the certificates, both verify.
    pub fn migrating(key: WechatPayPublicKey) -> WechatKeys {
        WechatKeys {
            public_key: Some(key),
            platform_certificates: true,
            certificates: Vec::new(),
            refresh_min_interval: DEFAULT_REFRESH_MIN_INTERVAL,
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
    downloads: Mutex<Downloads>,
}

/// When certificates were last downloaded, and which unknown serials caused downloads.
#[derive(Debug, Default)]
struct Downloads {
    last: Option<Instant>,
    by_serial: HashMap<String, Instant>,
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
            downloads: Mutex::new(Downloads::default()),
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

    /// Whether the unknown `serial` may trigger a download now: once per serial a minute
    /// (never a loop), and not sooner than `refresh_min_interval` after the last download.
    pub(crate) fn may_refresh(&self, serial: &str) -> bool {
        if !self.configured.platform_certificates {
            return false;
        }
        let mut downloads = self.downloads.lock().unwrap_or_else(|p| p.into_inner());
        let recent = |at: &Instant, within: Duration| at.elapsed() < within;
        if downloads
            .last
            .is_some_and(|at| recent(&at, self.configured.refresh_min_interval))
            || downloads
                .by_serial
                .get(serial)
                .is_some_and(|at| recent(at, SAME_SERIAL_INTERVAL))
        {
            return false;
        }
        downloads
            .by_serial
            .retain(|_, at| recent(at, SAME_SERIAL_INTERVAL));
        // Bounded: serials are remembered for a minute, and at most one is added per
        // refresh interval.
        downloads
            .by_serial
            .insert(serial.to_owned(), Instant::now());
        downloads.last = Some(Instant::now());
        true
    }

    pub(crate) fn note_download(&self) {
        self.downloads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last = Some(Instant::now());
    }
}
