//! `POST /pay/downloadbill` (protocol.md §2.10): the day's trade bill. Its success body is
//! not XML (a back-tick text table, parsed by `wxpay_core::v2::bill`) and carries no
//! signature: a bill is a report to compare against, never proof of a payment. A day
//! without trades answers "No Bill Exist": `Ok(None)`.

use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, xml};

use crate::http;
use crate::pay::{PayClient, PayError};

/// Which trades the bill lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillType {
    All,
    Success,
    Refund,
}

impl BillType {
    fn as_str(self) -> &'static str {
        match self {
            BillType::All => "ALL",
            BillType::Success => "SUCCESS",
            BillType::Refund => "REFUND",
        }
    }
}

impl PayClient {
    /// The bill of `bill_date` (`yyyyMMdd`, Beijing time). WeChat makes it after about
    /// 10:00 the next day ("Bill Creating" before that: an error to retry later).
    pub async fn download_bill(
        &self,
        bill_date: &str,
        bill_type: BillType,
    ) -> Result<Option<String>, PayError> {
        let nonce = http::nonce();
        let mut params: Params<'_> = [
            ("appid", self.appid()),
            ("mch_id", self.mch_id()),
            ("nonce_str", nonce.as_str()),
            ("bill_date", bill_date),
            ("bill_type", bill_type.as_str()),
        ]
        .into_iter()
        .collect();
        sign::sign_in_place(&mut params, self.key(), SignType::Md5);
        let body = xml::to_xml(&params)
            .map_err(|e| PayError::Malformed(format!("request cannot be encoded: {e}")))?;
        let response = self
            .http_client()
            .post(http::join(self.base_url(), "/pay/downloadbill"))
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    PayError::Timeout
                } else {
                    PayError::Transport(e.without_url().to_string())
                }
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(PayError::Http(status.as_u16()));
        }
        let bytes = http::read_body(response)
            .await
            .map_err(|e| PayError::Transport(e.without_url().to_string()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| PayError::Malformed("the bill is not UTF-8 text".into()))?;
        // Failures are XML (return_code FAIL); a bill never starts with `<xml>`.
        if text.trim_start().starts_with("<xml>") {
            let reply = xml::parse(text.as_bytes()).map_err(|e| {
                PayError::Malformed(format!("an XML failure that does not parse: {e}"))
            })?;
            let message = reply.get("return_msg").unwrap_or_default();
            // WeChat's documents spell it "NO Bill Exist", its servers "No Bill Exist".
            if message.eq_ignore_ascii_case("No Bill Exist") {
                return Ok(None);
            }
            return Err(PayError::Return {
                return_msg: message.to_owned(),
            });
        }
        Ok(Some(text))
    }
}
