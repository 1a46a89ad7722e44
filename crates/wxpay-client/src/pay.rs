//! WeChat Pay v2: unifiedorder (JSAPI), orderquery, closeorder.

use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, xml};
use wxpay_core::{ApiKey, Fen};

use crate::http::{self, ClientOptions};
use crate::retry::RetryPolicy;

/// Why a pay call failed. `err_code` and `return_msg` are WeChat's own words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    #[error("timed out waiting for WeChat Pay")]
    Timeout,
    #[error("could not reach WeChat Pay: {0}")]
    Transport(String),
    #[error("WeChat Pay answered HTTP {0}")]
    Http(u16),
    /// `return_code` FAIL: a communication or configuration problem (signature, format).
    #[error("WeChat Pay refused the request: {return_msg}")]
    Return { return_msg: String },
    /// The reply's signature did not verify: nothing in it can be trusted.
    #[error("WeChat Pay's reply is not correctly signed")]
    BadSignature,
    /// `result_code` FAIL: a business error.
    #[error("WeChat Pay error {err_code}: {err_code_des}")]
    Business {
        err_code: String,
        err_code_des: String,
    },
    #[error("unexpected reply from WeChat Pay: {0}")]
    Malformed(String),
    /// A bill inflating past `ClientOptions::max_bill_bytes` (`reconciliation.max_bill_bytes`
    /// in the server): refused before it is held.
    #[error(
        "the bill inflates past {limit} bytes (the max_bill_bytes bound): raise the bound if this merchant's day is that large"
    )]
    BillTooLarge { limit: u64 },
}

impl PayError {
    /// Whether repeating the identical request is safe and may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            PayError::Timeout | PayError::Transport(_) | PayError::BadSignature => true,
            PayError::Http(status) => *status >= 500,
            PayError::Business { err_code, .. } => {
                matches!(err_code.as_str(), "SYSTEMERROR" | "BIZERR_NEED_RETRY")
            }
            PayError::Return { .. } | PayError::Malformed(_) | PayError::BillTooLarge { .. } => {
                false
            }
        }
    }

    /// WeChat's `err_code`, for business errors.
    pub fn err_code(&self) -> Option<&str> {
        match self {
            PayError::Business { err_code, .. } => Some(err_code),
            _ => None,
        }
    }
}

/// A JSAPI order. Everything here is part of the order's identity at WeChat: repeat an
/// `out_trade_no` only with exactly the same values (the sign type included: WeChat keeps
/// it with the order, and the payer's paySign must use it too).
#[derive(Debug, Clone)]
pub struct UnifiedOrder<'a> {
    pub sign_type: SignType,
    pub out_trade_no: &'a str,
    /// Shown to the payer (at most 128 characters).
    pub body: &'a str,
    pub total_fee: Fen,
    pub openid: &'a str,
    pub notify_url: &'a str,
    pub spbill_create_ip: &'a str,
    pub attach: Option<&'a str>,
    /// `yyyyMMddHHmmss`, Beijing time.
    pub time_expire: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub struct Prepay {
    pub prepay_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeState {
    NotPay,
    Success,
    Closed,
    Refund,
    UserPaying,
    PayError,
    Revoked,
    Other(String),
}

impl TradeState {
    /// From WeChat's `trade_state` (the same words in v2 and v3).
    pub fn from_wire(s: &str) -> TradeState {
        match s {
            "NOTPAY" | "NOPAY" => TradeState::NotPay,
            "SUCCESS" => TradeState::Success,
            "CLOSED" => TradeState::Closed,
            "REFUND" => TradeState::Refund,
            "USERPAYING" => TradeState::UserPaying,
            "PAYERROR" => TradeState::PayError,
            "REVOKED" => TradeState::Revoked,
            other => TradeState::Other(other.chars().take(32).collect()),
        }
    }
}

/// An orderquery result. Its signature verified, so a SUCCESS here proves payment as
/// much as a verified notify does (after the caller checks amount and ids).
#[derive(Debug, Clone)]
pub struct QueriedTrade {
    pub state: TradeState,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub total_fee: Option<Fen>,
    pub time_end: Option<String>,
    pub appid: String,
    pub mch_id: String,
    /// Every field of the reply.
    pub fields: Params<'static>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed,
    AlreadyClosed,
    /// The order was paid meanwhile: query and settle it, do not close.
    AlreadyPaid,
    /// WeChat never saw this order (an earlier unifiedorder did not reach it).
    NotFound,
}

/// The merchant side of WeChat Pay (`api.mch.weixin.qq.com`). Each call takes the sign
/// type of the order it is about: an order keeps the type it was created with for its
/// whole life, whatever the configuration says today.
#[derive(Debug, Clone)]
pub struct PayClient {
    http: reqwest::Client,
    base: String,
    appid: String,
    mch_id: String,
    key: ApiKey,
    retry: RetryPolicy,
    max_bill_bytes: u64,
    /// The mutual-TLS client and base URL of `/secapi` (refunds), when configured.
    secapi: Option<(reqwest::Client, String)>,
}

/// Which of WeChat's front doors a call goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Plain,
    /// `/secapi/...`: mutual TLS with the merchant certificate.
    Secapi,
}

impl PayClient {
    pub fn new(
        base: &str,
        appid: &str,
        mch_id: &str,
        key: ApiKey,
        options: &ClientOptions,
    ) -> reqwest::Result<PayClient> {
        Ok(PayClient {
            http: http::build(options)?,
            base: base.to_owned(),
            appid: appid.to_owned(),
            mch_id: mch_id.to_owned(),
            key,
            retry: options.retry,
            max_bill_bytes: options.max_bill_bytes,
            secapi: None,
        })
    }

    /// Enables refunds: `/secapi` at `secapi_base` with the merchant certificate (and,
    /// for a private WeChat such as the simulator, an extra root to trust).
    pub fn with_refunds(
        mut self,
        secapi_base: &str,
        certificate: &crate::refund::MerchantCertificate,
        extra_root_pem: Option<&str>,
        options: &ClientOptions,
    ) -> reqwest::Result<PayClient> {
        let root = extra_root_pem
            .map(|pem| reqwest::Certificate::from_pem(pem.as_bytes()))
            .transpose()?;
        let http = http::build_with(options, Some(certificate.identity()?), root)?;
        self.secapi = Some((http, secapi_base.to_owned()));
        Ok(self)
    }

    pub fn appid(&self) -> &str {
        &self.appid
    }

    pub(crate) fn max_bill_bytes(&self) -> u64 {
        self.max_bill_bytes
    }

    pub(crate) fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) fn base_url(&self) -> &str {
        &self.base
    }

    pub fn mch_id(&self) -> &str {
        &self.mch_id
    }

    pub fn key(&self) -> &ApiKey {
        &self.key
    }

    pub async fn unified_order(&self, order: &UnifiedOrder<'_>) -> Result<Prepay, PayError> {
        let fee = order.total_fee.to_string();
        let mut fields = vec![
            ("body", order.body),
            ("out_trade_no", order.out_trade_no),
            ("total_fee", fee.as_str()),
            ("spbill_create_ip", order.spbill_create_ip),
            ("notify_url", order.notify_url),
            ("trade_type", "JSAPI"),
            ("openid", order.openid),
        ];
        if let Some(attach) = order.attach {
            fields.push(("attach", attach));
        }
        if let Some(time_expire) = order.time_expire {
            fields.push(("time_expire", time_expire));
        }
        let reply = self
            .call(Route::Plain, "/pay/unifiedorder", &fields, order.sign_type)
            .await?;
        let prepay_id = reply
            .get("prepay_id")
            .filter(|p| !p.is_empty())
            .ok_or_else(|| PayError::Malformed("no prepay_id in a SUCCESS reply".into()))?;
        Ok(Prepay {
            prepay_id: prepay_id.to_owned(),
        })
    }

    pub async fn order_query(
        &self,
        out_trade_no: &str,
        sign_type: SignType,
    ) -> Result<QueriedTrade, PayError> {
        let reply = self
            .call(
                Route::Plain,
                "/pay/orderquery",
                &[("out_trade_no", out_trade_no)],
                sign_type,
            )
            .await?;
        let text = |name: &str| reply.get(name).filter(|v| !v.is_empty()).map(str::to_owned);
        let total_fee = match reply.get("total_fee") {
            None | Some("") => None,
            Some(fee) => Some(
                Fen::parse_wechat(fee)
                    .map_err(|_| PayError::Malformed("total_fee is not fen".into()))?,
            ),
        };
        Ok(QueriedTrade {
            state: TradeState::from_wire(reply.get("trade_state").unwrap_or_default()),
            out_trade_no: text("out_trade_no").unwrap_or_default(),
            transaction_id: text("transaction_id"),
            total_fee,
            time_end: text("time_end"),
            appid: text("appid").unwrap_or_default(),
            mch_id: text("mch_id").unwrap_or_default(),
            fields: reply,
        })
    }

    pub async fn close_order(
        &self,
        out_trade_no: &str,
        sign_type: SignType,
    ) -> Result<CloseOutcome, PayError> {
        match self
            .call(
                Route::Plain,
                "/pay/closeorder",
                &[("out_trade_no", out_trade_no)],
                sign_type,
            )
            .await
        {
            Ok(_) => Ok(CloseOutcome::Closed),
            Err(e) => match e.err_code() {
                Some("ORDERCLOSED") => Ok(CloseOutcome::AlreadyClosed),
                Some("ORDERPAID") => Ok(CloseOutcome::AlreadyPaid),
                Some("ORDERNOTEXIST") => Ok(CloseOutcome::NotFound),
                _ => Err(e),
            },
        }
    }

    /// Signs once, then sends the identical body until it succeeds, fails for good, or
    /// the retry budget is spent.
    pub(crate) async fn call(
        &self,
        route: Route,
        path: &str,
        fields: &[(&str, &str)],
        sign_type: SignType,
    ) -> Result<Params<'static>, PayError> {
        let (http, base) = match (route, &self.secapi) {
            (Route::Plain, _) => (&self.http, self.base.as_str()),
            (Route::Secapi, Some((http, base))) => (http, base.as_str()),
            (Route::Secapi, None) => {
                return Err(PayError::Return {
                    return_msg: "refunds need the merchant certificate (mutual TLS); it is not \
                                 configured"
                        .into(),
                });
            }
        };
        let nonce = http::nonce();
        let mut params: Params<'_> = [
            ("appid", self.appid.as_str()),
            ("mch_id", self.mch_id.as_str()),
            ("nonce_str", nonce.as_str()),
        ]
        .into_iter()
        .chain(fields.iter().copied())
        .collect();
        sign::sign_in_place(&mut params, &self.key, sign_type);
        let body = xml::to_xml(&params)
            .map_err(|e| PayError::Malformed(format!("request cannot be encoded: {e}")))?;
        let url = http::join(base, path);
        let mut retry = 0;
        loop {
            match self.send_once(http, &url, &body, sign_type).await {
                Err(e) if e.is_retryable() && retry + 1 < self.retry.attempts => {
                    retry += 1;
                    tracing::warn!(path, retry, error = %e, "retrying WeChat Pay call with the same request");
                    tokio::time::sleep(self.retry.backoff(retry)).await;
                }
                outcome => return outcome,
            }
        }
    }

    async fn send_once(
        &self,
        http: &reqwest::Client,
        url: &str,
        body: &str,
        sign_type: SignType,
    ) -> Result<Params<'static>, PayError> {
        let response = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(body.to_owned())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if status.as_u16() == 400 {
            // WeChat's front end, about the client certificate (HTML, not XML).
            let text = http::read_body(response).await.unwrap_or_default();
            if String::from_utf8_lossy(&text).contains("SSL certificate") {
                return Err(PayError::Return {
                    return_msg: "No required SSL certificate was sent: the merchant \
                                 certificate was not presented"
                        .into(),
                });
            }
            return Err(PayError::Http(400));
        }
        if !status.is_success() {
            return Err(PayError::Http(status.as_u16()));
        }
        let bytes = http::read_body(response).await.map_err(transport)?;
        let reply = xml::parse(&bytes)
            .map_err(|e| PayError::Malformed(e.to_string()))?
            .into_owned();
        if reply.get("return_code") != Some("SUCCESS") {
            return Err(PayError::Return {
                return_msg: reply
                    .get("return_msg")
                    .unwrap_or("(no return_msg)")
                    .chars()
                    .take(200)
                    .collect(),
            });
        }
        sign::verify(&reply, &self.key, Some(sign_type)).map_err(|_| PayError::BadSignature)?;
        if reply.get("appid").is_some_and(|a| a != self.appid)
            || reply.get("mch_id").is_some_and(|m| m != self.mch_id)
        {
            return Err(PayError::Malformed(
                "reply is for another appid or mch_id".into(),
            ));
        }
        if reply.get("result_code") != Some("SUCCESS") {
            let text = |name: &str| {
                reply
                    .get(name)
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect()
            };
            return Err(PayError::Business {
                err_code: text("err_code"),
                err_code_des: text("err_code_des"),
            });
        }
        Ok(reply)
    }
}

pub(crate) fn transport(error: reqwest::Error) -> PayError {
    if error.is_timeout() {
        PayError::Timeout
    } else {
        PayError::Transport(error.without_url().to_string())
    }
}
