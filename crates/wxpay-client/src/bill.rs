//! `POST /pay/downloadbill` (protocol.md §2.10): the day's trade bill. Its success body is
//! not XML (a back-tick text table, parsed by `wxpay_core::v2::bill`) and carries no
//! signature: a bill is a report to compare against, never proof of a payment. A day
//! without trades answers "No Bill Exist": `Ok(None)`. Bills are asked for gzipped
//! (`tar_type=GZIP`) and inflated here, within bounds.

use std::io::Read as _;

use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, xml};

use crate::http;
use crate::pay::{PayClient, PayError, transport};

/// Which trades the bill lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillType {
    All,
    Success,
    Refund,
}

impl BillType {
    /// As both APIs write it: `ALL`, `SUCCESS`, `REFUND`.
    pub fn as_str(self) -> &'static str {
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
            ("tar_type", "GZIP"),
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
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(PayError::Http(status.as_u16()));
        }
        let bytes = http::read_body_up_to(response, MAX_BILL_BYTES)
            .await
            .map_err(transport)?;
        let text = if is_gzip(&bytes) {
            inflate(&bytes).map_err(PayError::Malformed)?
        } else {
            String::from_utf8(bytes)
                .map_err(|_| PayError::Malformed("the bill is not UTF-8 text".into()))?
        };
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

/// The largest bill read as sent (compressed), and once inflated. A merchant with a
/// million trades a day has a bill of ~300 MB of text, ~40 MB gzipped.
pub(crate) const MAX_BILL_BYTES: usize = 64 << 20;
const MAX_BILL_TEXT_BYTES: u64 = 1 << 30;

/// gzip's magic bytes.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// A gzipped bill as text, refusing one cut at the download limit or inflating past
/// [`MAX_BILL_TEXT_BYTES`] (a gzip bomb is not a bill).
pub(crate) fn inflate(bytes: &[u8]) -> Result<String, String> {
    if bytes.len() >= MAX_BILL_BYTES {
        return Err(format!(
            "the bill is larger than {} MiB compressed",
            MAX_BILL_BYTES >> 20
        ));
    }
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_BILL_TEXT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("the gzipped bill does not inflate to UTF-8 text: {e}"))?;
    if text.len() as u64 > MAX_BILL_TEXT_BYTES {
        return Err(format!(
            "the bill inflates past {} MiB",
            MAX_BILL_TEXT_BYTES >> 20
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn a_gzipped_bill_inflates_and_a_broken_one_is_named() {
        let bytes = gzip("交易时间\r\n`2026".as_bytes());
        assert!(is_gzip(&bytes));
        assert_eq!(inflate(&bytes).unwrap(), "交易时间\r\n`2026");
        let cut = bytes.get(..bytes.len() - 4).unwrap();
        assert!(inflate(cut).unwrap_err().contains("does not inflate"));
        let not_utf8 = gzip(&[0xff, 0xfe]);
        assert!(inflate(&not_utf8).unwrap_err().contains("UTF-8"));
    }
}
