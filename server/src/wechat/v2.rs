//! API v2 (XML, MD5 / HMAC-SHA256): unifiedorder with the order's stored business
//! fields, orderquery, closeorder, and the v2 paySign.

use serde::{Deserialize, Serialize};
use wxpay_client::{PayClient, PayError, UnifiedOrder};
use wxpay_core::v2::{RequestPayment, SignType};
use wxpay_core::{ApiKey, Fen};

use super::{GatewayError, NewPrepay, PaymentParams, Trade, WechatSays};
use crate::base::clock::beijing_compact;
use crate::store::OrderRow;

/// The v2 side: the client, and today's settings for new orders.
#[derive(Debug, Clone)]
pub(crate) struct V2Gateway {
    pay: PayClient,
    /// The sign type new orders get (`wechat.sign_type`).
    sign_type: SignType,
    notify_url: String,
    refund_notify_url: String,
    spbill_create_ip: String,
}

/// A v2 refund's fields, as first sent (JSON), re-sent unchanged with the order's sign
/// type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundFields {
    out_trade_no: String,
    out_refund_no: String,
    total_fee: i64,
    refund_fee: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refund_desc: Option<String>,
    notify_url: String,
}

/// The business fields of an order's unifiedorder, as first sent. Stored with the order
/// (JSON) and re-sent unchanged (a changed notify_url, spbill_create_ip or sign type would
/// make WeChat answer OUT_TRADE_NO_USED for an order it still holds open); `nonce_str` and
/// `sign` are per call, the sign type is the order's own column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrepayRequest {
    pub body: String,
    pub total_fee: i64,
    pub openid: String,
    pub notify_url: String,
    pub spbill_create_ip: String,
    /// `yyyyMMddHHmmss`, Beijing time; absent means WeChat's default (2 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    /// The merchant's `attach`, echoed by WeChat in its query and notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
}

impl PrepayRequest {
    pub(crate) fn to_json(&self) -> String {
        // Plain strings and an integer: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn unified_order<'a>(&'a self, order_no: &'a str, sign_type: SignType) -> UnifiedOrder<'a> {
        UnifiedOrder {
            sign_type,
            out_trade_no: order_no,
            body: &self.body,
            total_fee: Fen::new(self.total_fee),
            openid: &self.openid,
            notify_url: &self.notify_url,
            spbill_create_ip: &self.spbill_create_ip,
            attach: self.attach.as_deref(),
            time_expire: self.time_expire.as_deref(),
        }
    }
}

impl From<&PayError> for GatewayError {
    fn from(error: &PayError) -> GatewayError {
        GatewayError {
            transient: error.is_retryable(),
            says: match error.err_code() {
                Some("ORDERPAID") => Some(WechatSays::Paid),
                Some("ORDERCLOSED") => Some(WechatSays::Closed),
                Some("ORDERNOTEXIST") => Some(WechatSays::NoSuchOrder),
                _ => None,
            },
            message: error.to_string(),
        }
    }
}

impl V2Gateway {
    pub(crate) fn new(
        pay: PayClient,
        sign_type: SignType,
        notify_base: &str,
        spbill_create_ip: String,
    ) -> V2Gateway {
        V2Gateway {
            pay,
            sign_type,
            notify_url: format!("{notify_base}{}", crate::config::NOTIFY_PATH),
            refund_notify_url: format!("{notify_base}{}", crate::config::REFUND_NOTIFY_PATH),
            spbill_create_ip,
        }
    }

    pub(crate) fn refund_request(&self, refund: &super::NewRefund<'_>) -> String {
        // Strings and integers: serialising cannot fail.
        serde_json::to_string(&RefundFields {
            out_trade_no: refund.out_trade_no.to_owned(),
            out_refund_no: refund.out_refund_no.to_owned(),
            total_fee: refund.total.get(),
            refund_fee: refund.amount.get(),
            refund_desc: refund.reason.map(str::to_owned),
            notify_url: self.refund_notify_url.clone(),
        })
        .unwrap_or_default()
    }

    pub(crate) async fn refund(
        &self,
        stored: &str,
        sign_type: SignType,
    ) -> Result<super::RefundAnswer, GatewayError> {
        let fields: RefundFields = serde_json::from_str(stored).map_err(|e| GatewayError {
            transient: false,
            says: None,
            message: format!("the refund's stored request is unreadable: {e}"),
        })?;
        let accepted = self
            .pay
            .refund(&wxpay_client::RefundRequest {
                sign_type,
                out_trade_no: &fields.out_trade_no,
                out_refund_no: &fields.out_refund_no,
                total_fee: Fen::new(fields.total_fee),
                refund_fee: Fen::new(fields.refund_fee),
                refund_desc: fields.refund_desc.as_deref(),
                notify_url: Some(&fields.notify_url),
            })
            .await
            .map_err(|e| GatewayError::from(&e))?;
        Ok(super::RefundAnswer {
            refund_id: Some(accepted.refund_id.clone()),
            // v2 says "accepted"; the result comes from a query or the notify.
            status: wxpay_core::RefundStatus::Processing,
            amount: Some(accepted.refund_fee),
            fields: serde_json::json!({ "refund_id": accepted.refund_id, "refund_fee": accepted.refund_fee.get() }).to_string(),
        })
    }

    pub(crate) async fn query_refund(
        &self,
        out_refund_no: &str,
        sign_type: SignType,
    ) -> Result<super::RefundAnswer, GatewayError> {
        let refund = self
            .pay
            .refund_query(out_refund_no, sign_type)
            .await
            .map_err(|e| GatewayError::from(&e))?;
        Ok(super::RefundAnswer {
            refund_id: Some(refund.refund_id.clone()),
            status: refund.status,
            amount: Some(refund.refund_fee),
            fields: serde_json::json!({
                "refund_id": refund.refund_id,
                "refund_status": refund.status.as_str(),
                "refund_fee": refund.refund_fee.get(),
                "success_time": refund.success_time,
            })
            .to_string(),
        })
    }

    pub(crate) fn sign_type(&self) -> SignType {
        self.sign_type
    }

    /// The API key notifies and paySigns use.
    pub(crate) fn key(&self) -> &ApiKey {
        self.pay.key()
    }

    pub(crate) fn prepay_request(&self, order: &NewPrepay<'_>) -> PrepayRequest {
        PrepayRequest {
            body: order.description.to_owned(),
            total_fee: order.amount.get(),
            openid: order.openid.to_owned(),
            notify_url: self.notify_url.clone(),
            spbill_create_ip: self.spbill_create_ip.clone(),
            time_expire: Some(beijing_compact(order.expires_at)),
            attach: order.attach.map(str::to_owned),
        }
    }

    /// The order's stored request; orders created before it was stored get the fields
    /// as they were derived then (today's settings), the best that can be done for them.
    fn stored_request(
        &self,
        order: &OrderRow,
        stored: Option<&str>,
    ) -> Result<PrepayRequest, GatewayError> {
        match stored {
            Some(json) => serde_json::from_str(json).map_err(|e| GatewayError {
                transient: false,
                says: None,
                message: format!("the order's stored unifiedorder is unreadable: {e}"),
            }),
            None => Ok(self.prepay_request(&NewPrepay {
                order_no: &order.order_no,
                description: &order.description,
                amount: Fen::new(order.amount_fen),
                openid: &order.openid,
                expires_at: order.expires_at,
                attach: order.attach.as_deref(),
            })),
        }
    }

    pub(crate) async fn prepay(
        &self,
        order: &OrderRow,
        stored: Option<&str>,
        sign_type: SignType,
    ) -> Result<String, GatewayError> {
        let request = self.stored_request(order, stored)?;
        self.pay
            .unified_order(&request.unified_order(&order.order_no, sign_type))
            .await
            .map(|prepay| prepay.prepay_id)
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) async fn query(
        &self,
        order_no: &str,
        sign_type: SignType,
    ) -> Result<Trade, GatewayError> {
        let trade = self
            .pay
            .order_query(order_no, sign_type)
            .await
            .map_err(|e| GatewayError::from(&e))?;
        Ok(Trade {
            state: trade.state,
            out_trade_no: trade.out_trade_no,
            transaction_id: trade.transaction_id,
            total: trade.total_fee,
            paid_time: trade.time_end,
            appid: trade.appid,
            mch_id: trade.mch_id,
            fields: serde_json::to_string(&trade.fields).unwrap_or_default(),
        })
    }

    /// The day's bill (`date` is `YYYY-MM-DD`), all trades and refunds.
    pub(crate) async fn bill(&self, date: &str) -> Result<Option<String>, GatewayError> {
        self.pay
            .download_bill(&date.replace('-', ""), wxpay_client::BillType::All)
            .await
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) async fn close(
        &self,
        order_no: &str,
        sign_type: SignType,
    ) -> Result<wxpay_client::CloseOutcome, GatewayError> {
        self.pay
            .close_order(order_no, sign_type)
            .await
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) fn payment_params(
        &self,
        appid: &str,
        prepay_id: &str,
        sign_type: SignType,
        nonce: &str,
        seconds: u64,
    ) -> Result<PaymentParams, String> {
        let params = RequestPayment::build(appid, prepay_id, self.key(), sign_type, nonce, seconds)
            .map_err(|e| e.to_string())?;
        Ok(PaymentParams {
            time_stamp: params.time_stamp,
            nonce_str: params.nonce_str,
            package: params.package,
            sign_type: params.sign_type,
            pay_sign: params.pay_sign,
        })
    }
}
