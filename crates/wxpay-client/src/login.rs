//! `GET /sns/jscode2session`: a `wx.login` code -> openid, session_key, unionid.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use wxpay_core::SessionKey;

use crate::http::{self, ClientOptions};
use crate::retry::RetryPolicy;

/// What code2session proves about the user. `session_key` must stay on the server.
#[derive(Debug)]
pub struct Session {
    pub openid: String,
    pub unionid: Option<String>,
    pub session_key: SessionKey,
}

/// Why a login failed. Messages say what to do and never contain the app secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("the login code is invalid or expired (errcode 40029): call wx.login again")]
    InvalidCode,
    #[error("the login code was already used (errcode 40163): call wx.login again")]
    CodeUsed,
    #[error("WeChat's login rate limit was hit (errcode 45011): retry in a minute")]
    RateLimited,
    #[error("WeChat's risk control blocked this user's login (errcode 40226)")]
    Blocked,
    #[error("WeChat is busy (errcode -1): retry later")]
    Busy,
    #[error(
        "WeChat refused the Mini Program's credentials (errcode {0}): check appid and app secret"
    )]
    Credentials(i64),
    #[error("WeChat login error {errcode}: {errmsg}")]
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

impl LoginError {
    fn from_errcode(errcode: i64, errmsg: String) -> LoginError {
        match errcode {
            40029 => LoginError::InvalidCode,
            40163 => LoginError::CodeUsed,
            45011 => LoginError::RateLimited,
            40226 => LoginError::Blocked,
            -1 => LoginError::Busy,
            40013 | 40125 | 40001 => LoginError::Credentials(errcode),
            _ => LoginError::Other {
                errcode,
                errmsg: errmsg.chars().take(200).collect(),
            },
        }
    }
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    openid: Option<String>,
    session_key: Option<String>,
    unionid: Option<String>,
}

/// The Mini Program side of WeChat (`api.weixin.qq.com`).
#[derive(Debug, Clone)]
pub struct LoginClient {
    http: reqwest::Client,
    base: String,
    appid: String,
    secret: SecretString,
    retry: RetryPolicy,
}

impl LoginClient {
    pub fn new(
        base: &str,
        appid: &str,
        secret: SecretString,
        options: &ClientOptions,
    ) -> reqwest::Result<LoginClient> {
        Ok(LoginClient {
            http: http::build(options)?,
            base: base.to_owned(),
            appid: appid.to_owned(),
            secret,
            retry: options.retry,
        })
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    pub(crate) fn appid(&self) -> &str {
        &self.appid
    }

    pub(crate) fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// Exchanges a login code. Only errcode -1 (busy) is retried: after a timeout the
    /// code may already be used up, and retrying it would only turn into 40163.
    pub async fn code2session(&self, code: &str) -> Result<Session, LoginError> {
        let mut retry = 0;
        loop {
            match self.exchange_once(code).await {
                Err(LoginError::Busy) if retry + 1 < self.retry.attempts => {
                    retry += 1;
                    tokio::time::sleep(self.retry.backoff(retry)).await;
                }
                other => return other,
            }
        }
    }

    async fn exchange_once(&self, code: &str) -> Result<Session, LoginError> {
        let url = http::join(&self.base, "/sns/jscode2session");
        let response = self
            .http
            .get(url)
            .query(&[
                ("appid", self.appid.as_str()),
                ("secret", self.secret.expose_secret()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(LoginError::Http(status.as_u16()));
        }
        let body = http::read_body(response).await.map_err(transport)?;
        let reply: Reply = serde_json::from_slice(&body)
            .map_err(|_| LoginError::Malformed("not the JSON code2session returns".into()))?;
        // A successful reply may omit errcode: absent counts as 0.
        if reply.errcode != 0 {
            return Err(LoginError::from_errcode(reply.errcode, reply.errmsg));
        }
        let (Some(openid), Some(session_key)) = (reply.openid, reply.session_key) else {
            return Err(LoginError::Malformed(
                "openid or session_key missing".into(),
            ));
        };
        let session_key = SessionKey::from_base64(&session_key)
            .map_err(|_| LoginError::Malformed("session_key is not base64 of 16 bytes".into()))?;
        Ok(Session {
            openid,
            unionid: reply.unionid.filter(|u| !u.is_empty()),
            session_key,
        })
    }
}

/// reqwest errors name the URL, and code2session's URL carries the app secret: drop it.
fn transport(error: reqwest::Error) -> LoginError {
    if error.is_timeout() {
        LoginError::Timeout
    } else {
        LoginError::Transport(error.without_url().to_string())
    }
}
