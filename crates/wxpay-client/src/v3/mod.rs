//! WeChat Pay API v3 (JSAPI): prepay, query (by out_trade_no or transaction_id), close,
//! and `/v3/certificates` for merchants on platform certificates.
//!
//! Every request is signed with the merchant's key (constant time, aws-lc-rs via
//! wxpay-core); every reply is verified before any field is used: a 2xx without signature
//! headers counts as forged. A reply naming an unknown serial makes a merchant on
//! certificates download them once (once per serial a minute, and downloads at least
//! [`WechatKeys::refresh_min_interval`] apart), then verify again; a merchant on the public
//! key never calls `/v3/certificates`. Retries resend the identical body
//! (WeChat answers an identical prepay with the same prepay_id); an unverified reply to a
//! write is returned as "may have taken effect", not retried and not called a failure.

mod bill;
mod error;
mod refund;
mod wechat_keys;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde::Serialize;
use wxpay_core::Fen;
use wxpay_core::v3::certificates::decrypt_certificates;
use wxpay_core::v3::payloads::Transaction;
use wxpay_core::v3::request::authorize;
use wxpay_core::v3::verify::SignatureHeaders;
use wxpay_core::v3::{ApiV3Key, KeyError, KeySet, RequestToSign, RsaPrivateKey, VerifyError};

pub use error::V3PayError;
pub use refund::{V3Refund, V3RefundRequest};
use wechat_keys::KeyStore;
pub use wechat_keys::{DEFAULT_REFRESH_MIN_INTERVAL, WechatKeys};

use crate::CloseOutcome;
use crate::http::{self, ClientOptions};
use crate::retry::RetryPolicy;

/// The merchant's v3 credentials and how it verifies WeChat.
#[derive(Debug, Clone)]
pub struct V3Credentials {
    /// The Mini Program's appid (bound to `mchid`).
    pub appid: String,
    pub mchid: String,
    /// The merchant API certificate's serial (upper-case hex), sent in `Authorization`.
    pub merchant_serial: String,
    /// `apiclient_key.pem`.
    pub merchant_key: Arc<RsaPrivateKey>,
    pub apiv3_key: ApiV3Key,
    pub wechat: WechatKeys,
}

/// A JSAPI (Mini Program) order, as `POST /v3/pay/transactions/jsapi` takes it. Its JSON
/// ([`V3PayClient::prepay_body`]) is what a backend stores and re-sends unchanged:
/// WeChat answers an identical request with the same prepay_id and a different one with
/// `INVALID_REQUEST`.
#[derive(Debug, Clone)]
pub struct JsapiOrder<'a> {
    /// Shown on the user's bill (at most 127 characters).
    pub description: &'a str,
    /// 6 to 32 of `[0-9A-Za-z_-|*]`.
    pub out_trade_no: &'a str,
    pub notify_url: &'a str,
    pub total: Fen,
    pub openid: &'a str,
    /// RFC 3339 (`2026-11-30T14:00:00+08:00`).
    pub time_expire: Option<&'a str>,
    pub attach: Option<&'a str>,
    /// `scene_info.payer_client_ip`.
    pub payer_client_ip: Option<&'a str>,
}

#[derive(Serialize)]
struct PrepayBody<'a> {
    appid: &'a str,
    mchid: &'a str,
    description: &'a str,
    out_trade_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_expire: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attach: Option<&'a str>,
    notify_url: &'a str,
    amount: Amount,
    payer: Payer<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scene_info: Option<SceneInfo<'a>>,
}

#[derive(Serialize)]
struct Amount {
    total: i64,
    currency: &'static str,
}

#[derive(Serialize)]
struct Payer<'a> {
    openid: &'a str,
}

#[derive(Serialize)]
struct SceneInfo<'a> {
    payer_client_ip: &'a str,
}

/// A verified reply.
pub(crate) struct Reply {
    status: u16,
    pub(crate) body: Vec<u8>,
}

/// The merchant side of WeChat Pay API v3 (`api.mch.weixin.qq.com`). Cheap to clone.
#[derive(Clone)]
pub struct V3PayClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    credentials: V3Credentials,
    keys: KeyStore,
    retry: RetryPolicy,
    max_bill_bytes: u64,
}

impl std::fmt::Debug for V3PayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V3PayClient")
            .field("base", &self.inner.base)
            .field("mchid", &self.inner.credentials.mchid)
            .finish_non_exhaustive()
    }
}

/// Why a client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum V3ClientError {
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("WeChat's keys: {0}")]
    Keys(#[from] KeyError),
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl V3PayClient {
    pub fn new(
        base: &str,
        credentials: V3Credentials,
        options: &ClientOptions,
    ) -> Result<V3PayClient, V3ClientError> {
        let keys = KeyStore::new(
            credentials.merchant_key.public_key().clone(),
            &credentials.merchant_serial,
            credentials.wechat.clone(),
        )?;
        Ok(V3PayClient {
            inner: Arc::new(Inner {
                http: http::build(options)?,
                base: base.to_owned(),
                credentials,
                keys,
                retry: options.retry,
                max_bill_bytes: options.max_bill_bytes,
            }),
        })
    }

    pub fn appid(&self) -> &str {
        &self.inner.credentials.appid
    }

    pub(crate) fn max_bill_bytes(&self) -> u64 {
        self.inner.max_bill_bytes
    }

    pub fn mchid(&self) -> &str {
        &self.inner.credentials.mchid
    }

    pub fn credentials(&self) -> &V3Credentials {
        &self.inner.credentials
    }

    /// WeChat's keys in use now (for verifying notifies with the same keys).
    pub fn key_set(&self) -> Arc<KeySet> {
        self.inner.keys.keys()
    }

    /// The JSON body of a prepay for `order` (this client's appid and mchid).
    pub fn prepay_body(&self, order: &JsapiOrder<'_>) -> String {
        let body = PrepayBody {
            appid: self.appid(),
            mchid: self.mchid(),
            description: order.description,
            out_trade_no: order.out_trade_no,
            time_expire: order.time_expire,
            attach: order.attach,
            notify_url: order.notify_url,
            amount: Amount {
                total: order.total.get(),
                currency: "CNY",
            },
            payer: Payer {
                openid: order.openid,
            },
            scene_info: order
                .payer_client_ip
                .map(|payer_client_ip| SceneInfo { payer_client_ip }),
        };
        // Strings and integers: serializing cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// `POST /v3/pay/transactions/jsapi` with `body` exactly (from [`Self::prepay_body`],
    /// as first sent): the prepay_id.
    pub async fn prepay(&self, body: &str) -> Result<String, V3PayError> {
        let reply = self
            .call(Method::POST, "/v3/pay/transactions/jsapi", Some(body), true)
            .await?;
        #[derive(serde::Deserialize)]
        struct Prepaid {
            prepay_id: String,
        }
        let prepaid: Prepaid = serde_json::from_slice(&reply.body)
            .map_err(|e| V3PayError::Malformed(format!("prepay reply: {e}")))?;
        if prepaid.prepay_id.is_empty() {
            return Err(V3PayError::Malformed("empty prepay_id".into()));
        }
        Ok(prepaid.prepay_id)
    }

    /// `GET /v3/pay/transactions/out-trade-no/{no}?mchid=`: the trade, paid or not.
    pub async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction<'static>, V3PayError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}?mchid={}",
            path_segment(out_trade_no)?,
            self.mchid()
        );
        self.query(&path).await
    }

    /// `GET /v3/pay/transactions/id/{transaction_id}?mchid=`.
    pub async fn query_by_transaction_id(
        &self,
        transaction_id: &str,
    ) -> Result<Transaction<'static>, V3PayError> {
        let path = format!(
            "/v3/pay/transactions/id/{}?mchid={}",
            path_segment(transaction_id)?,
            self.mchid()
        );
        self.query(&path).await
    }

    async fn query(&self, path: &str) -> Result<Transaction<'static>, V3PayError> {
        let reply = self.call(Method::GET, path, None, false).await?;
        let trade: Transaction<'_> = serde_json::from_slice(&reply.body)
            .map_err(|e| V3PayError::Malformed(format!("transaction: {e}")))?;
        if trade.mchid != self.mchid() || trade.appid != self.appid() {
            return Err(V3PayError::Malformed(
                "the transaction is for another appid or mchid".into(),
            ));
        }
        Ok(trade.into_owned())
    }

    /// `POST /v3/pay/transactions/out-trade-no/{no}/close`: 204 is closed; WeChat's
    /// ORDER_PAID, ORDER_CLOSED and ORDER_NOT_EXIST say what happened instead.
    pub async fn close(&self, out_trade_no: &str) -> Result<CloseOutcome, V3PayError> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}/close",
            path_segment(out_trade_no)?
        );
        let body = serde_json::json!({ "mchid": self.mchid() }).to_string();
        match self.call(Method::POST, &path, Some(&body), true).await {
            Ok(reply) if reply.status == 204 || reply.status == 200 => Ok(CloseOutcome::Closed),
            Ok(reply) => Err(V3PayError::Malformed(format!(
                "close answered HTTP {}",
                reply.status
            ))),
            // Only a verified answer says what became of the order.
            Err(e) => match e.verified_code() {
                Some("ORDER_CLOSED" | "ORDERCLOSED") => Ok(CloseOutcome::AlreadyClosed),
                Some("ORDER_PAID" | "ORDERPAID") => Ok(CloseOutcome::AlreadyPaid),
                Some("ORDER_NOT_EXIST" | "ORDERNOTEXIST") => Ok(CloseOutcome::NotFound),
                _ => Err(e),
            },
        }
    }

    /// Downloads `/v3/certificates` and verifies with them from now on (with the
    /// configured keys). Only for merchants on platform certificates. The certificates are
    /// authenticated by the APIv3 key (they decrypt), then the reply's signature must
    /// verify with them. Returns their serials.
    pub async fn download_certificates(&self) -> Result<Vec<String>, V3PayError> {
        let keys = &self.inner.keys;
        if !keys.has_certificates() {
            return Err(V3PayError::NoCertificates);
        }
        keys.note_download();
        let (status, headers, body) = self
            .with_retries("/v3/certificates", || {
                self.send(Method::GET, "/v3/certificates", None, http::MAX_REPLY_BYTES)
            })
            .await?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &body, false));
        }
        let certificates = decrypt_certificates(&body, &self.inner.credentials.apiv3_key)
            .map_err(|e| V3PayError::Malformed(e.to_string()))?;
        let candidate = keys
            .build(&certificates)
            .map_err(|e| V3PayError::Malformed(e.to_string()))?;
        verify(&candidate, &headers, &body).map_err(|reason| V3PayError::Unverified {
            reason,
            may_have_taken_effect: false,
        })?;
        keys.install(&certificates)
            .map_err(|e| V3PayError::Malformed(e.to_string()))?;
        Ok(certificates
            .iter()
            .map(|c| c.serial_no().to_owned())
            .collect())
    }

    /// Verifies a notify or a reply with the current keys; on an unknown serial, a
    /// merchant on certificates downloads them (at most once a minute) and tries again.
    pub async fn verify_refreshing<'b>(
        &self,
        headers: &SignatureHeaders<'_>,
        body: &'b [u8],
        now: i64,
    ) -> Result<wxpay_core::v3::VerifiedBody<'b>, VerifyError> {
        match self.key_set().verify(headers, body, now) {
            Err(VerifyError::UnknownSerial(serial)) if self.inner.keys.may_refresh(&serial) => {
                if let Err(error) = self.download_certificates().await {
                    tracing::warn!(%error, "cannot refresh WeChat's platform certificates");
                    return Err(VerifyError::UnknownSerial(serial));
                }
                self.key_set().verify(headers, body, now)
            }
            outcome => outcome,
        }
    }

    /// One API call: signed, sent (and resent while retrying is safe), verified.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        write: bool,
    ) -> Result<Reply, V3PayError> {
        self.with_retries(path, || async {
            let (status, headers, bytes) = self
                .send(method.clone(), path, body, http::MAX_REPLY_BYTES)
                .await?;
            self.verified(status, &headers, bytes, write).await
        })
        .await
    }

    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        path: &str,
        attempt: F,
    ) -> Result<T, V3PayError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, V3PayError>>,
    {
        let mut retry = 0;
        loop {
            match attempt().await {
                Err(e) if e.is_retryable() && retry + 1 < self.inner.retry.attempts => {
                    retry += 1;
                    tracing::warn!(path, retry, error = %e, "retrying WeChat Pay v3 call with the same body");
                    tokio::time::sleep(self.inner.retry.backoff(retry)).await;
                }
                outcome => return outcome,
            }
        }
    }

    /// Signs and sends one request: the status, the headers and the body (up to `limit`).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        limit: usize,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>), V3PayError> {
        let credentials = &self.inner.credentials;
        let body_bytes = body.unwrap_or_default().as_bytes();
        let nonce = http::nonce();
        let authorization = authorize(
            &credentials.merchant_key,
            &credentials.mchid,
            &credentials.merchant_serial,
            &RequestToSign {
                method: method.as_str(),
                url: path,
                timestamp: unix_now(),
                nonce: &nonce,
                body: body_bytes,
            },
        )
        .map_err(|e| V3PayError::Sign(e.to_string()))?;
        let mut request = self
            .inner
            .http
            .request(method, http::join(&self.inner.base, path))
            .header(reqwest::header::AUTHORIZATION, authorization.header_value())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(serial) = self.inner.keys.expected_serial() {
            request = request.header("Wechatpay-Serial", serial);
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = http::read_body_up_to(response, limit)
            .await
            .map_err(transport)?;
        Ok((status, headers, bytes))
    }

    /// The reply, once its signature verified (an error reply without signature headers
    /// is taken as WeChat's or a gateway's error: it proves nothing either way).
    async fn verified(
        &self,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: Vec<u8>,
        write: bool,
    ) -> Result<Reply, V3PayError> {
        let success = (200..300).contains(&status);
        let signed = headers.contains_key("Wechatpay-Signature");
        if success || signed {
            let outcome = match lookup_headers(headers) {
                Ok(signature) => self
                    .verify_refreshing(&signature, &body, unix_now())
                    .await
                    .map(|_| ()),
                Err(missing) => Err(missing),
            };
            if let Err(reason) = outcome {
                return Err(V3PayError::Unverified {
                    reason,
                    may_have_taken_effect: write,
                });
            }
        }
        if success {
            Ok(Reply { status, body })
        } else {
            // Signed means verified here: a signature that failed returned above.
            Err(api_error(status, &body, signed))
        }
    }
}

fn lookup_headers(
    headers: &reqwest::header::HeaderMap,
) -> Result<SignatureHeaders<'_>, VerifyError> {
    SignatureHeaders::from_lookup(|name| headers.get(name).and_then(|v| v.to_str().ok()))
}

fn verify(
    keys: &KeySet,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Result<(), VerifyError> {
    keys.verify(&lookup_headers(headers)?, body, unix_now())
        .map(|_| ())
}

/// WeChat's `{code, message, detail}`, or a bare HTTP error (`verified`: its signature
/// verified).
pub(crate) fn api_error(status: u16, body: &[u8], verified: bool) -> V3PayError {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        code: Option<String>,
        message: Option<String>,
        detail: Option<serde_json::Value>,
    }
    let cut = |s: String| s.chars().take(300).collect::<String>();
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) => V3PayError::Api {
            status,
            code: cut(parsed.code.unwrap_or_default()),
            message: cut(parsed.message.unwrap_or_default()),
            detail: parsed.detail,
            verified,
        },
        Err(_) => V3PayError::Api {
            status,
            code: String::new(),
            message: cut(String::from_utf8_lossy(body).into_owned()),
            detail: None,
            verified,
        },
    }
}

/// An id placed in a URL path: the characters WeChat allows in them, nothing to escape.
pub(crate) fn path_segment(id: &str) -> Result<&str, V3PayError> {
    let allowed =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@');
    if id.is_empty() || id.len() > 64 || !id.bytes().all(allowed) {
        return Err(V3PayError::Sign(format!(
            "{id:?} is not a WeChat order or transaction id"
        )));
    }
    Ok(id)
}

fn transport(error: reqwest::Error) -> V3PayError {
    if error.is_timeout() {
        V3PayError::Timeout
    } else {
        V3PayError::Transport(error.without_url().to_string())
    }
}
