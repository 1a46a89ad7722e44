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
//!
//! A notify, end to end (WeChat's side played by a test key: the example has no network):
//!
//! ```
//! use wxpay_core::Fen;
//! use wxpay_core::v3::aead::{self, ApiV3Key};
//! use wxpay_core::v3::payloads::ExpectedOrder;
//! use wxpay_core::v3::verify::{KeySet, SignatureHeaders, signed_message};
//! use wxpay_core::v3::{RsaPrivateKey, WechatPayPublicKey, verify_notify};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // WeChat Pay's key (a test key here) and what the merchant platform shows for it.
//! let wechat = RsaPrivateKey::from_pem(include_str!("../../tests/data/merchant_key_pkcs1.pem"))?;
//! let public_pem = include_str!("../../tests/data/test_public_key.pem");
//! let id = "PUB_KEY_ID_0114232134912410000000000000000004";
//! let api_v3_key = "0123456789abcdefghijklmnopqrstuv";
//!
//! // WeChat encrypts the payment and signs the notify body.
//! let payment = r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"20261130120000123456789012","transaction_id":"4200000001202611301234567890","trade_state":"SUCCESS","amount":{"total":2800,"currency":"CNY"}}"#;
//! let ciphertext = aead::encrypt(api_v3_key.as_bytes(), "fdasflkja484", "transaction", payment.as_bytes())?;
//! let body = format!(
//!     r#"{{"id":"EV-1","create_time":"2026-11-30T12:00:01+08:00","resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS","summary":"支付成功","resource":{{"original_type":"transaction","algorithm":"AEAD_AES_256_GCM","ciphertext":"{ciphertext}","associated_data":"transaction","nonce":"fdasflkja484"}}}}"#
//! );
//! let (timestamp, nonce) = ("1764475201", "pO2pnjCbyc8OCPCCa2Wv4ZbXt7ZvA8d7");
//! let signature = wechat.sign_base64(&signed_message(timestamp, nonce, body.as_bytes()))?;
//!
//! // The merchant's server: WeChat's key by its id, then verify (raw body), decrypt, check.
//! let mut keys = KeySet::new();
//! keys.add_public_key(WechatPayPublicKey::from_pem(id, public_pem)?)?;
//! let headers = SignatureHeaders {
//!     timestamp,
//!     nonce,
//!     signature: &signature,
//!     serial: id,
//!     signature_type: Some("WECHATPAY2-SHA256-RSA2048"),
//! };
//! let now = 1_764_475_230; // the server's clock, Unix seconds
//! let notify = verify_notify(&keys, &headers, body.as_bytes(), now)?;
//! let decrypted = notify.decrypt(&ApiV3Key::new(api_v3_key)?)?;
//! let payment = decrypted.transaction()?;
//! payment.check_matches(&ExpectedOrder {
//!     appid: "wxd678efh567hg6787",
//!     mchid: "1230000109",
//!     out_trade_no: "20261130120000123456789012",
//!     total: Fen::new(2800),
//! })?;
//! // ... mark the order paid exactly once, then answer 204.
//!
//! // Tampered, replayed late, or a WeChat probe: refused, each with its own error.
//! assert!(verify_notify(&keys, &headers, br#"{"id":"EV-2"}"#, now).is_err());
//! assert!(verify_notify(&keys, &headers, body.as_bytes(), now + 300).is_err());
//! # Ok(())
//! # }
//! ```

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
#[cfg(all(feature = "testing", not(target_family = "wasm")))]
pub mod testing;
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
