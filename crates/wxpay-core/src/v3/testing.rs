//! Genuine v3 notifies for tests (feature `testing`): a payment encrypted with the APIv3
//! key, the envelope signed with WeChat's key (a test key the caller holds), exactly as
//! the simulator sends them. Nonces derive from the inputs: this crate has no randomness.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::aead;
use super::request::SCHEMA;
use super::signer::RsaPrivateKey;
use super::verify::signed_message;
use crate::Fen;

/// A notify ready to POST: its headers and raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedNotify {
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl SignedNotify {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The same notify with one header replaced (a stale timestamp, another serial...).
    pub fn with_header(mut self, name: &'static str, value: &str) -> SignedNotify {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name, value.to_owned()));
        self
    }
}

fn hex_of(parts: &[&str], len: usize) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    let digest = hash.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars().take(len).collect()
}

/// A `TRANSACTION.SUCCESS` payment as WeChat encrypts it into a notify.
pub fn payment(
    appid: &str,
    mchid: &str,
    out_trade_no: &str,
    transaction_id: &str,
    total: Fen,
) -> String {
    json!({
        "appid": appid,
        "mchid": mchid,
        "out_trade_no": out_trade_no,
        "transaction_id": transaction_id,
        "trade_type": "JSAPI",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "OTHERS",
        "success_time": "2026-11-30T12:00:01+08:00",
        "payer": { "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
        "amount": {
            "total": total.get(),
            "payer_total": total.get(),
            "currency": "CNY",
            "payer_currency": "CNY"
        }
    })
    .to_string()
}

/// The notify of `resource_json` (e.g. [`payment`]) encrypted with `apiv3_key`, signed at
/// `timestamp` with `key`, naming `serial` (a platform certificate's or `PUB_KEY_ID_...`).
pub fn notify(
    resource_json: &str,
    apiv3_key: &[u8],
    key: &RsaPrivateKey,
    serial: &str,
    timestamp: i64,
) -> Result<SignedNotify, aead::AeadError> {
    let body = super::notify::transaction_notify_body(
        resource_json,
        apiv3_key,
        &hex_of(&[resource_json, "resource"], 12),
        &format!("EV-{}", hex_of(&[resource_json, "id"], 20)),
        "2026-11-30T12:00:02+08:00",
    )?;
    Ok(SignedNotify {
        headers: sign(&body, key, serial, timestamp),
        body,
    })
}

/// A refund as WeChat encrypts it into a `REFUND.*` notify (`status` SUCCESS, ABNORMAL,
/// CLOSED or PROCESSING).
pub fn refund(
    mchid: &str,
    out_trade_no: &str,
    out_refund_no: &str,
    refund_id: &str,
    status: &str,
    total: Fen,
    refund: Fen,
) -> String {
    json!({
        "mchid": mchid,
        "out_trade_no": out_trade_no,
        "transaction_id": format!("4200000001{out_trade_no}"),
        "out_refund_no": out_refund_no,
        "refund_id": refund_id,
        "refund_status": status,
        "success_time": "2026-11-30T12:10:00+08:00",
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": total.get(),
            "refund": refund.get(),
            "payer_total": total.get(),
            "payer_refund": refund.get()
        }
    })
    .to_string()
}

/// The `REFUND.<status>` notify of `refund_json` (see [`refund`]), encrypted with
/// `apiv3_key` (AAD `refund`) and signed like [`notify`].
pub fn refund_notify(
    refund_json: &str,
    status: &str,
    apiv3_key: &[u8],
    key: &RsaPrivateKey,
    serial: &str,
    timestamp: i64,
) -> Result<SignedNotify, aead::AeadError> {
    let event_type = format!("REFUND.{status}");
    let body = super::notify::notify_body(
        &super::notify::NotifyParts {
            event_type: &event_type,
            summary: "退款状态",
            original_type: "refund",
            resource_json: refund_json,
            id: &format!("EV-{}", hex_of(&[refund_json, "id"], 20)),
            create_time: "2026-11-30T12:10:01+08:00",
        },
        apiv3_key,
        &hex_of(&[refund_json, "resource"], 12),
    )?;
    Ok(SignedNotify {
        headers: sign(&body, key, serial, timestamp),
        body,
    })
}

/// The `Wechatpay-*` headers of `body` signed with `key` at `timestamp`.
pub fn sign(
    body: &str,
    key: &RsaPrivateKey,
    serial: &str,
    timestamp: i64,
) -> Vec<(&'static str, String)> {
    let timestamp = timestamp.to_string();
    let nonce = hex_of(&[body, &timestamp], 32);
    // A key that loaded signs; an empty signature would only fail verification.
    let signature = key
        .sign_base64(&signed_message(&timestamp, &nonce, body.as_bytes()))
        .unwrap_or_default();
    vec![
        ("Wechatpay-Timestamp", timestamp),
        ("Wechatpay-Nonce", nonce),
        ("Wechatpay-Signature", signature),
        ("Wechatpay-Serial", serial.to_owned()),
        ("Wechatpay-Signature-Type", SCHEMA.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::verify::{KeySet, SignatureHeaders};
    use crate::v3::{ApiV3Key, WechatPayPublicKey, verify_notify};

    #[test]
    fn built_notifies_verify_decrypt_and_match() {
        let key = RsaPrivateKey::from_pem(include_str!("../../tests/data/merchant_key_pkcs1.pem"))
            .unwrap();
        let id = "PUB_KEY_ID_0114232134912410000000000000000004";
        let mut keys = KeySet::new();
        keys.add_public_key(
            WechatPayPublicKey::from_pem(id, include_str!("../../tests/data/test_public_key.pem"))
                .unwrap(),
        )
        .unwrap();
        let apiv3 = "0123456789abcdefghijklmnopqrstuv";
        let payment = payment(
            "wxd678efh567hg6787",
            "1230000109",
            "o-1",
            "4200-1",
            Fen::new(5),
        );
        let signed = notify(&payment, apiv3.as_bytes(), &key, id, 1_796_000_000).unwrap();
        let headers = SignatureHeaders::from_lookup(|n| signed.header(n)).unwrap();
        let verified =
            verify_notify(&keys, &headers, signed.body.as_bytes(), 1_796_000_010).unwrap();
        let decrypted = verified.decrypt(&ApiV3Key::new(apiv3).unwrap()).unwrap();
        assert_eq!(decrypted.plaintext, payment);
        let stale = signed
            .clone()
            .with_header("Wechatpay-Timestamp", "1795999000");
        let headers = SignatureHeaders::from_lookup(|n| stale.header(n)).unwrap();
        assert!(verify_notify(&keys, &headers, stale.body.as_bytes(), 1_796_000_010).is_err());
    }
}
