//! Refund result notify `req_info` decryption (protocol.md §2.12). The outer refund
//! notify is not signed: authenticity comes from `req_info` decrypting under the API key.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cipher::KeyInit;
use cipher::block_padding::Pkcs7;
use cipher::{BlockDecryptMut, BlockEncryptMut};
use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::money::Fen;
use crate::secret::ApiKey;
use crate::v2::params::Params;
use crate::v2::xml::{XmlError, XmlParser};

/// Why `req_info` could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundInfoError {
    #[error("req_info is not valid base64")]
    Base64,
    #[error("req_info is not a non-empty multiple of 16 bytes")]
    Length,
    #[error("req_info did not decrypt (padding check failed): wrong API key or corrupted data")]
    Padding,
    #[error("decrypted req_info is not the expected <root> XML: {0}")]
    Xml(#[from] XmlError),
    #[error("decrypted req_info lacks {0}")]
    MissingField(&'static str),
    #[error("decrypted req_info field {0} is not an amount in fen")]
    BadAmount(&'static str),
}

/// The AES-256 key: the 32 ASCII characters of lower-case hex MD5(API key).
fn aes_key(key: &ApiKey) -> Zeroizing<[u8; 32]> {
    let digest = Zeroizing::new(<[u8; 16]>::from(Md5::digest(key.bytes())));
    let mut hex = Zeroizing::new([0u8; 32]);
    // 16 bytes always fit in 32 hex characters.
    let _ = base16ct::lower::encode(digest.as_slice(), hex.as_mut_slice());
    hex
}

/// A decrypted refund notify. Fields come from the decrypted `<root>` document.
#[derive(Debug, Clone)]
pub struct RefundInfo {
    params: Params<'static>,
    total_fee: Fen,
    refund_fee: Fen,
}

impl RefundInfo {
    fn field(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_default()
    }

    pub fn out_refund_no(&self) -> &str {
        self.field("out_refund_no")
    }

    pub fn out_trade_no(&self) -> &str {
        self.field("out_trade_no")
    }

    pub fn transaction_id(&self) -> &str {
        self.field("transaction_id")
    }

    pub fn refund_id(&self) -> &str {
        self.field("refund_id")
    }

    /// `SUCCESS`, `CHANGE` (exception, handle manually) or `REFUNDCLOSE`.
    pub fn refund_status(&self) -> &str {
        self.field("refund_status")
    }

    /// `yyyy-MM-dd HH:mm:ss` (a different format from `time_end`).
    pub fn success_time(&self) -> Option<&str> {
        self.params.get("success_time")
    }

    pub fn total_fee(&self) -> Fen {
        self.total_fee
    }

    pub fn refund_fee(&self) -> Fen {
        self.refund_fee
    }

    pub fn params(&self) -> &Params<'static> {
        &self.params
    }
}

const REQUIRED: [&str; 6] = [
    "out_refund_no",
    "out_trade_no",
    "transaction_id",
    "refund_id",
    "refund_status",
    "refund_fee",
];

/// Decrypts `req_info` (AES-256-ECB, strict PKCS#7) and parses the `<root>` document.
pub fn decrypt_refund_info(req_info: &str, key: &ApiKey) -> Result<RefundInfo, RefundInfoError> {
    let mut buffer = Zeroizing::new(
        BASE64
            .decode(req_info.trim().as_bytes())
            .map_err(|_| RefundInfoError::Base64)?,
    );
    if buffer.is_empty() || buffer.len() % 16 != 0 {
        return Err(RefundInfoError::Length);
    }
    let aes_key = aes_key(key);
    let plaintext = ecb::Decryptor::<Aes256>::new(aes_key.as_slice().into())
        .decrypt_padded_mut::<Pkcs7>(&mut buffer)
        .map_err(|_| RefundInfoError::Padding)?;
    let params = XmlParser::new().root("root").parse(plaintext)?.into_owned();
    for field in REQUIRED {
        if params.get(field).is_none_or(str::is_empty) {
            return Err(RefundInfoError::MissingField(field));
        }
    }
    let amount = |field: &'static str| {
        Fen::parse_wechat(params.get(field).unwrap_or_default())
            .map_err(|_| RefundInfoError::BadAmount(field))
    };
    let refund_fee = amount("refund_fee")?;
    let total_fee = amount("total_fee")?;
    Ok(RefundInfo {
        params,
        total_fee,
        refund_fee,
    })
}

/// Encrypts a `<root>` document into `req_info`, as WeChat does. For simulators and tests.
pub fn encrypt_refund_info(plaintext_xml: &str, key: &ApiKey) -> String {
    let aes_key = aes_key(key);
    let ciphertext = ecb::Encryptor::<Aes256>::new(aes_key.as_slice().into())
        .encrypt_padded_vec_mut::<Pkcs7>(plaintext_xml.as_bytes());
    BASE64.encode(ciphertext)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    #[test]
    fn aes_key_is_lower_hex_md5_of_the_api_key() {
        let key = ApiKey::new(KEY).unwrap();
        assert_eq!(
            aes_key(&key).as_slice(),
            b"d96eb16afdd491fa1e705096edbc2205"
        );
    }

    #[test]
    fn round_trips_and_reads_fields() {
        let key = ApiKey::new(KEY).unwrap();
        let xml = "<root><out_refund_no>R1</out_refund_no><out_trade_no>T1</out_trade_no>\
                   <transaction_id>42</transaction_id><refund_id>50</refund_id>\
                   <refund_status>SUCCESS</refund_status><refund_fee>15</refund_fee>\
                   <total_fee>100</total_fee></root>";
        let info = decrypt_refund_info(&encrypt_refund_info(xml, &key), &key).unwrap();
        assert_eq!(info.out_refund_no(), "R1");
        assert_eq!(info.refund_fee(), Fen::new(15));
        assert_eq!(info.total_fee(), Fen::new(100));
        assert_eq!(info.refund_status(), "SUCCESS");
    }

    #[test]
    fn wrong_key_bad_base64_and_bad_length_are_errors() {
        let key = ApiKey::new(KEY).unwrap();
        let other = ApiKey::new("00000000000000000000000000000000").unwrap();
        let sealed = encrypt_refund_info("<root><a>1</a></root>", &key);
        assert!(decrypt_refund_info(&sealed, &other).is_err());
        assert_eq!(
            decrypt_refund_info("%%%", &key).unwrap_err(),
            RefundInfoError::Base64
        );
        assert_eq!(
            decrypt_refund_info("AAAA", &key).unwrap_err(),
            RefundInfoError::Length
        );
        assert_eq!(
            decrypt_refund_info("", &key).unwrap_err(),
            RefundInfoError::Length
        );
    }
}
