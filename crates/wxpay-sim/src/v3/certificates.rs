//! `GET /v3/certificates`: the merchant's platform certificates, each encrypted with its
//! APIv3 key (AAD `certificate`). A merchant on a WeChat Pay public key has none: 404
//! `RESOURCE_NOT_EXISTS`, in WeChat's words.

use serde_json::{Value, json};
use wxpay_core::v3::aead;

use super::V3Request;
use super::wire::{Answer, V3Error};
use crate::clock::beijing_rfc3339;
use crate::ids;
use crate::state::{Sim, SimState};

pub(super) fn list(
    _sim: &Sim,
    state: &mut SimState,
    request: &V3Request<'_>,
) -> Result<Answer, V3Error> {
    let merchant = request.merchant;
    if merchant.certificates.is_empty() {
        return Err(V3Error::new(
            404,
            "RESOURCE_NOT_EXISTS",
            "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥",
        ));
    }
    let mut data = Vec::new();
    for issued in &merchant.certificates {
        let nonce = ids::resource_nonce(&mut state.rng);
        let ciphertext = aead::encrypt(
            merchant.apiv3_key.as_bytes(),
            &nonce,
            "certificate",
            issued.pem.as_bytes(),
        )
        .map_err(|e| V3Error::new(500, "SYSTEM_ERROR", format!("系统错误: {e}")))?;
        let time = |seconds: i64| {
            time::OffsetDateTime::from_unix_timestamp(seconds)
                .map(beijing_rfc3339)
                .unwrap_or_default()
        };
        data.push(json!({
            "serial_no": issued.serial_no(),
            "effective_time": time(issued.certificate.not_before()),
            "expire_time": time(issued.certificate.not_after()),
            "encrypt_certificate": {
                "algorithm": "AEAD_AES_256_GCM",
                "nonce": nonce,
                "associated_data": "certificate",
                "ciphertext": ciphertext,
            },
        }));
    }
    Ok(Answer::Json(json!({ "data": Value::Array(data) })))
}
