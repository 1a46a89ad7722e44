//! The message push crypto against vectors made by wechatpy (an independent
//! implementation; `tests/vectors/make_push_vectors.py` made them): the URL signature,
//! `msg_signature`, decryption, and our encryption byte for byte (given wechatpy's random
//! prefix). Keys whose last character has its low bits set, as WeChat's random ones do,
//! are among them. And the official documentation's own example: its push opens and its
//! encrypted reply is reproduced.
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

/// The official mini program message push page's own example (secure mode, JSON): Token
/// `AAAAA`, an EncodingAESKey of 43 `A`s (docs/shipping-research.md D.1).
#[test]
fn the_official_documentation_example_opens_and_its_reply_is_reproduced() {
    let key = PushKey::from_encoding_aes_key(&"A".repeat(43)).unwrap();
    let appid = "wxba5fad812f8e6fb9";
    assert!(push::verify_url_signature(
        "AAAAA",
        "1714036504",
        "1514711492",
        "f464b24fc39322e44b38aa78f5edd27bd1441696"
    ));
    let encrypt = "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04=";
    let opened = push::open(
        "AAAAA",
        &key,
        appid,
        "1714112445",
        "415670741",
        encrypt,
        "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
    )
    .unwrap();
    assert_eq!(
        opened,
        r#"{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}"#
    );
    // The page's encrypted reply, with its random prefix.
    assert_eq!(
        push::encrypt(
            &key,
            r#"{"demo_resp":"good luck"}"#,
            appid,
            b"707722b803182950"
        ),
        "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
    );
}
