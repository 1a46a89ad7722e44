//! The message push crypto against vectors made by wechatpy (an independent
//! implementation; `tests/vectors/make_push_vectors.py` made them): the URL signature,
//! `msg_signature`, decryption, and our encryption byte for byte (given wechatpy's random
//! prefix). Keys whose last character has its low bits set, as WeChat's random ones do,
//! are among them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use wxpay_core::push::{self, PushError, PushKey};

fn vectors() -> Vec<Value> {
    let file: Value =
        serde_json::from_str(include_str!("vectors/push_wechatpy.json")).expect("vectors");
    file["vectors"].as_array().expect("vectors").clone()
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_else(|| panic!("{field}"))
}

#[test]
fn every_wechatpy_vector_verifies_opens_and_is_reproduced() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 5);
    for v in &vectors {
        let (token, appid) = (text(v, "token"), text(v, "appid"));
        let (timestamp, nonce) = (text(v, "timestamp"), text(v, "nonce"));
        let (encrypt, signature) = (text(v, "encrypt"), text(v, "msg_signature"));
        let key = PushKey::from_encoding_aes_key(text(v, "encoding_aes_key")).unwrap();
        assert_eq!(
            push::url_signature(token, timestamp, nonce),
            text(v, "url_signature")
        );
        assert_eq!(
            push::msg_signature(token, timestamp, nonce, encrypt),
            signature
        );
        let opened = push::open(token, &key, appid, timestamp, nonce, encrypt, signature);
        assert_eq!(opened.as_deref(), Ok(text(v, "message")));
        let random: [u8; 16] = BASE64
            .decode(text(v, "random"))
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(
            push::encrypt(&key, text(v, "message"), appid, &random),
            encrypt,
            "our encryption is wechatpy's"
        );
        // Another app's, another Token's, or a changed one: refused.
        assert!(matches!(
            push::open(token, &key, "wxother", timestamp, nonce, encrypt, signature),
            Err(PushError::AppidMismatch { .. })
        ));
        assert_eq!(
            push::open("forged", &key, appid, timestamp, nonce, encrypt, signature),
            Err(PushError::Signature)
        );
        assert_eq!(
            push::open(token, &key, appid, "1765999999", nonce, encrypt, signature),
            Err(PushError::Signature)
        );
    }
}
