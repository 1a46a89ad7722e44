//! WeChat Pay API v2: XML over HTTPS, MD5 / HMAC-SHA256 signs with the 32-character API
//! key. Canonical strings, signs, the strict flat XML codec, pay notify verification (a
//! proof type), the replies to notifies, `wx.requestPayment` params and refund `req_info`.

pub mod bill;
pub mod notify;
pub mod params;
pub mod payment;
pub mod refund;
pub mod reply;
pub mod sign;
#[cfg(feature = "testing")]
pub mod testing;
pub mod xml;

pub use notify::{UnverifiedPayNotify, VerifiedPayNotify, verify_pay_notify};
pub use params::Params;
pub use payment::RequestPayment;
pub use sign::{Sign, SignType};
