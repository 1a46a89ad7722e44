//! `wx.requestPayment` params for API v3 (protocol §3.5): paySign is an RSA signature by
//! the merchant's key over `appId\ntimeStamp\nnonceStr\npackage\n`, and signType is `RSA`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::request::{RequestError, check_timestamp, check_token};
use super::rsa::RsaPublicKey;

/// v3's only paySign type.
pub const SIGN_TYPE: &str = "RSA";
/// `package` is this and the prepay_id (the APP variant signs the bare prepay_id).
pub const PACKAGE_PREFIX: &str = "prepay_id=";

/// The five params to pass to `wx.requestPayment` (appId is signed, not passed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestPaymentV3 {
    /// Unix seconds, as a string.
    pub time_stamp: String,
    pub nonce_str: String,
    /// `prepay_id=...`.
    pub package: String,
    /// Always `RSA`.
    pub sign_type: String,
    /// Base64 RSA signature.
    pub pay_sign: String,
}

/// Why params cannot be built or do not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    Field(#[from] RequestError),
    #[error("appId must be the Mini Program's AppID (wx followed by 16 characters)")]
    AppId,
    #[error("prepay_id must be 1 to 64 letters, digits, - or _")]
    PrepayId,
    #[error("signType must be RSA for API v3 (MD5 and HMAC-SHA256 are v2 only)")]
    SignType,
    #[error("package must be prepay_id=<prepay_id>")]
    Package,
    #[error("paySign is not base64")]
    Base64,
    #[error("paySign does not verify with this key over appId, timeStamp, nonceStr and package")]
    BadSignature,
    #[error(transparent)]
    #[cfg(not(target_family = "wasm"))]
    Sign(#[from] super::signer::SignError),
}

/// `appId\ntimeStamp\nnonceStr\npackage\n`: what paySign signs.
pub fn pay_sign_message(app_id: &str, time_stamp: &str, nonce_str: &str, package: &str) -> String {
    let mut message = String::with_capacity(
        app_id.len() + time_stamp.len() + nonce_str.len() + package.len() + 4,
    );
    for line in [app_id, time_stamp, nonce_str, package] {
        message.push_str(line);
        message.push('\n');
    }
    message
}

fn check_app_id(app_id: &str) -> Result<(), PaymentError> {
    let ok = app_id.len() == 18
        && app_id.starts_with("wx")
        && app_id.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err(PaymentError::AppId) }
}

impl RequestPaymentV3 {
    /// The unsigned params and the message to sign, for a signer elsewhere (e.g. Node's
    /// `crypto.sign` in the npm package); complete them with [`Self::with_signature`].
    pub fn unsigned(
        app_id: &str,
        prepay_id: &str,
        nonce_str: &str,
        seconds: i64,
    ) -> Result<(RequestPaymentV3, String), PaymentError> {
        check_app_id(app_id)?;
        check_token("prepay_id", prepay_id, 64).map_err(|_| PaymentError::PrepayId)?;
        check_token("nonceStr", nonce_str, 32)?;
        check_timestamp(seconds)?;
        let params = RequestPaymentV3 {
            time_stamp: seconds.to_string(),
            nonce_str: nonce_str.to_owned(),
            package: format!("{PACKAGE_PREFIX}{prepay_id}"),
            sign_type: SIGN_TYPE.to_owned(),
            pay_sign: String::new(),
        };
        let message = params.message(app_id);
        Ok((params, message))
    }

    /// The params with their base64 signature.
    pub fn with_signature(mut self, pay_sign: String) -> RequestPaymentV3 {
        self.pay_sign = pay_sign;
        self
    }

    /// Signed with the merchant's private key (natively).
    #[cfg(not(target_family = "wasm"))]
    pub fn build(
        app_id: &str,
        prepay_id: &str,
        key: &super::signer::RsaPrivateKey,
        nonce_str: &str,
        seconds: i64,
    ) -> Result<RequestPaymentV3, PaymentError> {
        let (params, message) = RequestPaymentV3::unsigned(app_id, prepay_id, nonce_str, seconds)?;
        let pay_sign = key.sign_base64(message.as_bytes())?;
        Ok(params.with_signature(pay_sign))
    }

    /// The message these params sign for `app_id`.
    pub fn message(&self, app_id: &str) -> String {
        pay_sign_message(app_id, &self.time_stamp, &self.nonce_str, &self.package)
    }

    /// The prepay_id inside `package`.
    pub fn prepay_id(&self) -> Option<&str> {
        self.package
            .strip_prefix(PACKAGE_PREFIX)
            .filter(|id| !id.is_empty())
    }

    /// Checks the params the way the WeChat client does: signType RSA, a `prepay_id=`
    /// package, and a paySign by the merchant's key (its certificate's public key).
    pub fn verify(&self, app_id: &str, merchant_key: &RsaPublicKey) -> Result<(), PaymentError> {
        if self.sign_type != SIGN_TYPE {
            return Err(PaymentError::SignType);
        }
        if self.prepay_id().is_none() {
            return Err(PaymentError::Package);
        }
        let signature = STANDARD
            .decode(&self.pay_sign)
            .map_err(|_| PaymentError::Base64)?;
        if merchant_key.verify_sha256(self.message(app_id).as_bytes(), &signature) {
            Ok(())
        } else {
            Err(PaymentError::BadSignature)
        }
    }
}
