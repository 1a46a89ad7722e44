//! WeChat Pay API v3: JSON over HTTPS, RSA-SHA256 signatures both ways, AES-256-GCM
//! resources (protocol §3).
//!
//! - [`keys`]: certificates (the merchant's, WeChat's platform ones) and WeChat Pay public
//!   keys (`PUB_KEY_ID_...`), with errors that say which file is which;
//! - [`signer`] (native only): the merchant's private key, constant-time signing;
//! - [`request`]: the signed request message and its `Authorization` header;
//! - [`verify`]: response and notify signatures, a [`verify::KeySet`] keyed by
//!   `Wechatpay-Serial` (certificates, public keys, or both in the migration week), the
//!   300 s window, signature probes; a [`verify::VerifiedBody`] proof;
//! - [`aead`]: the APIv3 key and AES-GCM resources; [`notify`]: verified, then decrypted
//!   notifies; [`payloads`]: payments and refunds, checked against the order;
//! - [`certificates`]: `/v3/certificates` entries; [`payment`]: v3 `wx.requestPayment`.
//!
//! Natively the RSA and AES-GCM operations run on aws-lc-rs; in WebAssembly only
//! public-key operations exist, on RustCrypto.

pub mod aead;
mod base64;
pub mod certificates;
pub mod keys;
pub mod notify;
pub mod payloads;
pub mod payment;
pub mod pem;
pub mod request;
pub mod rsa;
#[cfg(not(target_family = "wasm"))]
pub mod signer;
pub mod verify;

pub use aead::ApiV3Key;
pub use keys::{Certificate, KeyError, WechatPayPublicKey};
pub use notify::{DecryptedNotify, VerifiedNotify, verify_notify};
pub use payment::RequestPaymentV3;
pub use request::{Authorization, RequestToSign};
pub use rsa::RsaPublicKey;
#[cfg(not(target_family = "wasm"))]
pub use signer::RsaPrivateKey;
pub use verify::{KeySet, SignatureHeaders, VerifiedBody, VerifyError};
