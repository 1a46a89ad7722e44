//! v3 trade bills: `GET /v3/bill/tradebill` answers (signed) where the file is and its
//! SHA1; the file itself, fetched with a signed GET, is **not** signed by WeChat: its
//! SHA1 against the signed hash is what proves it (protocol.md §3.9, §3.10). The text is
//! the same back-tick table as v2's, parsed by `wxpay_core::v2::bill`.

use reqwest::Method;
use serde::Deserialize;
use sha1::{Digest as _, Sha1};

use super::{V3PayClient, V3PayError, api_error};
use crate::bill::{self, BillType};

#[derive(Deserialize)]
struct BillLocation {
    hash_type: String,
    hash_value: String,
    download_url: String,
}

/// `YYYY-MM-DD`, digits where digits belong (the value goes into a signed URL).
fn check_bill_date(date: &str) -> Result<(), V3PayError> {
    let shape_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if shape_ok {
        Ok(())
    } else {
        Err(V3PayError::Sign(format!(
            "bill_date {date:?} is not YYYY-MM-DD"
        )))
    }
}

/// The download URL's path and query: the signature's URL line, sent to the configured
/// API host only (the Authorization header never goes anywhere else).
fn download_target(download_url: &str) -> Result<String, V3PayError> {
    let url = url::Url::parse(download_url)
        .map_err(|e| V3PayError::Malformed(format!("download_url {download_url:?}: {e}")))?;
    Ok(match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    })
}

impl V3PayClient {
    /// The trade bill of `bill_date` (`YYYY-MM-DD`, Beijing time) as text, `None` for a
    /// day without trades (`NO_STATEMENT_EXIST`). Asked for gzipped, checked against the
    /// signed SHA1, inflated. `STATEMENT_CREATING` (before ~10:00 the next day) is an error
    /// to retry later.
    pub async fn trade_bill(
        &self,
        bill_date: &str,
        bill_type: BillType,
    ) -> Result<Option<String>, V3PayError> {
        check_bill_date(bill_date)?;
        let path = format!(
            "/v3/bill/tradebill?bill_date={bill_date}&bill_type={}&tar_type=GZIP",
            bill_type.as_str()
        );
        let location = match self.call(Method::GET, &path, None, false).await {
            Ok(reply) => serde_json::from_slice::<BillLocation>(&reply.body)
                .map_err(|e| V3PayError::Malformed(format!("tradebill: {e}")))?,
            Err(e) if e.verified_code() == Some("NO_STATEMENT_EXIST") => return Ok(None),
            Err(e) => return Err(e),
        };
        if !location.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(V3PayError::Malformed(format!(
                "tradebill hash_type {:?} (only SHA1 is known)",
                location.hash_type
            )));
        }
        let target = download_target(&location.download_url)?;
        let bytes = self
            .with_retries(&target, || async {
                let (status, _, bytes) = self
                    .send(Method::GET, &target, None, bill::MAX_BILL_BYTES)
                    .await?;
                if (200..300).contains(&status) {
                    Ok(bytes)
                } else {
                    // The file host does not sign its errors.
                    Err(api_error(status, &bytes, false))
                }
            })
            .await?;
        let sha1 = base16ct::lower::encode_string(&Sha1::digest(&bytes));
        if !sha1.eq_ignore_ascii_case(&location.hash_value) {
            return Err(V3PayError::Malformed(format!(
                "the downloaded bill's SHA1 {sha1} is not the {} WeChat signed",
                location.hash_value
            )));
        }
        let text = if bill::is_gzip(&bytes) {
            bill::inflate(&bytes, self.max_bill_bytes()).map_err(|e| match e {
                bill::InflateError::TooLarge { limit } => V3PayError::BillTooLarge { limit },
                bill::InflateError::Broken(why) => V3PayError::Malformed(why),
            })?
        } else {
            String::from_utf8(bytes)
                .map_err(|_| V3PayError::Malformed("the bill is not UTF-8 text".into()))?
        };
        Ok(Some(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bill_dates_and_download_urls() {
        assert!(check_bill_date("2026-11-30").is_ok());
        for bad in ["20261130", "2026-11-3", "2026-11-30&x=1", "2026/11/30"] {
            assert!(check_bill_date(bad).is_err(), "{bad}");
        }
        assert_eq!(
            download_target(
                "https://api.mch.weixin.qq.com/v3/billdownload/file?token=6XIv5Tu&tartype=gzip"
            )
            .unwrap(),
            "/v3/billdownload/file?token=6XIv5Tu&tartype=gzip"
        );
        assert!(download_target("not a url").is_err());
    }
}
