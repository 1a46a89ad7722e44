//! The mini program's message push (消息推送) for JavaScript: the `wxpay-sign/push` entry,
//! its own wasm (`--features push`) so neither the v2 nor the v3 one carries it into a
//! mini program, where it has no business: the Token and the EncodingAESKey are a
//! server's secrets. The URL check, a
//! push opened in any mode (plain, compatible, secure) and format (XML, JSON), a push
//! sealed exactly as WeChat sends one (to test a handler), and the explainer.

pub mod explain;

use wasm_bindgen::prelude::*;
use wxpay_core::push::message::{Fields, Format, envelope};
use wxpay_core::push::{self as crypto, PushError, PushKey};

use crate::errors::{WxError, whole_seconds};
use crate::packed::{items, push};

/// What WeChat's own documentation allows between its clock and ours by default here
/// (the server's `shipping.push_max_age_secs` default too).
pub const DEFAULT_MAX_AGE_SECS: i64 = 600;

/// The query parameters WeChat sends with a push (None: absent). The server reads its
/// push URL's query into it too (names WeChat adds that sign nothing are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct PushQuery {
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub echostr: Option<String>,
    pub encrypt_type: Option<String>,
    pub msg_signature: Option<String>,
}

impl PushQuery {
    /// From name/value pairs; names WeChat adds that sign nothing (`openid`) are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> PushQuery {
        let mut query = PushQuery::default();
        for (name, value) in pairs {
            let slot = match name {
                "signature" => &mut query.signature,
                "timestamp" => &mut query.timestamp,
                "nonce" => &mut query.nonce,
                "echostr" => &mut query.echostr,
                "encrypt_type" => &mut query.encrypt_type,
                "msg_signature" => &mut query.msg_signature,
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
        query
    }

    fn from_packed(packed: &str) -> Result<PushQuery, WxError> {
        let list = items(packed)?;
        Ok(PushQuery::from_pairs(list.chunks(2).filter_map(|pair| {
            let [name, value] = pair else { return None };
            Some((*name, *value))
        })))
    }

    /// Compatible and secure modes say `encrypt_type=aes`; plain mode says nothing.
    pub fn encrypted(&self) -> bool {
        self.encrypt_type.as_deref() == Some("aes")
    }
}

/// The mini program's push settings: the Token, the EncodingAESKey (encrypted modes) and
/// the appid the messages must be for.
#[derive(Debug, Clone, Copy)]
pub struct PushSecrets<'a> {
    pub token: &'a str,
    pub encoding_aes_key: Option<&'a str>,
    pub appid: &'a str,
}

/// A push whose signature verified: its message (decrypted when it was encrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub encrypted: bool,
    pub format: Format,
    pub message: String,
}

pub fn push_error(error: &PushError) -> WxError {
    let code = match error {
        PushError::KeyLength(_) | PushError::KeyNotBase64 => "INVALID_PUSH_KEY",
        PushError::Signature => "BAD_SIGNATURE",
        PushError::Base64
        | PushError::CiphertextLength
        | PushError::Padding
        | PushError::Length
        | PushError::NotUtf8 => "DECRYPT_FAILED",
        PushError::AppidMismatch { .. } => "WRONG_APPID",
        PushError::Malformed(_) => "INVALID_PUSH",
    };
    WxError::new(code, error.to_string())
}

fn missing(name: &str) -> WxError {
    WxError::new(
        "MISSING_PARAM",
        format!("the query has no {name}: pass the push request's query exactly as WeChat sent it"),
    )
}

/// The signed timestamp, nonce and `signature`, the timestamp within `max_age` of `now`.
fn signed(query: &PushQuery, now: i64, max_age: i64) -> Result<(&str, &str, &str), WxError> {
    let signature = query
        .signature
        .as_deref()
        .ok_or_else(|| missing("signature"))?;
    let timestamp = query
        .timestamp
        .as_deref()
        .ok_or_else(|| missing("timestamp"))?;
    let nonce = query.nonce.as_deref().ok_or_else(|| missing("nonce"))?;
    let at: i64 = timestamp.parse().map_err(|_| {
        WxError::new(
            "INVALID_TIMESTAMP",
            "timestamp must be Unix seconds in digits",
        )
    })?;
    if (now - at).abs() > max_age {
        return Err(WxError::new(
            "TIMESTAMP_OUTSIDE_WINDOW",
            format!(
                "timestamp is {} s from now, more than maxAgeSecs ({max_age}): a replay, or a clock that is off",
                now - at
            ),
        ));
    }
    Ok((signature, timestamp, nonce))
}

/// The URL check (the GET WeChat sends when the push URL is saved): `echostr` to answer
/// with when `signature` is the Token's.
pub fn url_check(
    token: &str,
    query: &PushQuery,
    now: i64,
    max_age: i64,
) -> Result<String, WxError> {
    let (signature, timestamp, nonce) = signed(query, now, max_age)?;
    if !crypto::verify_url_signature(token, timestamp, nonce, signature) {
        return Err(push_error(&PushError::Signature));
    }
    query.echostr.clone().ok_or_else(|| missing("echostr"))
}

/// A push checked and opened. Plain mode: `signature` covers only the timestamp and the
/// nonce, so the body is as trustworthy as the channel (act only on what WeChat's API
/// confirms). Encrypted modes: `msg_signature` over `Encrypt`, then the appid inside; the
/// plain copy compatible mode also sends is ignored.
pub fn open(
    secrets: &PushSecrets<'_>,
    query: &PushQuery,
    body: &str,
    now: i64,
    max_age: i64,
) -> Result<Opened, WxError> {
    let (signature, timestamp, nonce) = signed(query, now, max_age)?;
    let format = Format::of(body);
    if !query.encrypted() {
        if !crypto::verify_url_signature(secrets.token, timestamp, nonce, signature) {
            return Err(push_error(&PushError::Signature));
        }
        return Ok(Opened {
            encrypted: false,
            format,
            message: body.to_owned(),
        });
    }
    let key = secrets.encoding_aes_key.ok_or_else(|| {
        WxError::new(
            "INVALID_PUSH_KEY",
            "an encrypted push (encrypt_type=aes) needs encodingAesKey, the EncodingAESKey of the push settings",
        )
    })?;
    let key = PushKey::from_encoding_aes_key(key).map_err(|e| push_error(&e))?;
    let outer = Fields::parse(body).map_err(|e| push_error(&e))?;
    let encrypt = outer.get("Encrypt").ok_or_else(|| {
        WxError::new(
            "INVALID_PUSH",
            "encrypt_type=aes but the body has no Encrypt field",
        )
    })?;
    let msg_signature = query
        .msg_signature
        .as_deref()
        .ok_or_else(|| missing("msg_signature"))?;
    let message = crypto::open(
        secrets.token,
        &key,
        secrets.appid,
        timestamp,
        nonce,
        encrypt,
        msg_signature,
    )
    .map_err(|e| push_error(&e))?;
    Ok(Opened {
        encrypted: true,
        format,
        message,
    })
}

/// A push as WeChat sends one in secure mode: `signature` and `msg_signature` for the
/// query, and the envelope (`ToUserName`, `Encrypt`) in `format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub signature: String,
    pub msg_signature: String,
    pub body: String,
}

pub fn seal(
    secrets: &PushSecrets<'_>,
    message: &str,
    timestamp: &str,
    nonce: &str,
    random: &[u8; 16],
    format: Format,
) -> Result<Sealed, WxError> {
    let key = PushKey::from_encoding_aes_key(secrets.encoding_aes_key.unwrap_or_default())
        .map_err(|e| push_error(&e))?;
    let encrypt = crypto::encrypt(&key, message, secrets.appid, random);
    let to_user_name = Fields::parse(message)
        .ok()
        .and_then(|f| f.get("ToUserName").map(str::to_owned))
        .unwrap_or_default();
    Ok(Sealed {
        signature: crypto::url_signature(secrets.token, timestamp, nonce),
        msg_signature: crypto::msg_signature(secrets.token, timestamp, nonce, &encrypt),
        body: envelope(format, &to_user_name, &encrypt),
    })
}

fn max_age(value: f64) -> Result<i64, WxError> {
    whole_seconds(value, "maxAgeSecs must be a whole number of seconds")
}

fn now_secs(value: f64) -> Result<i64, WxError> {
    whole_seconds(
        value,
        "now must be Unix seconds (a whole number), not milliseconds",
    )
}

fn optional(text: &str) -> Option<&str> {
    Some(text).filter(|t| !t.is_empty())
}

#[wasm_bindgen(js_name = pushUrlCheck)]
pub fn push_url_check(
    token: &str,
    packed_query: &str,
    now: f64,
    max_age_secs: f64,
) -> Result<String, JsValue> {
    let query = PushQuery::from_packed(packed_query)?;
    let now = now_secs(now)?;
    Ok(url_check(token, &query, now, max_age(max_age_secs)?)?)
}

/// Opened: `1`/`0` (encrypted), the body's format, the message, `1`/`0` (the message is
/// XML or a JSON object), then its fields as name/value items.
#[wasm_bindgen(js_name = pushOpen)]
pub fn push_open(
    token: &str,
    encoding_aes_key: &str,
    appid: &str,
    packed_query: &str,
    body: &str,
    now: f64,
    max_age_secs: f64,
) -> Result<String, JsValue> {
    let secrets = PushSecrets {
        token,
        encoding_aes_key: optional(encoding_aes_key),
        appid,
    };
    let query = PushQuery::from_packed(packed_query)?;
    let now = now_secs(now)?;
    let opened = open(&secrets, &query, body, now, max_age(max_age_secs)?)?;
    let fields = Fields::parse(&opened.message).ok();
    let mut out = String::new();
    push(&mut out, if opened.encrypted { "1" } else { "0" });
    push(&mut out, opened.format.as_str());
    push(&mut out, &opened.message);
    push(&mut out, if fields.is_some() { "1" } else { "0" });
    for (name, value) in fields.iter().flat_map(Fields::iter) {
        push(&mut out, name);
        push(&mut out, value);
    }
    Ok(out)
}

/// Sealed: signature, msg_signature, body.
#[wasm_bindgen(js_name = pushSeal)]
#[allow(clippy::too_many_arguments)]
pub fn push_seal(
    token: &str,
    encoding_aes_key: &str,
    appid: &str,
    message: &str,
    timestamp: &str,
    nonce: &str,
    random: &[u8],
    format: &str,
) -> Result<String, JsValue> {
    let random: [u8; 16] = random
        .try_into()
        .map_err(|_| WxError::new("INVALID_ARGUMENT", "random must be 16 bytes"))?;
    let format = match format {
        "json" => Format::Json,
        "xml" => Format::Xml,
        _ => {
            return Err(
                WxError::new("INVALID_OPTIONS", "format must be \"xml\" or \"json\"").into(),
            );
        }
    };
    let secrets = PushSecrets {
        token,
        encoding_aes_key: Some(encoding_aes_key),
        appid,
    };
    let sealed = seal(&secrets, message, timestamp, nonce, &random, format)?;
    let mut out = String::new();
    for part in [&sealed.signature, &sealed.msg_signature, &sealed.body] {
        push(&mut out, part);
    }
    Ok(out)
}

/// The explainer's report as a plain JavaScript object.
#[wasm_bindgen(js_name = pushExplain)]
pub fn push_explain(
    token: &str,
    encoding_aes_key: &str,
    appid: &str,
    packed_query: &str,
    body: &str,
    now: f64,
    max_age_secs: f64,
) -> Result<JsValue, JsValue> {
    let input = explain::Input {
        token: optional(token),
        encoding_aes_key: optional(encoding_aes_key),
        appid: optional(appid),
        query: PushQuery::from_packed(packed_query)?,
        body,
        now: Some(now_secs(now)?),
        max_age: max_age(max_age_secs)?,
    };
    Ok(crate::explain::to_object(&explain::explain(&input))?)
}

#[cfg(test)]
mod tests;
