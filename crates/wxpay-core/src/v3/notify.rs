//! v3 notifies (protocol §3.8): verify the signature over the raw body first, then parse
//! the envelope, then decrypt its resource with the APIv3 key, then (the caller) check the
//! payload against the order and apply it once. Each step takes the previous one's proof.

use serde::Deserialize;

use super::aead::{AeadError, ApiV3Key, EncryptedResource};
use super::payloads::{RefundResource, Transaction};
use super::verify::{KeySet, SignatureHeaders, VerifiedBody, VerifyError};

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

/// The envelope WeChat posts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub create_time: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`, ...
    pub event_type: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    #[serde(default)]
    pub summary: Option<String>,
    pub resource: EncryptedResource,
}

/// A notify whose signature verified (and whose envelope parsed): only
/// [`verify_notify`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNotify<'b> {
    verified: VerifiedBody<'b>,
    envelope: Envelope,
}

/// Verifies a notify's signature over `body` (the raw bytes) at `now`, then parses it.
pub fn verify_notify<'b>(
    keys: &KeySet,
    headers: &SignatureHeaders<'_>,
    body: &'b [u8],
    now: i64,
) -> Result<VerifiedNotify<'b>, NotifyError> {
    let verified = keys.verify(headers, body, now)?;
    let envelope: Envelope = serde_json::from_slice(verified.body())
        .map_err(|e| NotifyError::Malformed(e.to_string()))?;
    Ok(VerifiedNotify { verified, envelope })
}

impl VerifiedNotify<'_> {
    pub fn envelope(&self) -> &Envelope {
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
    pub fn decrypt(&self, key: &ApiV3Key) -> Result<DecryptedNotify, NotifyError> {
        Ok(DecryptedNotify {
            id: self.envelope.id.clone(),
            event_type: self.envelope.event_type.clone(),
            original_type: self.envelope.resource.original_type.clone(),
            serial: self.verified.serial().to_owned(),
            plaintext: self.envelope.resource.decrypt(key)?,
        })
    }
}

/// A verified notify's decrypted resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptedNotify {
    pub id: String,
    pub event_type: String,
    pub original_type: Option<String>,
    /// The key that verified it.
    pub serial: String,
    /// The resource's JSON text.
    pub plaintext: String,
}

impl DecryptedNotify {
    /// The payment of a `TRANSACTION.*` notify.
    pub fn transaction(&self) -> Result<Transaction, NotifyError> {
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
