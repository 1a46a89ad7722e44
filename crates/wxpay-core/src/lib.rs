//! wxpay-core: the pure signing core of wxpay.
//!
//! Everything WeChat Pay and Mini Program login need that involves no I/O, no clock, no
//! randomness and no logging. It compiles natively and to `wasm32-unknown-unknown`. Time,
//! nonces and randomness come in from the caller.
//!
//! - [`v2`]: API v2 (XML, MD5 / HMAC-SHA256): canonical strings, signs, strict flat XML,
//!   pay notify verification (as a proof type), `wx.requestPayment` params, refund
//!   `req_info`.
//! - [`v3`] (feature `v3`, default): API v3 (JSON, RSA-SHA256, AES-256-GCM): keys and
//!   certificates, request signing, response and notify verification with platform
//!   certificates and WeChat Pay public keys, resources, v3 `wx.requestPayment` params.
//! - Shared by both versions: [`money`] (`Fen`, integer money), [`secret`] (keys that never
//!   print), [`miniprogram`] (login-state signatures, `encryptedData`).
//!
//! ```
//! use wxpay_core::ApiKey;
//! use wxpay_core::v2::{Params, SignType, sign};
//!
//! let key = ApiKey::new("192006250b4c09247ec02edce69f6a2d").unwrap();
//! let params: Params = [
//!     ("appid", "wxd930ea5d5a258f4f"),
//!     ("mch_id", "10000100"),
//!     ("device_info", "1000"),
//!     ("body", "test"),
//!     ("nonce_str", "ibuaiVcKdpRxkhJA"),
//! ]
//! .into_iter()
//! .collect();
//! assert_eq!(
//!     sign::sign(&params, &key, SignType::Md5).as_str(),
//!     "9A0A8659F005D6984697E2CA0A9CF3B7"
//! );
//! ```

mod hash;
pub mod miniprogram;
pub mod money;
pub mod push;
pub mod refund_status;
pub mod secret;
pub mod v2;
#[cfg(feature = "v3")]
pub mod v3;

pub use money::Fen;
pub use refund_status::RefundStatus;
pub use secret::{ApiKey, SessionKey};
