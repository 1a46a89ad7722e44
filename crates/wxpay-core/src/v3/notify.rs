//! v3 notifies (protocol §3.8): verify the signature over the raw body first, then parse
//! the envelope, then decrypt its resource with the APIv3 key, then (the caller) check the
//! payload against the order and apply it once. Each step takes the previous one's proof.

use std::borrow::Cow;

use serde::Deserialize;

use super::aead::{ALGORITHM, AeadError, ApiV3Key, EncryptedResource};
use super::payloads::{RefundResource, Transaction};
use super::verify::{KeySet, RsaVerifier, SignatureHeaders, VerifiedBody, VerifyError};

/// Why a notify is refused. Answer WeChat 4xx/5xx with `{"code":"FAIL","message":...}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("the notify body is not a WeChat Pay v3 notify: {0}")]
    Malformed(String),
    #[error(transparent)]
    Decrypt(#[from] AeadError),
    #[error("the decrypted resource is not a {expected}: {reason}")]
    Payload {
        expected: &'static str,
        reason: String,
    },
}

/// The envelope WeChat posts. Its text fields borrow from the body (they are plain ASCII
/// in practice; an escaped one is copied).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Envelope<'b> {
    #[serde(borrow)]
    pub id: Cow<'b, str>,
    #[serde(borrow)]
    pub create_time: Cow<'b, str>,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`, ...
    #[serde(borrow)]
    pub event_type: Cow<'b, str>,
    /// `encrypt-resource`.
    #[serde(borrow)]
    pub resource_type: Cow<'b, str>,
    #[serde(default, borrow)]
    pub summary: Option<Cow<'b, str>>,
    #[serde(borrow)]
    pub resource: ResourceRef<'b>,
}

/// [`EncryptedResource`], borrowed from the body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceRef<'b> {
    #[serde(borrow)]
    pub algorithm: Cow<'b, str>,
    #[serde(borrow)]
    pub ciphertext: Cow<'b, str>,
    #[serde(default, borrow)]
    pub associated_data: Cow<'b, str>,
    #[serde(borrow)]
    pub nonce: Cow<'b, str>,
    #[serde(default, borrow)]
    pub original_type: Option<Cow<'b, str>>,
}

impl ResourceRef<'_> {
    pub fn to_owned_resource(&self) -> EncryptedResource {
        EncryptedResource {
            algorithm: self.algorithm.to_string(),
            ciphertext: self.ciphertext.to_string(),
            associated_data: self.associated_data.to_string(),
            nonce: self.nonce.to_string(),
            original_type: self.original_type.as_ref().map(|t| t.to_string()),
        }
    }
}

/// A notify whose signature verified (and whose envelope parsed): only
/// [`verify_notify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNotify<'b> {
    verified: VerifiedBody<'b>,
    envelope: Envelope<'b>,
}

/// Verifies a notify's signature over `body` (the raw bytes) at `now`, then parses it.
pub fn verify_notify<'b>(
    keys: &KeySet,
    headers: &SignatureHeaders<'_>,
    body: &'b [u8],
    now: i64,
) -> Result<VerifiedNotify<'b>, NotifyError> {
    VerifiedNotify::parse(keys.verify(headers, body, now)?)
}

/// [`verify_notify`] with the RSA operation done by `verifier`.
pub fn verify_notify_using<'b>(
    keys: &KeySet,
    headers: &SignatureHeaders<'_>,
    body: &'b [u8],
    now: i64,
    verifier: &dyn RsaVerifier,
) -> Result<VerifiedNotify<'b>, NotifyError> {
    VerifiedNotify::parse(keys.verify_using(headers, body, now, verifier)?)
}

impl<'b> VerifiedNotify<'b> {
    /// The notify in a body whose signature verified some other way (a caller that
    /// refreshes its keys on an unknown serial, say): a [`VerifiedBody`] is itself the
    /// proof, so the chain from signature to payment stays unbroken.
    pub fn parse(verified: VerifiedBody<'b>) -> Result<VerifiedNotify<'b>, NotifyError> {
        // One UTF-8 check of the whole body, then a reader that trusts it (not one check
        // per string, the ~900-character ciphertext included).
        let text = std::str::from_utf8(verified.body())
            .map_err(|_| NotifyError::Malformed("the body is not UTF-8".into()))?;
        let envelope: Envelope<'b> =
            serde_json::from_str(text).map_err(|e| NotifyError::Malformed(e.to_string()))?;
        Ok(VerifiedNotify { verified, envelope })
    }

    pub fn envelope(&self) -> &Envelope<'b> {
        &self.envelope
    }

    pub fn event_type(&self) -> &str {
        &self.envelope.event_type
    }

    /// The key that verified it (`Wechatpay-Serial`).
    pub fn serial(&self) -> &str {
        self.verified.serial()
    }

    /// Decrypts the resource with the APIv3 key.
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<DecryptedNotify<'_>, NotifyError> {
        let resource = &self.envelope.resource;
        if resource.algorithm != ALGORITHM {
            return Err(AeadError::Algorithm(resource.algorithm.chars().take(32).collect()).into());
        }
        let plain = key.decrypt(
            &resource.nonce,
            &resource.associated_data,
            &resource.ciphertext,
        )?;
        Ok(DecryptedNotify {
            id: &self.envelope.id,
            event_type: &self.envelope.event_type,
            original_type: resource.original_type.as_deref(),
            serial: self.verified.serial(),
            plaintext: String::from_utf8(plain).map_err(|_| AeadError::NotUtf8)?,
        })
    }
}

/// What a notify says, before its resource is encrypted.
#[derive(Debug, Clone, Copy)]
pub struct NotifyParts<'a> {
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`.
    pub event_type: &'a str,
    pub summary: &'a str,
    /// `transaction` or `refund`: also the resource's AAD, as WeChat uses it.
    pub original_type: &'a str,
    /// The resource's JSON (the payment or the refund).
    pub resource_json: &'a str,
    pub id: &'a str,
    pub create_time: &'a str,
}

/// A notify's body as WeChat sends it: the resource encrypted with the APIv3 key
/// (AES-256-GCM, AAD = `original_type`) inside the envelope. For the simulator and tests:
/// the 12-character `resource_nonce` is an input (this crate has no randomness).
pub fn notify_body(
    parts: &NotifyParts<'_>,
    apiv3_key: &[u8],
    resource_nonce: &str,
) -> Result<String, AeadError> {
    let ciphertext = super::aead::encrypt(
        apiv3_key,
        resource_nonce,
        parts.original_type,
        parts.resource_json.as_bytes(),
    )?;
    Ok(serde_json::json!({
        "id": parts.id,
        "create_time": parts.create_time,
        "resource_type": "encrypt-resource",
        "event_type": parts.event_type,
        "summary": parts.summary,
        "resource": {
            "original_type": parts.original_type,
            "algorithm": ALGORITHM,
            "ciphertext": ciphertext,
            "associated_data": parts.original_type,
            "nonce": resource_nonce,
        },
    })
    .to_string())
}

/// A `TRANSACTION.SUCCESS` notify's body ([`notify_body`] of a payment).
pub fn transaction_notify_body(
    payment_json: &str,
    apiv3_key: &[u8],
    resource_nonce: &str,
    id: &str,
    create_time: &str,
) -> Result<String, AeadError> {
    notify_body(
        &NotifyParts {
            event_type: "TRANSACTION.SUCCESS",
            summary: "支付成功",
            original_type: "transaction",
            resource_json: payment_json,
            id,
            create_time,
        },
        apiv3_key,
        resource_nonce,
    )
}

/// A verified notify's decrypted resource (the envelope's fields borrowed from it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedNotify<'n> {
    pub id: &'n str,
    pub event_type: &'n str,
    pub original_type: Option<&'n str>,
    /// The key that verified it.
    pub serial: &'n str,
    /// The resource's JSON text.
    pub plaintext: String,
}

impl DecryptedNotify<'_> {
    /// The payment of a `TRANSACTION.*` notify (borrowing from the plaintext).
    pub fn transaction(&self) -> Result<Transaction<'_>, NotifyError> {
        serde_json::from_str(&self.plaintext).map_err(|e| NotifyError::Payload {
            expected: "transaction",
            reason: e.to_string(),
        })
    }

    /// The refund result of a `REFUND.*` notify.
    pub fn refund(&self) -> Result<RefundResource, NotifyError> {
        serde_json::from_str(&self.plaintext).map_err(|e| NotifyError::Payload {
            expected: "refund",
            reason: e.to_string(),
        })
    }
}
