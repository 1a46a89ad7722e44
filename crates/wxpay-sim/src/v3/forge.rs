//! The keys and certificates the simulator plays WeChat Pay with (and, for sandbox
//! merchants that did not bring their own, the merchant's API key and certificate).
//!
//! Every key is an RSA-2048 key derived from the simulator's seed, the merchant and the
//! key's role, so one seed gives the same keys and certificates on every run: a backend
//! configured from `GET /sim/merchants/{mchid}/v3-keys` keeps working after the
//! simulator restarts. Generation takes ~0.4 s a key, so keys are made when first needed
//! and kept for the life of the process (a pure function of its inputs, so caching
//! changes nothing but the time). Certificates are signed by a simulator root key through
//! wxpay-core's aws-lc-rs signer, like every private-key operation here.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};
use wxpay_core::v3::{Certificate, RsaPrivateKey, RsaPublicKey};
use x509_cert::der::asn1::{BitString, Ia5String, OctetString, UtcTime};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Any, Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};
use x509_cert::{TbsCertificate, Version};

/// sha256WithRSAEncryption (RFC 4055): how every certificate here is signed.
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// id-ce-subjectAltName.
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// id-kp-serverAuth (RFC 5280 §4.2.1.12).
const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

const DAY: u64 = 24 * 60 * 60;
/// 2025-01-01T00:00:00Z: certificates start from fixed dates (not "now"), so they are
/// the same on every run; they stay valid for years.
const EPOCH_2025: u64 = 1_735_689_600;
const YEARS_5: u64 = 5 * 365 * DAY;

/// What a key is for. Platform certificates are numbered: each rotation adds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The simulator's root, which issues every certificate.
    Authority,
    /// The merchant's API key (`apiclient_key.pem`) and certificate.
    Merchant,
    /// WeChat Pay platform certificate number `n` (0 first, then one per rotation).
    Platform(u32),
    /// The WeChat Pay public key (`PUB_KEY_ID_...`).
    PublicKey,
    /// The TLS server certificate of the simulator's `/secapi` listener (one per seed).
    TlsServer,
}

impl Role {
    fn label(self) -> String {
        match self {
            Role::Authority => "authority".to_owned(),
            Role::Merchant => "merchant".to_owned(),
            Role::Platform(n) => format!("platform-{n}"),
            Role::PublicKey => "public-key".to_owned(),
            Role::TlsServer => "tls-server".to_owned(),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot make the simulator's {what}: {why}")]
pub struct ForgeError {
    what: String,
    why: String,
}

impl ForgeError {
    pub(crate) fn new(what: impl Into<String>, why: impl std::fmt::Display) -> ForgeError {
        ForgeError {
            what: what.into(),
            why: why.to_string(),
        }
    }
}

/// A generated key pair. Sandbox material: its PEM is handed out by the control API.
pub struct ForgedKey {
    pub signer: RsaPrivateKey,
    pub public: RsaPublicKey,
    /// PKCS#8 (`BEGIN PRIVATE KEY`), like `apiclient_key.pem`.
    pub private_pem: String,
    /// SPKI (`BEGIN PUBLIC KEY`), like WeChat Pay's `pub_key.pem`.
    pub public_pem: String,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for ForgedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForgedKey").finish_non_exhaustive()
    }
}

/// A certificate for a generated key.
#[derive(Debug)]
pub struct ForgedCertificate {
    pub key: Arc<ForgedKey>,
    pub certificate: Certificate,
    pub pem: String,
}

impl ForgedCertificate {
    /// Upper-case hex, as WeChat writes serials.
    pub fn serial_no(&self) -> &str {
        self.certificate.serial_no()
    }
}

type Slot<T> = Arc<OnceLock<Result<Arc<T>, ForgeError>>>;
/// Made things by (seed, merchant, role), each made once.
type Table<T> = OnceLock<Mutex<HashMap<(u64, String, Role), Slot<T>>>>;

/// The process's keys and certificates, by (seed, merchant, role).
fn memo<T: Send + Sync + 'static>(
    table: &'static Table<T>,
    seed: u64,
    mchid: &str,
    role: Role,
    make: impl FnOnce() -> Result<Arc<T>, ForgeError>,
) -> Result<Arc<T>, ForgeError> {
    let slot = {
        let mut map = table
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(map.entry((seed, mchid.to_owned(), role)).or_default())
    };
    // Outside the table's lock: another key can be made meanwhile; a second caller for
    // this one waits for the first.
    slot.get_or_init(make).clone()
}

static KEYS: Table<ForgedKey> = OnceLock::new();
static CERTIFICATES: Table<ForgedCertificate> = OnceLock::new();

/// 32 bytes for one purpose, from the seed and the merchant.
fn derive(seed: u64, mchid: &str, purpose: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"wxpay-sim v3\0");
    hash.update(seed.to_be_bytes());
    hash.update(mchid.as_bytes());
    hash.update(b"\0");
    hash.update(purpose.as_bytes());
    hash.finalize().into()
}

/// Roles of the simulator itself, not of a merchant.
fn simulator_wide(role: Role) -> bool {
    matches!(role, Role::Authority | Role::TlsServer)
}

/// The merchant's key of `role` (the simulator's own roles ignore `mchid`).
pub fn key(seed: u64, mchid: &str, role: Role) -> Result<Arc<ForgedKey>, ForgeError> {
    let mchid = if simulator_wide(role) { "" } else { mchid };
    memo(&KEYS, seed, mchid, role, || {
        generate(derive(seed, mchid, &role.label())).map(Arc::new)
    })
}

fn generate(seed: [u8; 32]) -> Result<ForgedKey, ForgeError> {
    let fail = |why: &dyn std::fmt::Display| ForgeError::new("RSA key", why);
    let mut rng = ChaCha20Rng::from_seed(seed);
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| fail(&e))?;
    let private_pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| fail(&e))?;
    let public = key.to_public_key();
    let public_pem = public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| fail(&e))?;
    let spki_der = public.to_public_key_der().map_err(|e| fail(&e))?.into_vec();
    let signer = RsaPrivateKey::from_pem(&private_pem).map_err(|e| fail(&e))?;
    Ok(ForgedKey {
        public: signer.public_key().clone(),
        signer,
        private_pem: private_pem.to_string(),
        public_pem,
        spki_der,
    })
}

/// The certificate of the merchant's key of `role` (`Merchant` or `Platform(n)`; the
/// authority's is self-issued).
pub fn certificate(
    seed: u64,
    mchid: &str,
    role: Role,
) -> Result<Arc<ForgedCertificate>, ForgeError> {
    let mchid = if simulator_wide(role) { "" } else { mchid };
    memo(&CERTIFICATES, seed, mchid, role, || {
        let subject = match role {
            Role::Authority => "CN=wxpay-sim Root CA,O=wxpay-sim,C=CN".to_owned(),
            Role::Merchant => {
                format!("CN={mchid},OU=wxpay-sim merchant,O=WeChat Pay merchant,C=CN")
            }
            Role::Platform(_) | Role::PublicKey => {
                "CN=Tenpay.com (wxpay-sim),OU=Tenpay.com,O=Tencent,L=Shenzhen,ST=Guangdong,C=CN"
                    .to_owned()
            }
            Role::TlsServer => "CN=api.mch.weixin.qq.com (wxpay-sim),O=wxpay-sim,C=CN".to_owned(),
        };
        // The root says it is a CA that signs certificates, and the TLS server certificate
        // what it is for and which hosts it names (clients check the SAN, not the CN):
        // OpenSSL-based clients (Python's requests, curl, `openssl s_client`) refuse a
        // root without them, where rustls takes any trust anchor.
        let extensions = match role {
            Role::Authority => vec![
                extension(
                    BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints {
                        ca: true,
                        path_len_constraint: Some(0),
                    },
                )?,
                extension(
                    KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                )?,
            ],
            Role::TlsServer => vec![
                extension(
                    BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints {
                        ca: false,
                        path_len_constraint: None,
                    },
                )?,
                extension(
                    KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment),
                )?,
                extension(
                    EXTENDED_KEY_USAGE,
                    false,
                    &ExtendedKeyUsage(vec![SERVER_AUTH]),
                )?,
                subject_alt_names()?,
            ],
            _ => Vec::new(),
        };
        let starts = match role {
            Role::Platform(n) => EPOCH_2025 + u64::from(n) * DAY,
            _ => EPOCH_2025,
        };
        let authority = key(seed, mchid, Role::Authority)?;
        let subject_key = key(seed, mchid, role)?;
        let serial = derive(seed, mchid, &format!("serial {}", role.label()));
        issue(
            &subject_key,
            &authority,
            &serial,
            &subject,
            starts,
            extensions,
        )
        .map(Arc::new)
    })
}

fn issue(
    key: &Arc<ForgedKey>,
    authority: &ForgedKey,
    serial_seed: &[u8; 32],
    subject: &str,
    starts: u64,
    extensions: Vec<Extension>,
) -> Result<ForgedCertificate, ForgeError> {
    let fail = |why: &dyn std::fmt::Display| ForgeError::new(format!("certificate {subject}"), why);
    // 20 bytes, positive and without a leading zero byte: 40 hex digits, like WeChat's.
    let mut serial = serial_seed.get(..20).unwrap_or_default().to_vec();
    if let Some(first) = serial.first_mut() {
        *first = (*first & 0x7f) | 0x10;
    }
    let algorithm = AlgorithmIdentifierOwned {
        oid: SHA256_WITH_RSA,
        parameters: Some(Any::null()),
    };
    let time = |seconds: u64| {
        UtcTime::from_unix_duration(Duration::from_secs(seconds))
            .map(Time::UtcTime)
            .map_err(|e| fail(&e))
    };
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(|e| fail(&e))?,
        signature: algorithm.clone(),
        issuer: Name::from_str("CN=wxpay-sim Root CA,O=wxpay-sim,C=CN").map_err(|e| fail(&e))?,
        validity: Validity {
            not_before: time(starts)?,
            not_after: time(starts + YEARS_5)?,
        },
        subject: Name::from_str(subject).map_err(|e| fail(&e))?,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&key.spki_der)
            .map_err(|e| fail(&e))?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: (!extensions.is_empty()).then_some(extensions),
    };
    let tbs_der = tbs.to_der().map_err(|e| fail(&e))?;
    let signature = authority
        .signer
        .sign_sha256(&tbs_der)
        .map_err(|e| fail(&e))?;
    let der = x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(|e| fail(&e))?,
    }
    .to_der()
    .map_err(|e| fail(&e))?;
    let pem = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &der)
        .map_err(|e| fail(&e))?;
    Ok(ForgedCertificate {
        key: Arc::clone(key),
        certificate: Certificate::from_der(&der).map_err(|e| fail(&e))?,
        pem,
    })
}

/// An extension of `value`'s DER.
fn extension(
    id: ObjectIdentifier,
    critical: bool,
    value: &impl Encode,
) -> Result<Extension, ForgeError> {
    let fail = |why: &dyn std::fmt::Display| ForgeError::new(format!("extension {id}"), why);
    Ok(Extension {
        extn_id: id,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(|e| fail(&e))?)
            .map_err(|e| fail(&e))?,
    })
}

/// subjectAltName (RFC 5280 §4.2.1.6): the names a client may reach the `/secapi`
/// listener by on this machine.
fn subject_alt_names() -> Result<Extension, ForgeError> {
    let fail = |why: &dyn std::fmt::Display| ForgeError::new("subjectAltName", why);
    let dns = |name: &str| {
        Ia5String::new(name)
            .map(GeneralName::DnsName)
            .map_err(|e| fail(&e))
    };
    let names = SubjectAltName(vec![
        dns("localhost")?,
        dns("api.mch.weixin.qq.com")?,
        GeneralName::IpAddress(OctetString::new([127, 0, 0, 1]).map_err(|e| fail(&e))?),
    ]);
    Ok(Extension {
        extn_id: SUBJECT_ALT_NAME,
        critical: false,
        extn_value: OctetString::new(names.to_der().map_err(|e| fail(&e))?)
            .map_err(|e| fail(&e))?,
    })
}

/// The merchant's WeChat Pay public key id: `PUB_KEY_ID_` and 32 digits.
pub fn public_key_id(seed: u64, mchid: &str) -> String {
    let digits: String = derive(seed, mchid, "public key id")
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    format!("PUB_KEY_ID_{digits}")
}

/// The merchant's APIv3 key when none is configured: 32 letters and digits.
pub fn apiv3_key(seed: u64, mchid: &str) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    derive(seed, mchid, "apiv3 key")
        .iter()
        .map(|b| {
            char::from(
                ALNUM
                    .get(usize::from(*b) % ALNUM.len())
                    .copied()
                    .unwrap_or(b'0'),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_keys_and_another_seed_others() {
        let first = certificate(7, "1900000109", Role::Platform(0)).unwrap();
        let again = certificate(7, "1900000109", Role::Platform(0)).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "kept for the process");
        // Derived, not remembered: regenerating from the seed gives the same key.
        let regenerated = generate(derive(7, "1900000109", "platform-0")).unwrap();
        assert_eq!(regenerated.private_pem, first.key.private_pem);
        let other_seed = key(8, "1900000109", Role::Platform(0)).unwrap();
        assert_ne!(other_seed.public_pem, first.key.public_pem);
        let other_role = key(7, "1900000109", Role::PublicKey).unwrap();
        assert_ne!(other_role.public_pem, first.key.public_pem);
    }

    #[test]
    fn certificates_load_in_the_core_and_verify_against_the_authority() {
        let merchant = certificate(1, "1900000109", Role::Merchant).unwrap();
        let parsed = Certificate::from_pem(&merchant.pem).unwrap();
        assert_eq!(parsed.serial_no(), merchant.serial_no());
        assert_eq!(parsed.serial_no().len(), 40);
        assert!(
            parsed
                .serial_no()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
        );
        assert_eq!(parsed.common_name(), Some("1900000109"));
        assert!(parsed.is_valid_at(1_764_475_200), "valid on 2025-11-30");
        assert!(!parsed.is_valid_at(EPOCH_2025 as i64 - 1));
        merchant.key.signer.check_matches(&parsed).unwrap();
        // Issued by the simulator's root: its signature over the TBS part verifies.
        let (_, der) = pem_rfc7468::decode_vec(merchant.pem.as_bytes()).unwrap();
        let x509 = x509_cert::Certificate::from_der(&der).unwrap();
        let tbs = x509.tbs_certificate.to_der().unwrap();
        let signature = x509.signature.raw_bytes();
        let root = key(1, "", Role::Authority).unwrap();
        assert!(root.public.verify_sha256(&tbs, signature));
        assert!(!merchant.key.public.verify_sha256(&tbs, signature));
        // The private key is PKCS#8, as apiclient_key.pem is.
        assert!(
            merchant
                .key
                .private_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        let other = certificate(1, "1900000109", Role::Platform(1)).unwrap();
        assert_ne!(other.serial_no(), merchant.serial_no());
    }

    #[test]
    fn ids_and_api_keys_have_wechat_shapes() {
        let id = public_key_id(3, "1900000109");
        assert_eq!(id.len(), "PUB_KEY_ID_".len() + 32);
        wxpay_core::v3::keys::check_public_key_id(&id).unwrap();
        assert_ne!(id, public_key_id(3, "1900000110"));
        let key = apiv3_key(3, "1900000109");
        wxpay_core::v3::ApiV3Key::new(&key).unwrap();
        assert_eq!(key, apiv3_key(3, "1900000109"));
    }
}
