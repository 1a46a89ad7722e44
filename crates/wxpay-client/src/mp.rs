//! The Mini Program server APIs that need an access_token: `POST /cgi-bin/stable_token`
//! (the token itself; the "stable" variant does not invalidate the token other instances
//! hold) and `POST /wxa/business/getuserphonenumber` (protocol.md §1.5). The token is a
//! secret: it never appears in an error (reqwest's errors name the URL it rides in).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::http;

/// An access_token and how long WeChat says it lives.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_in: Duration,
}

/// A user's phone number, as `getuserphonenumber` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// With the country code for numbers outside mainland China.
    pub phone_number: String,
    pub pure_phone_number: String,
    pub country_code: String,
    /// `watermark.appid`: the Mini Program the number was given to.
    pub appid: String,
    /// `watermark.timestamp` (Unix seconds): when WeChat gave it; 0 when absent.
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpError {
    /// 40001 / 42001 / 40014: the token is not (or no longer) valid: refresh it, once.
    #[error("WeChat says the access_token is invalid or expired (errcode {0})")]
    InvalidToken(i64),
    #[error("the phone code is invalid or expired (errcode 40029): ask the user again")]
    InvalidCode,
    #[error("WeChat's rate limit was hit (errcode 45011): retry in a minute")]
    RateLimited,
    #[error("WeChat is busy (errcode -1): retry later")]
    Busy,
    #[error(
        "WeChat refused the Mini Program's credentials (errcode {0}): check appid and app secret"
    )]
    Credentials(i64),
    #[error("WeChat error {errcode}: {errmsg}")]
    Other { errcode: i64, errmsg: String },
    #[error("timed out waiting for WeChat")]
    Timeout,
    #[error("could not reach WeChat: {0}")]
    Transport(String),
    #[error("WeChat answered HTTP {0}")]
    Http(u16),
    #[error("unexpected reply from WeChat: {0}")]
    Malformed(String),
}

impl MpError {
    /// WeChat's errcode, when it answered with one.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            MpError::InvalidToken(code) | MpError::Credentials(code) => Some(*code),
            MpError::InvalidCode => Some(40029),
            MpError::RateLimited => Some(45011),
            MpError::Busy => Some(-1),
            MpError::Other { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: WeChat busy or unreachable, or one of
    /// the shipping service's "system error, retry" codes (10060012, 10060019).
    pub fn is_transient(&self) -> bool {
        match self {
            MpError::Busy | MpError::RateLimited | MpError::Timeout | MpError::Transport(_) => true,
            MpError::Http(status) => *status >= 500,
            MpError::Other { errcode, .. } => matches!(errcode, 10060012 | 10060019),
            _ => false,
        }
    }

    pub(crate) fn from_errcode(errcode: i64, errmsg: &str) -> MpError {
        match errcode {
            40001 | 42001 | 40014 => MpError::InvalidToken(errcode),
            40029 => MpError::InvalidCode,
            45011 => MpError::RateLimited,
            -1 => MpError::Busy,
            40013 | 40125 | 40164 => MpError::Credentials(errcode),
            _ => MpError::Other {
                errcode,
                errmsg: errmsg.chars().take(200).collect(),
            },
        }
    }
}

#[derive(Deserialize)]
struct TokenReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct PhoneReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    phone_info: Option<PhoneInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    phone_number: String,
    pure_phone_number: String,
    /// A string in the reference, the number 86 in its example: both are taken.
    country_code: serde_json::Value,
    watermark: Option<Watermark>,
}

#[derive(Deserialize)]
struct Watermark {
    #[serde(default)]
    appid: String,
    #[serde(default)]
    timestamp: i64,
}

impl crate::LoginClient {
    /// `POST /cgi-bin/stable_token`: the current token (the same one until it expires),
    /// or with `force_refresh` a new one (WeChat allows few of those a day).
    pub async fn stable_token(&self, force_refresh: bool) -> Result<AccessToken, MpError> {
        let body = json!({
            "grant_type": "client_credential",
            "appid": self.appid(),
            "secret": self.secret().expose_secret(),
            "force_refresh": force_refresh,
        });
        let reply: TokenReply = self.post_json("/cgi-bin/stable_token", &body).await?;
        if reply.errcode != 0 {
            return Err(MpError::from_errcode(reply.errcode, &reply.errmsg));
        }
        match (reply.access_token, reply.expires_in) {
            (Some(token), Some(expires_in)) if !token.is_empty() => Ok(AccessToken {
                token: SecretString::from(token),
                expires_in: Duration::from_secs(expires_in),
            }),
            _ => Err(MpError::Malformed("no access_token or expires_in".into())),
        }
    }

    /// `POST /wxa/business/getuserphonenumber` with a phone code from the button.
    pub async fn phone_number(
        &self,
        token: &SecretString,
        code: &str,
    ) -> Result<PhoneNumber, MpError> {
        let path = format!(
            "/wxa/business/getuserphonenumber?access_token={}",
            token.expose_secret()
        );
        let reply: PhoneReply = self.post_json(&path, &json!({ "code": code })).await?;
        if reply.errcode != 0 {
            return Err(MpError::from_errcode(reply.errcode, &reply.errmsg));
        }
        let info = reply
            .phone_info
            .ok_or_else(|| MpError::Malformed("no phone_info".into()))?;
        let country_code = match info.country_code {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(MpError::Malformed(
                    "countryCode is neither text nor a number".into(),
                ));
            }
        };
        Ok(PhoneNumber {
            phone_number: info.phone_number,
            pure_phone_number: info.pure_phone_number,
            country_code,
            appid: info
                .watermark
                .as_ref()
                .map(|w| w.appid.clone())
                .unwrap_or_default(),
            timestamp: info.watermark.map_or(0, |w| w.timestamp),
        })
    }

    pub(crate) async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, MpError> {
        let response = self
            .http()
            .post(http::join(self.base(), path))
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(MpError::Http(status.as_u16()));
        }
        let bytes = http::read_body(response).await.map_err(transport)?;
        serde_json::from_slice(&bytes)
            .map_err(|_| MpError::Malformed("not the JSON WeChat returns".into()))
    }
}

/// Never the URL: it may carry the access_token.
fn transport(error: reqwest::Error) -> MpError {
    if error.is_timeout() {
        MpError::Timeout
    } else {
        MpError::Transport(error.without_url().to_string())
    }
}
