//! Request signing (protocol §3.2): the 5-line message over exactly what is sent, and the
//! `Authorization: WECHATPAY2-SHA256-RSA2048 ...` header. One construction whatever signs
//! it (aws-lc-rs natively; the message alone is what other signers need).

use std::fmt::Write as _;

/// The only scheme API v3 uses, in `Authorization` and `Wechatpay-Signature-Type`.
pub const SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// A timestamp this large is milliseconds, not the seconds WeChat wants (year 5138+).
const MAX_SECONDS: i64 = 99_999_999_999;

/// A request as it will be sent.
#[derive(Debug, Clone, Copy)]
pub struct RequestToSign<'a> {
    /// `GET`, `POST`, ... (upper case).
    pub method: &'a str,
    /// The path and, if any, `?` and the raw query string exactly as sent (no scheme, no
    /// host): `/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109`.
    pub url: &'a str,
    /// Unix seconds.
    pub timestamp: i64,
    pub nonce: &'a str,
    /// The exact bytes sent (empty for GET and DELETE).
    pub body: &'a [u8],
}

/// Why a request or header cannot be signed or read. These are the classic ways a v3
/// signature comes out wrong (WeChat answers 401 SIGN_ERROR).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the HTTP method must be upper case (GET, POST, ...), not {0:?}")]
    Method(String),
    #[error(
        "the URL to sign is the path and raw query as sent, starting with /v3/ (no scheme or \
         host, no placeholder left), not {0:?}"
    )]
    Url(String),
    #[error("timestamp {0} is milliseconds: WeChat wants Unix seconds")]
    Milliseconds(i64),
    #[error("timestamp must be positive Unix seconds")]
    Timestamp,
    #[error("{field} must be 1 to {max} letters or digits")]
    Field { field: &'static str, max: usize },
    #[error("not a {SCHEMA} Authorization header: {0}")]
    Authorization(&'static str),
}

impl RequestToSign<'_> {
    /// `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`: each line ends with `\n`, the last too.
    pub fn message(&self) -> Result<Vec<u8>, RequestError> {
        if self.method.is_empty() || !self.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(RequestError::Method(self.method.chars().take(16).collect()));
        }
        let url_ok = self.url.starts_with('/')
            && !self.url.contains(['{', '}', ' ', '\r', '\n'])
            && !self.url.starts_with("//");
        if !url_ok {
            return Err(RequestError::Url(self.url.chars().take(120).collect()));
        }
        check_timestamp(self.timestamp)?;
        check_token("nonce", self.nonce, 32)?;
        let mut message = Vec::with_capacity(self.url.len() + self.body.len() + 64);
        for line in [
            self.method.as_bytes(),
            self.url.as_bytes(),
            self.timestamp.to_string().as_bytes(),
            self.nonce.as_bytes(),
            self.body,
        ] {
            message.extend_from_slice(line);
            message.push(b'\n');
        }
        Ok(message)
    }
}

pub(crate) fn check_timestamp(timestamp: i64) -> Result<(), RequestError> {
    if timestamp > MAX_SECONDS {
        Err(RequestError::Milliseconds(timestamp))
    } else if timestamp <= 0 {
        Err(RequestError::Timestamp)
    } else {
        Ok(())
    }
}

/// Letters and digits (plus `_` and `-`), 1 to `max` of them: values that go inside the
/// header's quotes unescaped.
pub(crate) fn check_token(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), RequestError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(RequestError::Field { field, max })
    }
}

/// The parameters of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub serial_no: String,
    pub nonce_str: String,
    pub timestamp: i64,
    /// Base64 RSA signature of [`RequestToSign::message`].
    pub signature: String,
}

impl Authorization {
    /// The header value, parameters in the order of WeChat's documentation.
    pub fn header_value(&self) -> String {
        let mut value = String::with_capacity(self.signature.len() + 160);
        // Writing to a String cannot fail.
        let _ = write!(
            value,
            "{SCHEMA} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        );
        value
    }

    /// Reads a header value (parameters in any order, as WeChat accepts them). For
    /// servers that verify requests, like the simulator.
    pub fn parse(value: &str) -> Result<Authorization, RequestError> {
        let params = value
            .strip_prefix(SCHEMA)
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(RequestError::Authorization(
                "it must start with the scheme and a space",
            ))?;
        let (mut mchid, mut serial, mut nonce, mut timestamp, mut signature) =
            (None, None, None, None, None);
        for pair in params.split(',') {
            let (name, quoted) = pair
                .trim()
                .split_once('=')
                .ok_or(RequestError::Authorization("a parameter has no value"))?;
            let value = quoted
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or(RequestError::Authorization(
                    "values must be in double quotes",
                ))?;
            let slot = match name {
                "mchid" => &mut mchid,
                "serial_no" => &mut serial,
                "nonce_str" => &mut nonce,
                "timestamp" => &mut timestamp,
                "signature" => &mut signature,
                _ => return Err(RequestError::Authorization("unknown parameter")),
            };
            if slot.replace(value).is_some() {
                return Err(RequestError::Authorization("a parameter is given twice"));
            }
        }
        let missing = RequestError::Authorization("a parameter is missing");
        let timestamp: i64 = timestamp
            .ok_or(missing.clone())?
            .parse()
            .map_err(|_| RequestError::Timestamp)?;
        Ok(Authorization {
            mchid: mchid.ok_or(missing.clone())?.to_owned(),
            serial_no: serial.ok_or(missing.clone())?.to_owned(),
            nonce_str: nonce.ok_or(missing.clone())?.to_owned(),
            timestamp,
            signature: signature.ok_or(missing)?.to_owned(),
        })
    }
}

/// Signs a request with the merchant's key: the `Authorization` for it.
#[cfg(not(target_family = "wasm"))]
pub fn authorize(
    key: &super::signer::RsaPrivateKey,
    mchid: &str,
    serial_no: &str,
    request: &RequestToSign<'_>,
) -> Result<Authorization, AuthorizeError> {
    check_token("mchid", mchid, 32)?;
    check_token("serial_no", serial_no, 64)?;
    let signature = key.sign_base64(&request.message()?)?;
    Ok(Authorization {
        mchid: mchid.to_owned(),
        serial_no: serial_no.to_owned(),
        nonce_str: request.nonce.to_owned(),
        timestamp: request.timestamp,
        signature,
    })
}

/// Why [`authorize`] failed.
#[cfg(not(target_family = "wasm"))]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Sign(#[from] super::signer::SignError),
}
