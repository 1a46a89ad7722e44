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
            inflate(&bytes, self.max_bill_bytes()).map_err(|e| match e {
                InflateError::TooLarge { limit } => PayError::BillTooLarge { limit },
                InflateError::Broken(why) => PayError::Malformed(why),
            })?
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

/// The largest bill read as sent (compressed, or plain text). A merchant with a million
/// trades a day has a bill of ~300 MB of text, ~40 MB gzipped.
pub(crate) const MAX_BILL_BYTES: usize = 64 << 20;

/// Why a gzipped bill was not turned into text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InflateError {
    /// It inflates past the bound (a gzip bomb, or a merchant bigger than the setting).
    TooLarge {
        limit: u64,
    },
    Broken(String),
}

/// gzip's magic bytes.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// A gzipped bill as text, refusing one cut at the download limit or inflating past
/// `limit` bytes. Inflated in chunks into a buffer that grows only as far as `limit`
/// (gzip's trailer says the size, modulo 4 GiB, and sizes the first allocation, never
/// past `limit`; it is the sender's word and decides nothing else): a gzip bomb costs at
/// most `limit`.
pub(crate) fn inflate(bytes: &[u8], limit: u64) -> Result<String, InflateError> {
    if bytes.len() >= MAX_BILL_BYTES {
        return Err(InflateError::Broken(format!(
            "the bill is larger than {} MiB compressed",
            MAX_BILL_BYTES >> 20
        )));
    }
    let limit_bytes = usize::try_from(limit).unwrap_or(usize::MAX);
    let stated = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map_or(0, |size| u32::from_le_bytes(size) as usize);
    let mut text: Vec<u8> = Vec::with_capacity(stated.min(limit_bytes));
    let mut decoder = flate2::read::GzDecoder::new(bytes);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = decoder
            .read(&mut chunk)
            .map_err(|e| InflateError::Broken(format!("the gzipped bill does not inflate: {e}")))?;
        if read == 0 {
            break;
        }
        if text.len() + read > limit_bytes {
            return Err(InflateError::TooLarge { limit });
        }
        if text.capacity() - text.len() < read {
            // Doubling, but never past the bound.
            let want = (text.capacity() * 2).clamp(text.len() + read, limit_bytes);
            text.reserve_exact(want - text.len());
        }
        text.extend_from_slice(chunk.get(..read).unwrap_or_default());
    }
    String::from_utf8(text)
        .map_err(|_| InflateError::Broken("the gzipped bill does not inflate to UTF-8 text".into()))
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

    fn broken(error: InflateError) -> String {
        match error {
            InflateError::Broken(why) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_gzipped_bill_inflates_and_a_broken_one_is_named() {
        let bytes = gzip("交易时间\r\n`2026".as_bytes());
        assert!(is_gzip(&bytes));
        assert_eq!(inflate(&bytes, 1024).unwrap(), "交易时间\r\n`2026");
        let cut = bytes.get(..bytes.len() - 4).unwrap();
        assert!(broken(inflate(cut, 1024).unwrap_err()).contains("does not inflate"));
        let not_utf8 = gzip(&[0xff, 0xfe]);
        assert!(broken(inflate(&not_utf8, 1024).unwrap_err()).contains("UTF-8"));
    }

    /// Security review (issue #23), finding 7: a 1 MB gzip inflating to 1 GiB took the
    /// server to 1.07 GB. Past the bound it is refused by name, whatever its trailer says.
    #[test]
    fn a_bill_past_the_bound_is_refused_by_name() {
        let text = vec![b'`'; 4 << 20];
        let bytes = gzip(&text);
        assert!(bytes.len() < 64 << 10, "a bomb: {} bytes", bytes.len());
        assert_eq!(inflate(&bytes, 4 << 20).unwrap().len(), 4 << 20);
        let too_large = InflateError::TooLarge {
            limit: (4 << 20) - 1,
        };
        assert_eq!(inflate(&bytes, (4 << 20) - 1).unwrap_err(), too_large);
        // A trailer that understates the size changes nothing: the bytes are counted.
        let mut lying = bytes.clone();
        let at = lying.len() - 4;
        lying
            .get_mut(at..)
            .unwrap()
            .copy_from_slice(&16u32.to_le_bytes());
        let refused = inflate(&lying, (4 << 20) - 1).unwrap_err();
        assert!(matches!(
            refused,
            InflateError::TooLarge { .. } | InflateError::Broken(_)
        ));
    }
}
