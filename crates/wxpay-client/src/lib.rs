//! wxpay-client: the calls a Mini Program backend makes to WeChat.
//!
//! - [`LoginClient::code2session`]: exchange a `wx.login` code for openid + session_key;
//!   [`LoginClient::stable_token`] and [`LoginClient::phone_number`] (getPhoneNumber);
//!   the order-shipping service ([`shipping`]: upload, get_order, confirm reminders).
//! - [`PayClient`]: `unifiedorder`, `orderquery`, `closeorder` (WeChat Pay v2, JSAPI), and
//!   with the merchant certificate `refund` (mutual TLS) and `refundquery`.
//! - [`v3::V3PayClient`]: JSAPI prepay, query, close and `/v3/certificates` (API v3), with
//!   WeChat's platform certificates, its public key, or both in the migration week.
//!
//! Every call has explicit connect and total timeouts. Retries happen only where WeChat
//! says a retry is safe (SYSTEMERROR, timeouts, 5xx, a reply whose signature does not
//! verify) and always resend the identical signed request, so an order can never be
//! created twice at WeChat. Every pay reply's signature is verified before any field is
//! used. Errors keep WeChat's codes. Base URLs are configurable, which is how the
//! simulator (`wxpay-sim`) stands in for WeChat.

mod bill;
mod http;
mod login;
mod mp;
mod pay;
mod refund;
mod retry;
pub mod shipping;
pub mod v3;

pub use bill::BillType;
pub use http::{
    ClientOptions, DEFAULT_MAX_BILL_BYTES, PRODUCTION_MP_BASE, PRODUCTION_PAY_BASE,
    build as build_http_client, install_crypto_provider,
};
pub use login::{LoginClient, LoginError, Session};
pub use mp::{AccessToken, MpError, PhoneNumber};
pub use pay::{CloseOutcome, PayClient, PayError, Prepay, QueriedTrade, TradeState, UnifiedOrder};
pub use refund::{
    CertificateError, MerchantCertificate, QueriedRefund, RefundAccepted, RefundRequest,
};
pub use retry::RetryPolicy;
