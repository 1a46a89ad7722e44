//! `explainPush` and `wxpay explain`: why does this message push not verify? Every check
//! the receiver makes, in its order (the query's parameters, the timestamp, `signature`
//! over the Token, `msg_signature` over `Encrypt`, the EncodingAESKey, the appid), each
//! failure with a code and what usually causes it. The Token and the key never appear in
//! the report: the signed parts show the Token as `<Token>`. The message is given only
//! when everything verified.

use serde::Serialize;
use wxpay_core::push::message::Fields;
use wxpay_core::push::{self as crypto, PushError, PushKey};

use super::PushQuery;
use crate::explain::Problem;

/// What the receiver knows and what arrived. Absent settings are reported as problems.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub token: Option<&'a str>,
    pub encoding_aes_key: Option<&'a str>,
    pub appid: Option<&'a str>,
    pub query: PushQuery,
    pub body: &'a str,
    /// Unix seconds; None skips the timestamp window.
    pub now: Option<i64>,
    pub max_age: i64,
}

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub ok: bool,
    /// `url check` (a GET with `echostr`), `plain push` or `encrypted push`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    pub problems: Vec<Problem>,
    /// What `signature` is the SHA1 of, in order (the Token shown as `<Token>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_parts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_msg_signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_msg_signature: Option<String>,
    /// The appid inside the decrypted message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appid_found: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The verified message; absent unless `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub notes: Vec<String>,
}

impl Report {
    fn add(&mut self, field: &'static str, code: &'static str, message: impl Into<String>) {
        self.problems.push(Problem {
            field,
            code,
            message: message.into(),
        });
    }
}

pub fn explain(input: &Input<'_>) -> Report {
    let query = &input.query;
    let mut report = Report {
        kind: if query.encrypted() {
            "encrypted push"
        } else if input.body.trim().is_empty() {
            "url check"
        } else {
            "plain push"
        },
        given_signature: query.signature.clone(),
        given_msg_signature: query.msg_signature.clone(),
        ..Report::default()
    };
    check_query(input, &mut report);
    let token = input.token.filter(|t| !t.is_empty());
    if token.is_none() {
        report.add(
            "token",
            "TOKEN_REQUIRED",
            "pass the Token (令牌) of the mini program's message push settings",
        );
    }
    let token_verifies = token.and_then(|token| check_signature(token, query, &mut report));
    let mut message = None;
    match report.kind {
        "encrypted push" => message = open_encrypted(input, token, token_verifies, &mut report),
        "plain push" => {
            report.format =
                Some(Fields::parse(input.body).map_or("unreadable", |f| f.format.as_str()));
            report.notes.push(
                "plain mode: signature covers only the Token, timestamp and nonce, not the body; act only on what WeChat's API confirms, or switch the push to secure mode".into(),
            );
            message = Some(input.body.to_owned());
        }
        _ => {}
    }
    if let Some(fields) = message.as_deref().and_then(|m| Fields::parse(m).ok()) {
        report.event = fields
            .get("Event")
            .or_else(|| fields.get("MsgType"))
            .map(str::to_owned);
    }
    report.ok = report.problems.is_empty();
    if report.ok {
        report.message = message;
    }
    report
}

fn check_query(input: &Input<'_>, report: &mut Report) {
    let query = &input.query;
    let mut wanted = vec![
        ("query.signature", "signature", &query.signature),
        ("query.timestamp", "timestamp", &query.timestamp),
        ("query.nonce", "nonce", &query.nonce),
    ];
    if report.kind == "url check" {
        wanted.push(("query.echostr", "echostr", &query.echostr));
    }
    if query.encrypted() {
        wanted.push(("query.msg_signature", "msg_signature", &query.msg_signature));
    }
    for (field, name, value) in wanted {
        if value.is_none() {
            report.add(
                field,
                "MISSING_PARAM",
                format!(
                    "the query has no {name}: pass the request's query exactly as WeChat sent it"
                ),
            );
        }
    }
    let Some(timestamp) = &query.timestamp else {
        return;
    };
    match timestamp.parse::<i64>() {
        Err(_) => report.add(
            "query.timestamp",
            "INVALID_TIMESTAMP",
            "timestamp must be Unix seconds in digits",
        ),
        Ok(at) => {
            if let Some(now) = input.now {
                let off = now - at;
                if off.abs() > input.max_age {
                    report.add(
                        "query.timestamp",
                        "TIMESTAMP_OUTSIDE_WINDOW",
                        format!(
                            "timestamp is {off} s from now, more than {} s: a replayed push, or this machine's clock is off",
                            input.max_age
                        ),
                    );
                }
            }
        }
    }
}

/// `signature` checked, and a wrong one diagnosed; Some(verifies) when it could be checked.
fn check_signature(token: &str, query: &PushQuery, report: &mut Report) -> Option<bool> {
    let (Some(timestamp), Some(nonce)) = (&query.timestamp, &query.nonce) else {
        return None;
    };
    let mut parts = [token, timestamp.as_str(), nonce.as_str()];
    parts.sort_unstable();
    report.signed_parts = Some(
        parts
            .iter()
            .map(|p| {
                if *p == token {
                    "<Token>".to_owned()
                } else {
                    (*p).to_owned()
                }
            })
            .collect(),
    );
    report.expected_signature = Some(crypto::url_signature(token, timestamp, nonce));
    let given = query.signature.as_deref()?;
    if crypto::verify_url_signature(token, timestamp, nonce, given) {
        return Some(true);
    }
    let unsorted = sha1_hex(&[token, timestamp, nonce]);
    let why = if token.trim() != token
        && crypto::verify_url_signature(token.trim(), timestamp, nonce, given)
    {
        "the Token given here has spaces or a line break around it; WeChat signed with the Token without them"
    } else if given.eq_ignore_ascii_case(&unsorted) {
        "this is the SHA1 of Token + timestamp + nonce unsorted: sort the three as strings before joining them"
    } else {
        "signature is not the SHA1 of the sorted Token, timestamp and nonce: another Token (the push settings' 令牌), or the query was changed"
    };
    report.add("query.signature", "BAD_SIGNATURE", why);
    Some(false)
}

fn sha1_hex(parts: &[&str]) -> String {
    use sha1::{Digest, Sha1};
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part.as_bytes());
    }
    base16ct::lower::encode_string(&hasher.finalize())
}

/// The encrypted modes: the envelope, `msg_signature`, the key, decryption and the appid.
/// The decrypted message, if any (the caller withholds it unless everything verified).
fn open_encrypted(
    input: &Input<'_>,
    token: Option<&str>,
    token_verifies: Option<bool>,
    report: &mut Report,
) -> Option<String> {
    let outer = match Fields::parse(input.body) {
        Ok(outer) => outer,
        Err(e) => {
            report.add(
                "body",
                "INVALID_PUSH",
                format!("{e}; pass the raw body text exactly as received"),
            );
            return None;
        }
    };
    report.format = Some(outer.format.as_str());
    let Some(encrypt) = outer.get("Encrypt") else {
        report.add(
            "body.Encrypt",
            "INVALID_PUSH",
            "encrypt_type=aes but the body has no Encrypt field: was the body parsed or rewritten before it got here?",
        );
        return None;
    };
    if outer
        .iter()
        .any(|(name, _)| !matches!(name, "ToUserName" | "Encrypt"))
    {
        report.notes.push(
            "compatible mode: the plain fields beside Encrypt are not signed; use the decrypted message's".into(),
        );
    }
    let restored = encrypt.replace(' ', "+");
    if restored != encrypt {
        report.add(
            "body.Encrypt",
            "PLUS_AS_SPACE",
            "Encrypt has spaces, which base64 never has: the body was URL-decoded ('+' read as a space, as a form parser does); read the raw body",
        );
    }
    check_msg_signature(input, token, token_verifies, &restored, report);
    let key = match input.encoding_aes_key {
        None => {
            report.add(
                "encodingAesKey",
                "KEY_REQUIRED",
                "pass the EncodingAESKey (消息加解密密钥) of the push settings to decrypt",
            );
            return None;
        }
        Some(key) => match PushKey::from_encoding_aes_key(key) {
            Ok(key) => key,
            Err(e) => {
                report.add("encodingAesKey", "INVALID_PUSH_KEY", e.to_string());
                return None;
            }
        },
    };
    decrypt(input.appid, &key, &restored, report)
}

fn check_msg_signature(
    input: &Input<'_>,
    token: Option<&str>,
    token_verifies: Option<bool>,
    restored: &str,
    report: &mut Report,
) {
    let query = &input.query;
    let (Some(token), Some(timestamp), Some(nonce)) = (token, &query.timestamp, &query.nonce)
    else {
        return;
    };
    report.expected_msg_signature = Some(crypto::msg_signature(token, timestamp, nonce, restored));
    let Some(given) = query.msg_signature.as_deref() else {
        return;
    };
    // WeChat signed the Encrypt it sent: with any '+' a URL-decoder made a space put back.
    if crypto::verify_msg_signature(token, timestamp, nonce, restored, given) {
        return;
    }
    let why = if token_verifies == Some(true) {
        "the Token is right (signature verifies) but msg_signature is not over this Encrypt: the body was changed on the way, or Encrypt was taken from another push"
    } else {
        "msg_signature is not the SHA1 of the sorted Token, timestamp, nonce and Encrypt: another Token, or a changed push"
    };
    report.add("query.msg_signature", "BAD_SIGNATURE", why);
}

fn decrypt(
    appid: Option<&str>,
    key: &PushKey,
    encrypt: &str,
    report: &mut Report,
) -> Option<String> {
    let expected = appid.unwrap_or_default();
    match crypto::decrypt(key, encrypt, expected) {
        Ok(message) => {
            report.appid_found = Some(expected.to_owned());
            Some(message)
        }
        Err(PushError::AppidMismatch { found }) => {
            match appid {
                Some(appid) => report.add(
                    "appid",
                    "WRONG_APPID",
                    format!("the message is for appid {found}, not {appid}: another mini program's push came to this URL, or the appid here is wrong"),
                ),
                None => report.add(
                    "appid",
                    "APPID_REQUIRED",
                    format!("pass the mini program's appid: the message says {found}, and a receiver must check it"),
                ),
            }
            let message = crypto::decrypt(key, encrypt, &found).ok();
            report.appid_found = Some(found);
            message
        }
        Err(e @ (PushError::Padding | PushError::CiphertextLength | PushError::Length)) => {
            report.add(
                "encodingAesKey",
                "DECRYPT_FAILED",
                format!("{e}: Encrypt did not decrypt with this EncodingAESKey (another key, perhaps from before it was reset in the settings) or Encrypt was changed"),
            );
            None
        }
        Err(e) => {
            report.add("body.Encrypt", "DECRYPT_FAILED", e.to_string());
            None
        }
    }
}
