//! v3 bills (protocol.md §3.9): `GET /v3/bill/tradebill` answers, signed, where the day's
//! bill is and its SHA1; `GET /v3/billdownload/file?token=` (a signed request) sends the
//! file itself **unsigned**, as WeChat does. The text is the v2 bill's (`crate::bill`).

use std::collections::VecDeque;

use serde_json::json;
use sha1::{Digest as _, Sha1};

use super::V3Request;
use super::wire::{Answer, V3Error};
use crate::ids;
use crate::state::{Sim, SimState};

/// Files made by `tradebill`, newest last; the oldest go beyond this many.
const KEPT_FILES: usize = 64;

/// Bill files waiting to be downloaded: (token, mchid, bytes).
#[derive(Debug, Default)]
pub struct BillFiles(VecDeque<(String, String, Vec<u8>)>);

/// `YYYY-MM-DD` as the v2 bill's `yyyyMMdd`.
fn compact_date(date: &str) -> Option<String> {
    let shape_ok = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shape_ok.then(|| date.replace('-', ""))
}

pub(super) fn tradebill(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    let date = request
        .query_param("bill_date")
        .ok_or_else(|| V3Error::param("bill_date", "缺少参数 bill_date"))?;
    let compact = compact_date(&date)
        .ok_or_else(|| V3Error::param("bill_date", "bill_date 格式应为 YYYY-MM-DD"))?;
    let bill_type = request
        .query_param("bill_type")
        .unwrap_or_else(|| "ALL".into());
    if !matches!(bill_type.as_str(), "ALL" | "SUCCESS" | "REFUND") {
        return Err(V3Error::param(
            "bill_type",
            "bill_type 应为 ALL、SUCCESS 或 REFUND",
        ));
    }
    let gzip = match request.query_param("tar_type").as_deref() {
        None => false,
        Some("GZIP") => true,
        Some(_) => return Err(V3Error::param("tar_type", "tar_type 只能为 GZIP")),
    };
    let mchid = &request.merchant.mchid;
    let text = crate::bill::bill_text(state, mchid, &compact, &bill_type)
        .ok_or_else(|| V3Error::new(400, "NO_STATEMENT_EXIST", "要下载的账单不存在"))?;
    let bytes = if gzip {
        crate::bill::gzip(&text).ok_or_else(|| V3Error::new(500, "SYSTEM_ERROR", "账单压缩失败"))?
    } else {
        text.into_bytes()
    };
    let hash = base16ct::lower::encode_string(&Sha1::digest(&bytes));
    let token = ids::nonce(&mut state.rng);
    let files = &mut state.bill_files.0;
    if files.len() >= KEPT_FILES {
        files.pop_front();
    }
    files.push_back((token.clone(), mchid.clone(), bytes));
    Ok(Answer::Json(json!({
        "hash_type": "SHA1",
        "hash_value": hash,
        "download_url": format!("{}/v3/billdownload/file?token={token}", request.origin),
    })))
}

pub(super) fn download(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    let token = request
        .query_param("token")
        .ok_or_else(|| V3Error::param("token", "缺少参数 token"))?;
    state
        .bill_files
        .0
        .iter()
        .find(|(t, mchid, _)| *t == token && *mchid == request.merchant.mchid)
        .map(|(_, _, bytes)| Answer::File(bytes.clone()))
        .ok_or_else(|| V3Error::new(400, "INVALID_REQUEST", "账单下载链接无效或已过期"))
}
