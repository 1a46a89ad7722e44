//! Genuine signed messages for tests (feature `testing`), in the spirit of Stripe's
//! `generate_test_header`: every test can make a real notify instead of a hand-edited one.

use crate::money::Fen;
use crate::secret::ApiKey;
use crate::v2::params::Params;
use crate::v2::sign::{self, SignType};
use crate::v2::xml;

/// Builds a successful JSAPI pay notify with every field WeChat sends, signed for real.
#[derive(Debug, Clone)]
pub struct PayNotifyBuilder {
    params: Params<'static>,
    sign_type: SignType,
    sign_type_field: bool,
}

impl PayNotifyBuilder {
    /// A notify for `out_trade_no` paid in full (`total_fee` = `cash_fee`).
    pub fn new(appid: &str, mch_id: &str, out_trade_no: &str, total_fee: Fen) -> Self {
        let fee = total_fee.to_string();
        let params = [
            ("return_code", "SUCCESS"),
            ("return_msg", "OK"),
            ("result_code", "SUCCESS"),
            ("appid", appid),
            ("mch_id", mch_id),
            ("device_info", "WEB"),
            ("nonce_str", "5d2b6c2a8db53831f7eda20af46e531c"),
            ("openid", "oUpF8uMEb4qRXf22hE3X68TekukE"),
            ("is_subscribe", "N"),
            ("trade_type", "JSAPI"),
            ("bank_type", "CFT"),
            ("total_fee", fee.as_str()),
            ("fee_type", "CNY"),
            ("cash_fee", fee.as_str()),
            ("cash_fee_type", "CNY"),
            ("transaction_id", "4200000001202611270000000001"),
            ("out_trade_no", out_trade_no),
            ("time_end", "20261127120000"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        PayNotifyBuilder {
            params,
            sign_type: SignType::Md5,
            sign_type_field: true,
        }
    }

    /// Signs with `sign_type`; `with_field` says whether the notify names it in a
    /// `sign_type` element (WeChat omits it on some HMAC-SHA256 notifies).
    pub fn sign_type(mut self, sign_type: SignType, with_field: bool) -> Self {
        self.sign_type = sign_type;
        self.sign_type_field = with_field;
        self
    }

    /// Sets any field (before signing), e.g. `openid`, `transaction_id`, `time_end`.
    pub fn field(mut self, key: &str, value: &str) -> Self {
        self.params.insert(key.to_owned(), value.to_owned());
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.params.remove(key);
        self
    }

    /// The signed field set.
    pub fn signed_params(&self, key: &ApiKey) -> Params<'static> {
        let mut params = self.params.clone();
        if self.sign_type_field {
            params.insert("sign_type", self.sign_type.as_str());
        }
        let signature = sign::sign(&params, key, self.sign_type);
        params.insert("sign", signature.as_str().to_owned());
        params
    }

    /// The notify body as WeChat would POST it.
    pub fn build_xml(&self, key: &ApiKey) -> String {
        // Field names here are fixed identifiers or the caller's; a bad name is a bug in
        // the test that calls this, so an empty body (which every verifier refuses) is fine.
        xml::to_xml(&self.signed_params(key)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::notify::verify_pay_notify;

    #[test]
    fn builds_notifies_that_verify() {
        let key = ApiKey::new("192006250b4c09247ec02edce69f6a2d").unwrap();
        for (sign_type, with_field) in [
            (SignType::Md5, true),
            (SignType::Md5, false),
            (SignType::HmacSha256, true),
            (SignType::HmacSha256, false),
        ] {
            let body = PayNotifyBuilder::new("wxapp", "10000100", "T1", Fen::new(250))
                .sign_type(sign_type, with_field)
                .field("openid", "o-payer")
                .build_xml(&key);
            let notify = verify_pay_notify(body.as_bytes(), &key, None).unwrap();
            assert_eq!(notify.sign_type(), sign_type);
            assert_eq!(notify.total_fee(), Fen::new(250));
            assert_eq!(notify.openid(), "o-payer");
        }
    }
}
