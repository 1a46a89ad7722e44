//! The push calls natively: wechatpy's vectors open, our seal opens, and the explainer
//! names each classic mistake (and never prints the Token or the key).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use serde_json::Value;
use wxpay_core::push::message::Format;

use super::explain::{Input, Report, explain};
use super::{PushQuery, PushSecrets, Sealed, open, seal, url_check};

const TOKEN: &str = "sandboxToken123";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx1234567890abcdef";
const NOW: i64 = 1_765_000_000;
const MESSAGE: &str =
    r#"{"ToUserName":"gh_1","Event":"trade_manage_order_settlement","transaction_id":"42"}"#;

fn secrets() -> PushSecrets<'static> {
    PushSecrets {
        token: TOKEN,
        encoding_aes_key: Some(KEY),
        appid: APPID,
    }
}

fn sealed(format: Format) -> Sealed {
    seal(
        &secrets(),
        MESSAGE,
        &NOW.to_string(),
        "n0nce",
        &[9; 16],
        format,
    )
    .unwrap()
}

fn query_of(sealed: &Sealed) -> PushQuery {
    PushQuery {
        signature: Some(sealed.signature.clone()),
        timestamp: Some(NOW.to_string()),
        nonce: Some("n0nce".into()),
        encrypt_type: Some("aes".into()),
        msg_signature: Some(sealed.msg_signature.clone()),
        echostr: None,
    }
}

fn report(query: PushQuery, body: &str, token: &str, key: &str, appid: &str) -> Report {
    explain(&Input {
        token: Some(token),
        encoding_aes_key: Some(key),
        appid: Some(appid),
        query,
        body,
        now: Some(NOW),
        max_age: 600,
    })
}

fn codes(report: &Report) -> Vec<(&str, &str)> {
    report.problems.iter().map(|p| (p.field, p.code)).collect()
}

#[test]
fn wechatpys_pushes_open() {
    let file: Value = serde_json::from_str(include_str!(
        "../../../crates/wxpay-core/tests/vectors/push_wechatpy.json"
    ))
    .unwrap();
    for v in file["vectors"].as_array().unwrap() {
        let text = |name: &str| v[name].as_str().unwrap();
        let secrets = PushSecrets {
            token: text("token"),
            encoding_aes_key: Some(text("encoding_aes_key")),
            appid: text("appid"),
        };
        let query = PushQuery::from_pairs([
            ("signature", text("url_signature")),
            ("timestamp", text("timestamp")),
            ("nonce", text("nonce")),
            ("openid", "oUser"),
            ("encrypt_type", "aes"),
            ("msg_signature", text("msg_signature")),
        ]);
        let body = format!(
            "<xml><Encrypt><![CDATA[{}]]></Encrypt></xml>",
            text("encrypt")
        );
        let now = text("timestamp").parse().unwrap();
        let opened = open(&secrets, &query, &body, now, 600).unwrap();
        assert_eq!(opened.message, text("message"));
        assert!(opened.encrypted);
        let explained = explain(&Input {
            token: Some(secrets.token),
            encoding_aes_key: secrets.encoding_aes_key,
            appid: Some(secrets.appid),
            query,
            body: &body,
            now: Some(now),
            max_age: 600,
        });
        assert!(explained.ok, "{:?}", explained.problems);
        assert_eq!(explained.message.as_deref(), Some(text("message")));
    }
}

#[test]
fn a_sealed_push_opens_in_both_formats_and_only_for_us() {
    for format in [Format::Json, Format::Xml] {
        let sealed = sealed(format);
        let opened = open(&secrets(), &query_of(&sealed), &sealed.body, NOW, 600).unwrap();
        assert_eq!((opened.message.as_str(), opened.format), (MESSAGE, format));
        let other = PushSecrets {
            appid: "wxother",
            ..secrets()
        };
        let refused = open(&other, &query_of(&sealed), &sealed.body, NOW, 600).unwrap_err();
        assert_eq!(refused.code, "WRONG_APPID");
        let late = open(&secrets(), &query_of(&sealed), &sealed.body, NOW + 601, 600).unwrap_err();
        assert_eq!(late.code, "TIMESTAMP_OUTSIDE_WINDOW");
        let forged = PushSecrets {
            token: "another",
            ..secrets()
        };
        let refused = open(&forged, &query_of(&sealed), &sealed.body, NOW, 600).unwrap_err();
        assert_eq!(refused.code, "BAD_SIGNATURE");
    }
    // The URL check and a plain push rest on `signature` alone.
    let mut check = query_of(&sealed(Format::Json));
    check.encrypt_type = None;
    check.echostr = Some("echo me".into());
    assert_eq!(url_check(TOKEN, &check, NOW, 600).unwrap(), "echo me");
    assert_eq!(
        url_check("x", &check, NOW, 600).unwrap_err().code,
        "BAD_SIGNATURE"
    );
    let plain = open(&secrets(), &check, MESSAGE, NOW, 600).unwrap();
    assert!(!plain.encrypted);
    check.signature = None;
    assert_eq!(
        url_check(TOKEN, &check, NOW, 600).unwrap_err().code,
        "MISSING_PARAM"
    );
}

#[test]
fn a_genuine_push_is_explained_ok_and_the_secrets_never_show() {
    let sealed = sealed(Format::Xml);
    let good = report(query_of(&sealed), &sealed.body, TOKEN, KEY, APPID);
    assert!(good.ok, "{:?}", good.problems);
    assert_eq!(good.message.as_deref(), Some(MESSAGE));
    assert_eq!(good.event.as_deref(), Some("trade_manage_order_settlement"));
    assert_eq!((good.kind, good.format), ("encrypted push", Some("xml")));
    assert_eq!(good.expected_msg_signature, good.given_msg_signature);
    let json = serde_json::to_string(&good).unwrap();
    assert!(json.contains("<Token>"));
    assert!(!json.contains(TOKEN) && !json.contains(KEY), "{json}");
}

#[test]
fn each_classic_mistake_is_named() {
    let sealed = sealed(Format::Json);
    let query = query_of(&sealed);
    let wrong_token = report(query.clone(), &sealed.body, "another", KEY, APPID);
    assert_eq!(
        codes(&wrong_token),
        [
            ("query.signature", "BAD_SIGNATURE"),
            ("query.msg_signature", "BAD_SIGNATURE")
        ]
    );
    assert!(wrong_token.message.is_none());

    let wrong_key = report(
        query.clone(),
        &sealed.body,
        TOKEN,
        &KEY.replace('a', "b"),
        APPID,
    );
    assert_eq!(codes(&wrong_key), [("encodingAesKey", "DECRYPT_FAILED")]);

    let wrong_appid = report(query.clone(), &sealed.body, TOKEN, KEY, "wxother");
    assert_eq!(codes(&wrong_appid), [("appid", "WRONG_APPID")]);
    assert_eq!(wrong_appid.appid_found.as_deref(), Some(APPID));

    // Another push's Encrypt under this push's signatures: the Token is right, the body not.
    let other = seal(
        &secrets(),
        "{}",
        &NOW.to_string(),
        "n0nce",
        &[1; 16],
        Format::Json,
    )
    .unwrap();
    let swapped = report(query.clone(), &other.body, TOKEN, KEY, APPID);
    assert_eq!(codes(&swapped), [("query.msg_signature", "BAD_SIGNATURE")]);
    assert!(swapped.problems[0].message.contains("Token is right"));

    // A form parser's '+' -> ' ': named, and the rest still checks out with '+' put back.
    let spaced = seal(
        &secrets(),
        MESSAGE,
        &NOW.to_string(),
        "n0nce",
        &[3; 16],
        Format::Json,
    )
    .ok()
    .filter(|s| s.body.contains('+'))
    .expect("this seed's Encrypt holds a '+'");
    let damaged = report(
        query_of(&spaced),
        &spaced.body.replace('+', " "),
        TOKEN,
        KEY,
        APPID,
    );
    assert_eq!(codes(&damaged), [("body.Encrypt", "PLUS_AS_SPACE")]);

    let stale = explain(&Input {
        token: Some(TOKEN),
        encoding_aes_key: Some(KEY),
        appid: Some(APPID),
        query: query.clone(),
        body: &sealed.body,
        now: Some(NOW + 3600),
        max_age: 600,
    });
    assert_eq!(
        codes(&stale),
        [("query.timestamp", "TIMESTAMP_OUTSIDE_WINDOW")]
    );

    let mut bare = query.clone();
    bare.msg_signature = None;
    let unsigned = report(bare, &sealed.body, TOKEN, KEY, APPID);
    assert_eq!(codes(&unsigned), [("query.msg_signature", "MISSING_PARAM")]);

    let not_read = report(query, "ToUserName=gh_1&Encrypt=abc", TOKEN, KEY, APPID);
    assert_eq!(codes(&not_read), [("body", "INVALID_PUSH")]);
}

#[test]
fn url_check_mistakes_are_named() {
    let unsorted = {
        use sha1::{Digest, Sha1};
        let digest = Sha1::digest(format!("{TOKEN}{NOW}n0nce").as_bytes());
        base16ct::lower::encode_string(&digest)
    };
    let query = PushQuery::from_pairs([
        ("signature", unsorted.as_str()),
        ("timestamp", "1765000000"),
        ("nonce", "n0nce"),
        ("echostr", "e"),
    ]);
    let explained = report(query.clone(), "", TOKEN, KEY, APPID);
    assert_eq!(explained.kind, "url check");
    assert_eq!(codes(&explained), [("query.signature", "BAD_SIGNATURE")]);
    assert!(explained.problems[0].message.contains("unsorted"));

    let good = wxpay_core::push::url_signature(TOKEN, "1765000000", "n0nce");
    let query = PushQuery {
        signature: Some(good),
        ..query
    };
    let padded = report(query.clone(), "", &format!("{TOKEN}\n"), KEY, APPID);
    assert!(
        padded.problems[0]
            .message
            .contains("spaces or a line break")
    );
    assert!(report(query, "", TOKEN, KEY, APPID).ok);
}
