//! `wx.requestPayment` parameters for v2 (protocol.md §2.13): the five values the mini
//! program passes to `wx.requestPayment`, signed over `appId, nonceStr, package, signType,
//! timeStamp` (exact case). Nonce and time are inputs: this crate has no clock or RNG.

use serde::{Deserialize, Serialize};

use crate::secret::ApiKey;
use crate::v2::params::Params;
use crate::v2::sign::{self, SignType, VerifyError};

const PACKAGE_PREFIX: &str = "prepay_id=";
/// Unix seconds past this are almost certainly milliseconds (this is the year 5138).
const MAX_PLAUSIBLE_SECONDS: u64 = 100_000_000_000;

/// Exactly what `wx.requestPayment` takes (`RequestPaymentOption` minus the callbacks).
/// `timeStamp` is a string of seconds: a number here is the classic
/// "timeStamp should be String" failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPayment {
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentParamsError {
    #[error("appId is empty")]
    EmptyAppId,
    #[error("prepay_id is empty or contains whitespace")]
    BadPrepayId,
    #[error("nonceStr must be 1 to 32 characters without whitespace")]
    BadNonce,
    #[error("timeStamp {0} looks like milliseconds; wx.requestPayment wants Unix seconds")]
    TimestampInMillis(u64),
}

impl RequestPayment {
    /// Builds and signs the params for a `prepay_id` from unifiedorder. `sign_type` must be
    /// the type unifiedorder was called with.
    pub fn build(
        app_id: &str,
        prepay_id: &str,
        key: &ApiKey,
        sign_type: SignType,
        nonce_str: &str,
        timestamp_secs: u64,
    ) -> Result<RequestPayment, PaymentParamsError> {
        if app_id.is_empty() {
            return Err(PaymentParamsError::EmptyAppId);
        }
        if prepay_id.is_empty() || prepay_id.contains(char::is_whitespace) {
            return Err(PaymentParamsError::BadPrepayId);
        }
        if nonce_str.is_empty()
            || nonce_str.chars().count() > 32
            || nonce_str.contains(char::is_whitespace)
        {
            return Err(PaymentParamsError::BadNonce);
        }
        if timestamp_secs >= MAX_PLAUSIBLE_SECONDS {
            return Err(PaymentParamsError::TimestampInMillis(timestamp_secs));
        }
        let mut payment = RequestPayment {
            time_stamp: timestamp_secs.to_string(),
            nonce_str: nonce_str.to_owned(),
            package: format!("{PACKAGE_PREFIX}{prepay_id}"),
            sign_type: sign_type.as_str().to_owned(),
            pay_sign: String::new(),
        };
        payment.pay_sign = sign::sign(&payment.signed_params(app_id), key, sign_type)
            .as_str()
            .to_owned();
        Ok(payment)
    }

    /// The five signed fields, `appId` included (it is signed but not passed to
    /// `wx.requestPayment`). `paySign` is not part of the set.
    pub fn signed_params<'s>(&'s self, app_id: &'s str) -> Params<'s> {
        [
            ("appId", app_id),
            ("nonceStr", self.nonce_str.as_str()),
            ("package", self.package.as_str()),
            ("signType", self.sign_type.as_str()),
            ("timeStamp", self.time_stamp.as_str()),
        ]
        .into_iter()
        .collect()
    }

    /// The `prepay_id` inside `package`, if the package has the right shape.
    pub fn prepay_id(&self) -> Option<&str> {
        self.package
            .strip_prefix(PACKAGE_PREFIX)
            .filter(|id| !id.is_empty())
    }

    /// Checks `paySign` the way the WeChat client does: `signType` names the algorithm,
    /// the sign must be that algorithm's length, and it must match (constant time).
    pub fn verify(&self, app_id: &str, key: &ApiKey) -> Result<SignType, VerifyError> {
        let sign_type = self
            .sign_type
            .parse::<SignType>()
            .map_err(|_| VerifyError::UnknownSignType)?;
        let mut params = self.signed_params(app_id);
        params.insert("sign", self.pay_sign.as_str());
        sign::verify(&params, key, Some(sign_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "qazwsxedcrfvtgbyhnujmikolp111111";
    const APP_ID: &str = "wxd678efh567hg6787";

    fn official(sign_type: SignType) -> RequestPayment {
        RequestPayment::build(
            APP_ID,
            "wx2017033010242291fcfe0db70013231072",
            &ApiKey::new(KEY).unwrap(),
            sign_type,
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            1_490_840_662,
        )
        .unwrap()
    }

    #[test]
    fn builds_the_official_example() {
        let payment = official(SignType::Md5);
        assert_eq!(payment.pay_sign, "22D9B4E54AB1950F51E0649E8810ACD6");
        assert_eq!(payment.time_stamp, "1490840662");
        assert_eq!(
            payment.package,
            "prepay_id=wx2017033010242291fcfe0db70013231072"
        );
        assert_eq!(
            payment.prepay_id(),
            Some("wx2017033010242291fcfe0db70013231072")
        );
        let hmac = official(SignType::HmacSha256);
        assert_eq!(
            hmac.pay_sign,
            "FB9D1EFB5C509131BBFF729F88A99CA2DE9B724D06D3B3262832A53083862BC0"
        );
    }

    #[test]
    fn serializes_exactly_the_request_payment_shape() {
        let json = serde_json::to_value(official(SignType::Md5)).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            ["nonceStr", "package", "paySign", "signType", "timeStamp"]
        );
        assert!(json["timeStamp"].is_string());
    }

    #[test]
    fn verify_plays_the_client() {
        let key = ApiKey::new(KEY).unwrap();
        let payment = official(SignType::HmacSha256);
        assert_eq!(payment.verify(APP_ID, &key), Ok(SignType::HmacSha256));
        assert!(payment.verify("wx0000000000000000", &key).is_err());
        let mut wrong_type = payment.clone();
        wrong_type.sign_type = "MD5".into();
        assert!(wrong_type.verify(APP_ID, &key).is_err());
        let mut lower = official(SignType::Md5);
        lower.pay_sign = lower.pay_sign.to_lowercase();
        assert_eq!(lower.verify(APP_ID, &key), Ok(SignType::Md5));
    }

    #[test]
    fn refuses_bad_inputs() {
        let key = ApiKey::new(KEY).unwrap();
        let build = |app: &str, prepay: &str, nonce: &str, ts: u64| {
            RequestPayment::build(app, prepay, &key, SignType::Md5, nonce, ts)
        };
        assert_eq!(
            build("", "wx1", "n", 1).unwrap_err(),
            PaymentParamsError::EmptyAppId
        );
        assert_eq!(
            build("wx", "", "n", 1).unwrap_err(),
            PaymentParamsError::BadPrepayId
        );
        assert_eq!(
            build("wx", "wx1", &"n".repeat(33), 1).unwrap_err(),
            PaymentParamsError::BadNonce
        );
        assert_eq!(
            build("wx", "wx1", "n", 1_490_840_662_000).unwrap_err(),
            PaymentParamsError::TimestampInMillis(1_490_840_662_000)
        );
    }
}
