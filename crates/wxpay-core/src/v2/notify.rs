//! Pay result notify verification (protocol.md §2.11).
//!
//! [`VerifiedPayNotify`] is a proof: only [`UnverifiedPayNotify::verify`] can build one, so
//! code that marks an order paid by taking it cannot be reached with an unchecked message.
//!
//! ```
//! use wxpay_core::v2::notify::ExpectedOrder;
//! use wxpay_core::v2::{SignType, reply, verify_pay_notify};
//! use wxpay_core::{ApiKey, Fen};
//!
//! /// The heart of a notify handler, on the raw body bytes. Returns the reply for WeChat.
//! fn handle_notify(body: &[u8], key: &ApiKey) -> String {
//!     // The sign type the order was created with (binding), here HMAC-SHA256.
//!     let notify = match verify_pay_notify(body, key, Some(SignType::HmacSha256)) {
//!         Ok(notify) => notify,
//!         Err(e) => return reply::fail_reply(&e.to_string()),
//!     };
//!     // Compare with the stored order (looked up by notify.out_trade_no()).
//!     let order = ExpectedOrder {
//!         appid: "wxd930ea5d5a258f4f",
//!         mch_id: "10000100",
//!         out_trade_no: notify.out_trade_no(),
//!         total_fee: Fen::new(888),
//!     };
//!     if let Err(mismatch) = notify.check_matches(&order) {
//!         return reply::fail_reply(&mismatch.to_string());
//!     }
//!     // ... mark the order paid exactly once, in one DB transaction ...
//!     reply::SUCCESS_REPLY.to_owned()
//! }
//! # let key = ApiKey::new("192006250b4c09247ec02edce69f6a2d").unwrap();
//! # assert!(handle_notify(b"<xml/>", &key).contains("FAIL"));
//! ```

use crate::money::{Fen, FenError};
use crate::secret::ApiKey;
use crate::v2::params::Params;
use crate::v2::sign::{self, SignType, VerifyError};
use crate::v2::xml::{self, XmlError};

const SUCCESS: &str = "SUCCESS";

/// Why a notify was not accepted. The server answers FAIL for every variant and changes
/// nothing; the variants say what to log and count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error("notify body is not acceptable XML: {0}")]
    Xml(#[from] XmlError),
    /// `return_code` is not SUCCESS: a communication-level failure report, not a payment.
    #[error("notify return_code is not SUCCESS")]
    ReturnFail { return_msg: Option<String> },
    #[error("notify signature check failed: {0}")]
    Signature(#[from] VerifyError),
    /// Genuine (signature verified) but reports a failed payment.
    #[error("notify result_code is not SUCCESS (err_code {err_code:?})")]
    ResultFail { err_code: Option<String> },
    #[error("notify lacks required field {0}")]
    MissingField(&'static str),
    #[error("notify field {field} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

/// A parsed notify whose signature has not been checked. Its fields are attacker-controlled:
/// use them only to find which order (and so which sign type) to verify against.
#[derive(Debug, Clone)]
pub struct UnverifiedPayNotify<'a> {
    params: Params<'a>,
}

impl<'a> UnverifiedPayNotify<'a> {
    /// Parses the raw body (strict XML, default size limit) and checks `return_code`.
    pub fn parse(body: &'a [u8]) -> Result<Self, NotifyError> {
        Self::from_params(xml::parse(body)?)
    }

    /// Wraps fields parsed elsewhere (e.g. with a custom size limit).
    pub fn from_params(params: Params<'a>) -> Result<Self, NotifyError> {
        if params.get("return_code") != Some(SUCCESS) {
            let return_msg = params
                .get("return_msg")
                .map(|m| m.chars().take(128).collect());
            return Err(NotifyError::ReturnFail { return_msg });
        }
        Ok(UnverifiedPayNotify { params })
    }

    /// The claimed `out_trade_no`, for looking the order up. Not trustworthy yet.
    pub fn claimed_out_trade_no(&self) -> Option<&str> {
        self.params.get("out_trade_no")
    }

    pub fn params(&self) -> &Params<'a> {
        &self.params
    }

    /// Checks the signature over every received field, then the business result and the
    /// required fields. `expected_sign_type` is the type the order was created with, when
    /// known; it is binding (see [`sign::resolve_sign_type`]).
    pub fn verify(
        self,
        key: &ApiKey,
        expected_sign_type: Option<SignType>,
    ) -> Result<VerifiedPayNotify<'a>, NotifyError> {
        let sign_type = sign::verify(&self.params, key, expected_sign_type)?;
        let params = self.params;
        let fields = NotifyFields::collect(&params);
        if fields.result_code != Some(SUCCESS) {
            let err_code = fields.err_code.map(|c| c.chars().take(64).collect());
            return Err(NotifyError::ResultFail { err_code });
        }
        if let Some(missing) = fields.first_missing() {
            return Err(NotifyError::MissingField(missing));
        }
        let total_fee = amount(fields.total_fee, "total_fee")?;
        if !total_fee.is_positive() {
            return Err(NotifyError::InvalidField {
                field: "total_fee",
                reason: "must be at least 1 fen".into(),
            });
        }
        let cash_fee = match fields.cash_fee {
            None | Some("") => None,
            cash_fee => Some(amount(cash_fee, "cash_fee")?),
        };
        let time_end = fields.time_end.unwrap_or_default();
        if time_end.len() != 14 || !time_end.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NotifyError::InvalidField {
                field: "time_end",
                reason: "must be yyyyMMddHHmmss".into(),
            });
        }
        Ok(VerifiedPayNotify {
            params,
            sign_type,
            total_fee,
            cash_fee,
        })
    }
}

/// The fields verification looks at, gathered in one pass over the (sorted) map instead
/// of a dozen separate lookups: this runs on every notify.
#[derive(Default)]
struct NotifyFields<'p> {
    result_code: Option<&'p str>,
    err_code: Option<&'p str>,
    total_fee: Option<&'p str>,
    cash_fee: Option<&'p str>,
    time_end: Option<&'p str>,
    appid: Option<&'p str>,
    mch_id: Option<&'p str>,
    openid: Option<&'p str>,
    out_trade_no: Option<&'p str>,
    transaction_id: Option<&'p str>,
}

impl<'p> NotifyFields<'p> {
    fn collect(params: &'p Params<'_>) -> Self {
        let mut fields = NotifyFields::default();
        for (key, value) in params.iter() {
            let slot = match key {
                "result_code" => &mut fields.result_code,
                "err_code" => &mut fields.err_code,
                "total_fee" => &mut fields.total_fee,
                "cash_fee" => &mut fields.cash_fee,
                "time_end" => &mut fields.time_end,
                "appid" => &mut fields.appid,
                "mch_id" => &mut fields.mch_id,
                "openid" => &mut fields.openid,
                "out_trade_no" => &mut fields.out_trade_no,
                "transaction_id" => &mut fields.transaction_id,
                _ => continue,
            };
            *slot = Some(value);
        }
        fields
    }

    /// The first field a successful JSAPI pay notify always carries that is absent or empty.
    fn first_missing(&self) -> Option<&'static str> {
        [
            ("appid", self.appid),
            ("mch_id", self.mch_id),
            ("openid", self.openid),
            ("out_trade_no", self.out_trade_no),
            ("transaction_id", self.transaction_id),
            ("total_fee", self.total_fee),
            ("time_end", self.time_end),
        ]
        .into_iter()
        .find(|(_, value)| value.is_none_or(str::is_empty))
        .map(|(name, _)| name)
    }
}

fn amount(value: Option<&str>, field: &'static str) -> Result<Fen, NotifyError> {
    Fen::parse_wechat(value.unwrap_or_default()).map_err(|e: FenError| NotifyError::InvalidField {
        field,
        reason: e.to_string(),
    })
}

/// Parses and verifies a pay notify in one step.
pub fn verify_pay_notify<'a>(
    body: &'a [u8],
    key: &ApiKey,
    expected_sign_type: Option<SignType>,
) -> Result<VerifiedPayNotify<'a>, NotifyError> {
    UnverifiedPayNotify::parse(body)?.verify(key, expected_sign_type)
}

/// A pay notify whose signature verified and whose result is SUCCESS, with its required
/// fields present and well-formed. Only this module can build one.
#[derive(Debug, Clone)]
pub struct VerifiedPayNotify<'a> {
    params: Params<'a>,
    sign_type: SignType,
    total_fee: Fen,
    cash_fee: Option<Fen>,
}

/// What the merchant's own order record says; a notify must agree with all of it.
#[derive(Debug, Clone, Copy)]
pub struct ExpectedOrder<'e> {
    pub appid: &'e str,
    pub mch_id: &'e str,
    pub out_trade_no: &'e str,
    pub total_fee: Fen,
}

/// The first field where a verified notify disagrees with the stored order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notify {0} does not match the order")]
pub struct OrderMismatch(pub &'static str);

impl<'a> VerifiedPayNotify<'a> {
    fn field(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_default()
    }

    pub fn appid(&self) -> &str {
        self.field("appid")
    }

    pub fn mch_id(&self) -> &str {
        self.field("mch_id")
    }

    pub fn openid(&self) -> &str {
        self.field("openid")
    }

    pub fn out_trade_no(&self) -> &str {
        self.field("out_trade_no")
    }

    pub fn transaction_id(&self) -> &str {
        self.field("transaction_id")
    }

    /// `yyyyMMddHHmmss`, Beijing time.
    pub fn time_end(&self) -> &str {
        self.field("time_end")
    }

    pub fn total_fee(&self) -> Fen {
        self.total_fee
    }

    pub fn cash_fee(&self) -> Option<Fen> {
        self.cash_fee
    }

    pub fn trade_type(&self) -> Option<&str> {
        self.params.get("trade_type")
    }

    pub fn bank_type(&self) -> Option<&str> {
        self.params.get("bank_type")
    }

    pub fn fee_type(&self) -> Option<&str> {
        self.params.get("fee_type")
    }

    pub fn attach(&self) -> Option<&str> {
        self.params.get("attach")
    }

    /// The sign type the signature verified with.
    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    /// Every received field, unknown ones included.
    pub fn params(&self) -> &Params<'a> {
        &self.params
    }

    /// Integrity check against the stored order (defends against a genuine notify of
    /// another order or merchant being replayed, and against amount mismatches).
    pub fn check_matches(&self, order: &ExpectedOrder<'_>) -> Result<(), OrderMismatch> {
        if self.out_trade_no() != order.out_trade_no {
            return Err(OrderMismatch("out_trade_no"));
        }
        if self.total_fee != order.total_fee {
            return Err(OrderMismatch("total_fee"));
        }
        if self.appid() != order.appid {
            return Err(OrderMismatch("appid"));
        }
        if self.mch_id() != order.mch_id {
            return Err(OrderMismatch("mch_id"));
        }
        Ok(())
    }

    /// Detaches the proof from the request body buffer.
    pub fn into_owned(self) -> VerifiedPayNotify<'static> {
        VerifiedPayNotify {
            params: self.params.into_owned(),
            sign_type: self.sign_type,
            total_fee: self.total_fee,
            cash_fee: self.cash_fee,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::sign::sign_in_place;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn key() -> ApiKey {
        ApiKey::new(KEY).unwrap()
    }

    fn genuine(sign_type: SignType, tweak: impl FnOnce(&mut Params<'static>)) -> String {
        let mut params: Params<'static> = [
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("appid", "wx2421b1c4370ec43b"),
            ("mch_id", "10000100"),
            ("openid", "oUpF8uMEb4qRXf22hE3X68TekukE"),
            ("out_trade_no", "1409811653"),
            ("transaction_id", "1004400740201409030005092168"),
            ("total_fee", "101"),
            ("cash_fee", "101"),
            ("time_end", "20140903131540"),
            ("trade_type", "JSAPI"),
        ]
        .into_iter()
        .collect();
        tweak(&mut params);
        sign_in_place(&mut params, &key(), sign_type);
        xml::to_xml(&params).unwrap()
    }

    fn expected_order() -> ExpectedOrder<'static> {
        ExpectedOrder {
            appid: "wx2421b1c4370ec43b",
            mch_id: "10000100",
            out_trade_no: "1409811653",
            total_fee: Fen::new(101),
        }
    }

    #[test]
    fn genuine_notify_verifies_with_typed_fields() {
        let body = genuine(SignType::HmacSha256, |_| {});
        let notify = verify_pay_notify(body.as_bytes(), &key(), None).unwrap();
        assert_eq!(notify.sign_type(), SignType::HmacSha256);
        assert_eq!(notify.total_fee(), Fen::new(101));
        assert_eq!(notify.cash_fee(), Some(Fen::new(101)));
        assert_eq!(notify.out_trade_no(), "1409811653");
        assert_eq!(notify.transaction_id(), "1004400740201409030005092168");
        assert_eq!(notify.time_end(), "20140903131540");
        assert_eq!(notify.check_matches(&expected_order()), Ok(()));
        let owned = notify.into_owned();
        assert_eq!(owned.params().get("trade_type"), Some("JSAPI"));
    }

    #[test]
    fn return_fail_is_reported_as_such() {
        let body = b"<xml><return_code>FAIL</return_code><return_msg>boom</return_msg></xml>";
        let err = verify_pay_notify(body, &key(), None).unwrap_err();
        assert_eq!(
            err,
            NotifyError::ReturnFail {
                return_msg: Some("boom".into())
            }
        );
    }

    #[test]
    fn result_fail_is_reported_after_the_signature_checks() {
        let body = genuine(SignType::Md5, |p| {
            p.insert("result_code", "FAIL");
            p.insert("err_code", "NOTENOUGH");
        });
        let err = verify_pay_notify(body.as_bytes(), &key(), None).unwrap_err();
        assert_eq!(
            err,
            NotifyError::ResultFail {
                err_code: Some("NOTENOUGH".into())
            }
        );
        // The same message with a bad signature is a signature error, not a result.
        let forged = body.replace("NOTENOUGH", "NOTENOUGX");
        assert!(matches!(
            verify_pay_notify(forged.as_bytes(), &key(), None),
            Err(NotifyError::Signature(VerifyError::Mismatch(SignType::Md5)))
        ));
    }

    #[test]
    fn missing_or_invalid_required_fields_are_refused() {
        let body = genuine(SignType::Md5, |p| {
            p.remove("transaction_id");
        });
        assert_eq!(
            verify_pay_notify(body.as_bytes(), &key(), None).unwrap_err(),
            NotifyError::MissingField("transaction_id")
        );
        let body = genuine(SignType::Md5, |p| {
            p.insert("total_fee", "1.01");
        });
        assert!(matches!(
            verify_pay_notify(body.as_bytes(), &key(), None).unwrap_err(),
            NotifyError::InvalidField {
                field: "total_fee",
                ..
            }
        ));
        let body = genuine(SignType::Md5, |p| {
            p.insert("total_fee", "0");
        });
        assert!(matches!(
            verify_pay_notify(body.as_bytes(), &key(), None).unwrap_err(),
            NotifyError::InvalidField {
                field: "total_fee",
                ..
            }
        ));
        let body = genuine(SignType::Md5, |p| {
            p.insert("time_end", "2014-09-03");
        });
        assert!(matches!(
            verify_pay_notify(body.as_bytes(), &key(), None).unwrap_err(),
            NotifyError::InvalidField {
                field: "time_end",
                ..
            }
        ));
    }

    #[test]
    fn order_integrity_check_names_the_field() {
        let body = genuine(SignType::Md5, |_| {});
        let notify = verify_pay_notify(body.as_bytes(), &key(), None).unwrap();
        let mut order = expected_order();
        order.total_fee = Fen::new(100);
        assert_eq!(
            notify.check_matches(&order),
            Err(OrderMismatch("total_fee"))
        );
        let mut order = expected_order();
        order.appid = "wx0000000000000000";
        assert_eq!(notify.check_matches(&order), Err(OrderMismatch("appid")));
        let mut order = expected_order();
        order.mch_id = "1";
        assert_eq!(notify.check_matches(&order), Err(OrderMismatch("mch_id")));
        let mut order = expected_order();
        order.out_trade_no = "other";
        assert_eq!(
            notify.check_matches(&order),
            Err(OrderMismatch("out_trade_no"))
        );
    }

    #[test]
    fn unknown_fields_are_signed_and_kept() {
        let body = genuine(SignType::Md5, |p| {
            p.insert("promotion_detail", "{\"a\":1}");
        });
        let notify = verify_pay_notify(body.as_bytes(), &key(), None).unwrap();
        assert_eq!(notify.params().get("promotion_detail"), Some("{\"a\":1}"));
        let tampered = body.replace("{\"a\":1}", "{\"a\":2}");
        assert!(verify_pay_notify(tampered.as_bytes(), &key(), None).is_err());
    }
}
