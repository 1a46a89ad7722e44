//! `GET /v3/certificates` (protocol §3.1): the platform certificates, each encrypted with
//! the APIv3 key (AAD `certificate`). Merchants with a WeChat Pay public key have none
//! (WeChat answers 404 RESOURCE_NOT_EXISTS): never fetch them in public-key mode.

use serde::Deserialize;

use super::aead::{AeadError, ApiV3Key, EncryptedResource};
use super::keys::{Certificate, KeyError};

/// Why the certificates response cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificatesError {
    #[error("not a /v3/certificates response: {0}")]
    Malformed(String),
    #[error("certificate {serial} does not decrypt: {source}")]
    Decrypt { serial: String, source: AeadError },
    #[error("certificate {serial}: {source}")]
    Key { serial: String, source: KeyError },
    #[error("the entry for serial {listed} holds certificate {actual}")]
    SerialMismatch { listed: String, actual: String },
}

#[derive(Debug, Deserialize)]
struct Response {
    data: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    serial_no: Option<String>,
    encrypt_certificate: Option<EncryptedResource>,
}

/// The certificates in a (verified, or bootstrapping) `/v3/certificates` body. Entries
/// without a serial or an encrypted certificate are skipped, as the official SDKs do;
/// one that does not decrypt or parse is an error (a wrong APIv3 key, most often).
pub fn decrypt_certificates(
    body: &[u8],
    key: &ApiV3Key,
) -> Result<Vec<Certificate>, CertificatesError> {
    let response: Response =
        serde_json::from_slice(body).map_err(|e| CertificatesError::Malformed(e.to_string()))?;
    let mut certificates = Vec::new();
    for entry in response.data {
        let (Some(serial), Some(encrypted)) = (entry.serial_no, entry.encrypt_certificate) else {
            continue;
        };
        let pem = encrypted
            .decrypt(key)
            .map_err(|source| CertificatesError::Decrypt {
                serial: serial.clone(),
                source,
            })?;
        let certificate = Certificate::from_pem(&pem).map_err(|source| CertificatesError::Key {
            serial: serial.clone(),
            source,
        })?;
        if !certificate.serial_no().eq_ignore_ascii_case(&serial) {
            return Err(CertificatesError::SerialMismatch {
                listed: serial,
                actual: certificate.serial_no().to_owned(),
            });
        }
        certificates.push(certificate);
    }
    Ok(certificates)
}
