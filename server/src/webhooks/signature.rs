//! Standard Webhooks signatures: `v1,` + base64 of HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the bytes a `whsec_` secret
//! holds; during a rotation one signature per secret, space-separated. Receivers verify
//! with the official `standardwebhooks` libraries (the tests do).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use crate::config::{WebhookSettings, webhook_key};

/// The keys deliveries are signed with (current first). Never printed.
pub struct Signer {
    keys: Vec<SecretSlice<u8>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({} keys)", self.keys.len())
    }
}

impl Signer {
    /// From `[webhooks]` (checked at start-up: a bad secret is named there).
    pub fn new(settings: &WebhookSettings) -> Result<Signer, String> {
        let mut keys = Vec::new();
        for secret in [&settings.secret, &settings.secret_previous]
            .into_iter()
            .flatten()
        {
            keys.push(SecretSlice::from(webhook_key(secret)?));
        }
        if keys.is_empty() {
            return Err("webhooks.secret is not set".into());
        }
        Ok(Signer { keys })
    }

    /// The `webhook-signature` header of a delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        self.keys
            .iter()
            .map(|key| {
                // HMAC takes a key of any length: this cannot fail.
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret())
                    .unwrap_or_else(|_| unreachable!());
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(timestamp.to_string().as_bytes());
                mac.update(b".");
                mac.update(body.as_bytes());
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Our signatures are the official library's, byte for byte, one per secret.
    #[test]
    fn signs_as_the_standard_webhooks_library_does() {
        let mut settings = crate::config::Settings::load(None).unwrap().webhooks;
        let current = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Tm8Sm2tfS0=";
        let previous = "whsec_AAECAwQFBgcICQoLDA0ODw==";
        settings.secret = Some(current.into());
        settings.secret_previous = Some(previous.into());
        let signer = Signer::new(&settings).unwrap();
        let body = r#"{"id":"evt_1","type":"order.paid","data":{"amount_fen":1}}"#;
        let header = signer.sign("evt_1", 1_765_000_000, body);
        let official = |secret| {
            standardwebhooks::Webhook::new(secret)
                .unwrap()
                .sign("evt_1", 1_765_000_000, body.as_bytes())
                .unwrap()
        };
        assert_eq!(
            header,
            format!("{} {}", official(current), official(previous))
        );
        assert!(!format!("{signer:?}").contains("MfKQ"));
    }
}
