//! What differs between WeChat Pay API v2 and v3, behind one type: the prepay request an
//! order stores, prepay, query, close, the `wx.requestPayment` params. The order state
//! machine, the store and the routes do not know which API an order lives on.
//!
//! An order's API is fixed at creation and recorded in its `sign_type` (`MD5` or
//! `HMAC-SHA256`: v2; `RSA`: v3), like everything else WeChat keeps with it: switching the
//! configuration to v3 leaves v2 orders on v2 (their queries, closes and notifies still
//! work while the v2 API key is configured).
//!
//! The gateway layer: it uses `store` (the order rows it reads), `config` and `base`,
//! and knows nothing of the state, the domain or HTTP above it.

pub mod merchants;
mod v2;
mod v3;

use std::fmt;

use serde::Serialize;
use wxpay_client::{CloseOutcome, TradeState};
use wxpay_core::Fen;
use wxpay_core::v2::SignType;

use crate::base::error::ApiError;
pub use crate::config::ApiVersion;
use crate::store::{OrderRow, StoreError};

pub(crate) use v2::V2Gateway;
pub(crate) use v3::V3Gateway;

/// The sign type that marks a v3 order.
pub(crate) const V3_SIGN_TYPE: &str = "RSA";

/// The API an order was created on (for life): its sign type `RSA` means v3.
pub(crate) fn api_of(order: &OrderRow) -> ApiVersion {
    if order.sign_type == V3_SIGN_TYPE {
        ApiVersion::V3
    } else {
        ApiVersion::V2
    }
}

/// What WeChat said instead of doing it, in either API's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WechatSays {
    /// The order is paid (v2 ORDERPAID, v3 ORDER_PAID).
    Paid,
    /// The order is closed (ORDERCLOSED, ORDER_CLOSED).
    Closed,
    /// WeChat does not know the order (ORDERNOTEXIST, ORDER_NOT_EXIST).
    NoSuchOrder,
}

/// A call to WeChat that did not succeed.
#[derive(Debug, Clone)]
pub(crate) struct GatewayError {
    /// A timeout, a 5xx, SYSTEMERROR, or a reply that did not verify: WeChat may have
    /// acted, the same call may succeed later; the order is kept as it is.
    pub transient: bool,
    pub says: Option<WechatSays>,
    pub message: String,
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A trade as WeChat's (verified) query shows it.
#[derive(Debug, Clone)]
pub(crate) struct Trade {
    pub state: TradeState,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
    pub total: Option<Fen>,
    /// v2 `time_end` (`yyyyMMddHHmmss`) or v3 `success_time` (RFC 3339).
    pub paid_time: Option<String>,
    pub appid: String,
    pub mch_id: String,
    /// The verified reply, as JSON, for the record.
    pub fields: String,
}

/// `wx.requestPayment`'s five params (v2: MD5 / HMAC-SHA256; v3: RSA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentParams {
    pub time_stamp: String,
    pub nonce_str: String,
    pub package: String,
    pub sign_type: String,
    pub pay_sign: String,
}

/// What WeChat said about a refund (a request it accepted, or a query), verified.
#[derive(Debug, Clone)]
pub(crate) struct RefundAnswer {
    pub refund_id: Option<String>,
    pub status: wxpay_core::RefundStatus,
    pub amount: Option<Fen>,
    /// The verified reply, as JSON, for the record.
    pub fields: String,
}

/// A refund's business fields, from which its stored request is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewRefund<'a> {
    pub out_trade_no: &'a str,
    pub out_refund_no: &'a str,
    pub total: Fen,
    pub amount: Fen,
    pub reason: Option<&'a str>,
}

/// A new order's business fields, from which its stored prepay request is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewPrepay<'a> {
    pub order_no: &'a str,
    pub description: &'a str,
    pub amount: Fen,
    pub openid: &'a str,
    /// Unix ms.
    pub expires_at: i64,
    /// Echoed by WeChat in its query and notify.
    pub attach: Option<&'a str>,
}

/// The configured gateways: v2, v3 or both (v2 orders outlive a switch to v3).
#[derive(Debug, Clone)]
pub struct Gateways {
    pub(crate) v2: Option<V2Gateway>,
    pub(crate) v3: Option<V3Gateway>,
    pub(crate) new_orders: ApiVersion,
}

/// One order's gateway.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Gateway<'a> {
    V2(&'a V2Gateway, SignType),
    V3(&'a V3Gateway),
}

impl Gateways {
    /// The gateway new orders use (the configuration makes sure it exists).
    pub(crate) fn for_new_orders(&self) -> Result<Gateway<'_>, ApiError> {
        match (self.new_orders, &self.v2, &self.v3) {
            (ApiVersion::V2, Some(v2), _) => Ok(Gateway::V2(v2, v2.sign_type())),
            (ApiVersion::V3, _, Some(v3)) => Ok(Gateway::V3(v3)),
            _ => Err(unconfigured("the configured API")),
        }
    }

    /// The gateway of the API `order` was created on.
    pub(crate) fn for_order(&self, order: &OrderRow) -> Result<Gateway<'_>, ApiError> {
        if api_of(order) == ApiVersion::V3 {
            return self
                .v3
                .as_ref()
                .map(Gateway::V3)
                .ok_or_else(|| unconfigured("API v3 (wechat.v3)"));
        }
        let sign_type: SignType = order.sign_type.parse().map_err(|_| {
            ApiError::from(StoreError::Corrupt(format!(
                "order {} has an unknown sign type",
                order.order_no
            )))
        })?;
        self.v2
            .as_ref()
            .map(|v2| Gateway::V2(v2, sign_type))
            .ok_or_else(|| unconfigured("API v2 (wechat.api_key)"))
    }

    /// The merchant's bill of `date` (`YYYY-MM-DD`, Beijing): one bill covers orders of
    /// both APIs, so it is fetched through v3 when configured, else v2. `None`: WeChat has
    /// no bill that day (no trades).
    pub(crate) async fn bill(&self, date: &str) -> Result<(ApiVersion, Option<String>), ApiError> {
        let fetched = match (&self.v3, &self.v2) {
            (Some(v3), _) => (ApiVersion::V3, v3.bill(date).await),
            (None, Some(v2)) => (ApiVersion::V2, v2.bill(date).await),
            (None, None) => return Err(unconfigured("a WeChat Pay API")),
        };
        match fetched {
            (api, Ok(text)) => Ok((api, text)),
            // Logged by the caller (the daily run) or answered (the admin API): not here too.
            (_, Err(error)) => Err(ApiError::new(
                actix_web::http::StatusCode::BAD_GATEWAY,
                "BILL_UNAVAILABLE",
                format!("WeChat's bill of {date} cannot be downloaded yet: {error}"),
            )),
        }
    }

    pub(crate) fn v2(&self) -> Option<&V2Gateway> {
        self.v2.as_ref()
    }

    pub(crate) fn v3(&self) -> Option<&V3Gateway> {
        self.v3.as_ref()
    }

    /// The API v3 client, when v3 is configured (its keys in use, for operators and tests).
    pub fn v3_client(&self) -> Option<&wxpay_client::v3::V3PayClient> {
        self.v3.as_ref().map(V3Gateway::client)
    }
}

/// An order on an API this instance is no longer configured for: logged, a 503 (the
/// order is kept; restoring the credentials serves it again).
fn unconfigured(what: &str) -> ApiError {
    tracing::error!(
        what,
        "an order needs a WeChat Pay API that is not configured"
    );
    ApiError::new(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "WECHAT_UNAVAILABLE",
        format!("this order needs {what}, which is not configured on this server"),
    )
}

impl Gateway<'_> {
    /// What the order records as its sign type (its API with it).
    pub(crate) fn sign_type(&self) -> &'static str {
        match self {
            Gateway::V2(_, sign_type) => sign_type.as_str(),
            Gateway::V3(_) => V3_SIGN_TYPE,
        }
    }

    /// The prepay request stored with a new order and re-sent unchanged.
    pub(crate) fn prepay_request(&self, order: &NewPrepay<'_>) -> String {
        match self {
            Gateway::V2(v2, _) => v2.prepay_request(order).to_json(),
            Gateway::V3(v3) => v3.prepay_request(order),
        }
    }

    /// A prepay_id for the order, sending its stored request (`None`: an order from
    /// before requests were stored, v2 only).
    pub(crate) async fn prepay(
        &self,
        order: &OrderRow,
        stored: Option<&str>,
    ) -> Result<String, GatewayError> {
        match self {
            Gateway::V2(v2, sign_type) => v2.prepay(order, stored, *sign_type).await,
            Gateway::V3(v3) => v3.prepay(stored).await,
        }
    }

    pub(crate) async fn query(&self, order_no: &str) -> Result<Trade, GatewayError> {
        match self {
            Gateway::V2(v2, sign_type) => v2.query(order_no, *sign_type).await,
            Gateway::V3(v3) => v3.query(order_no).await,
        }
    }

    pub(crate) async fn close(&self, order_no: &str) -> Result<CloseOutcome, GatewayError> {
        match self {
            Gateway::V2(v2, sign_type) => v2.close(order_no, *sign_type).await,
            Gateway::V3(v3) => v3.close(order_no).await,
        }
    }

    /// The refund request stored with a new refund and re-sent unchanged.
    pub(crate) fn refund_request(&self, refund: &NewRefund<'_>) -> String {
        match self {
            Gateway::V2(v2, _) => v2.refund_request(refund),
            Gateway::V3(v3) => v3.refund_request(refund),
        }
    }

    /// Sends a refund's stored request (the identical one every time).
    pub(crate) async fn refund(&self, stored: &str) -> Result<RefundAnswer, GatewayError> {
        match self {
            Gateway::V2(v2, sign_type) => v2.refund(stored, *sign_type).await,
            Gateway::V3(v3) => v3.refund(stored).await,
        }
    }

    pub(crate) async fn query_refund(
        &self,
        out_refund_no: &str,
    ) -> Result<RefundAnswer, GatewayError> {
        match self {
            Gateway::V2(v2, sign_type) => v2.query_refund(out_refund_no, *sign_type).await,
            Gateway::V3(v3) => v3.query_refund(out_refund_no).await,
        }
    }

    /// Fresh params for a prepay_id (new nonce and timestamp each time).
    pub(crate) fn payment_params(
        &self,
        appid: &str,
        prepay_id: &str,
        nonce: &str,
        seconds: u64,
    ) -> Result<PaymentParams, String> {
        match self {
            Gateway::V2(v2, sign_type) => {
                v2.payment_params(appid, prepay_id, *sign_type, nonce, seconds)
            }
            Gateway::V3(v3) => v3.payment_params(appid, prepay_id, nonce, seconds),
        }
    }
}
