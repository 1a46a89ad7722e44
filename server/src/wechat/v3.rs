//! API v3 (JSON, RSA): JSAPI prepay with the order's stored body, query, close, and the
//! v3 paySign (RSA with the merchant's key).

use wxpay_client::TradeState;
use wxpay_client::v3::{JsapiOrder, V3PayClient, V3PayError};
use wxpay_core::Fen;
use wxpay_core::v3::RequestPaymentV3;

use super::{GatewayError, NewPrepay, PaymentParams, Trade, WechatSays};
use crate::base::clock::beijing_rfc3339;

#[derive(Debug, Clone)]
pub(crate) struct V3Gateway {
    client: V3PayClient,
    notify_url: String,
    refund_notify_url: String,
}

impl From<&V3PayError> for GatewayError {
    fn from(error: &V3PayError) -> GatewayError {
        // An unsigned error reply (a proxy's, a forger's) proves nothing: the order stays
        // as it is and is asked about again, as after a timeout.
        GatewayError {
            transient: error.is_retryable()
                || error.may_have_taken_effect()
                || error.is_unverified_answer(),
            says: match error.verified_code() {
                Some("ORDER_PAID" | "ORDERPAID") => Some(WechatSays::Paid),
                Some("ORDER_CLOSED" | "ORDERCLOSED") => Some(WechatSays::Closed),
                Some("ORDER_NOT_EXIST" | "ORDERNOTEXIST" | "RESOURCE_NOT_EXISTS") => {
                    Some(WechatSays::NoSuchOrder)
                }
                _ => None,
            },
            message: error.to_string(),
        }
    }
}

impl V3Gateway {
    pub(crate) fn new(client: V3PayClient, notify_base: &str) -> V3Gateway {
        V3Gateway {
            client,
            notify_url: format!("{notify_base}{}", crate::config::NOTIFY_PATH_V3),
            refund_notify_url: format!("{notify_base}{}", crate::config::REFUND_NOTIFY_PATH_V3),
        }
    }

    pub(crate) fn refund_request(&self, refund: &super::NewRefund<'_>) -> String {
        self.client.refund_body(&wxpay_client::v3::V3RefundRequest {
            out_trade_no: refund.out_trade_no,
            out_refund_no: refund.out_refund_no,
            refund: refund.amount,
            total: refund.total,
            reason: refund.reason,
            notify_url: Some(&self.refund_notify_url),
        })
    }

    fn answer(refund: wxpay_client::v3::V3Refund) -> super::RefundAnswer {
        super::RefundAnswer {
            fields: serde_json::json!({
                "refund_id": refund.refund_id,
                "status": refund.status.as_str(),
                "refund": refund.refund.get(),
                "success_time": refund.success_time,
            })
            .to_string(),
            refund_id: Some(refund.refund_id),
            status: refund.status,
            amount: Some(refund.refund),
        }
    }

    pub(crate) async fn refund(&self, stored: &str) -> Result<super::RefundAnswer, GatewayError> {
        self.client
            .refund(stored)
            .await
            .map(Self::answer)
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) async fn query_refund(
        &self,
        out_refund_no: &str,
    ) -> Result<super::RefundAnswer, GatewayError> {
        self.client
            .query_refund(out_refund_no)
            .await
            .map(Self::answer)
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) fn client(&self) -> &V3PayClient {
        &self.client
    }

    /// The prepay body: sent first, stored, and re-sent byte for byte.
    pub(crate) fn prepay_request(&self, order: &NewPrepay<'_>) -> String {
        let time_expire = beijing_rfc3339(order.expires_at);
        self.client.prepay_body(&JsapiOrder {
            description: order.description,
            out_trade_no: order.order_no,
            notify_url: &self.notify_url,
            total: order.amount,
            openid: order.openid,
            time_expire: Some(&time_expire),
            attach: order.attach,
            payer_client_ip: None,
        })
    }

    pub(crate) async fn prepay(&self, stored: Option<&str>) -> Result<String, GatewayError> {
        let body = stored.ok_or_else(|| GatewayError {
            transient: false,
            says: None,
            message: "a v3 order without its stored prepay body".into(),
        })?;
        self.client
            .prepay(body)
            .await
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) async fn query(&self, order_no: &str) -> Result<Trade, GatewayError> {
        let trade = self
            .client
            .query_by_out_trade_no(order_no)
            .await
            .map_err(|e| GatewayError::from(&e))?;
        let fields = serde_json::to_string(&trade).unwrap_or_default();
        Ok(Trade {
            state: TradeState::from_wire(&trade.trade_state),
            out_trade_no: trade.out_trade_no.into_owned(),
            transaction_id: trade
                .transaction_id
                .map(|id| id.into_owned())
                .filter(|id| !id.is_empty()),
            total: trade.amount.as_ref().map(|a| Fen::new(a.total)),
            paid_time: trade.success_time.map(|t| t.into_owned()),
            appid: trade.appid.into_owned(),
            mch_id: trade.mchid.into_owned(),
            fields,
        })
    }

    /// The day's trade bill (`date` is `YYYY-MM-DD`), its SHA1 checked.
    pub(crate) async fn bill(&self, date: &str) -> Result<Option<String>, GatewayError> {
        self.client
            .trade_bill(date, wxpay_client::BillType::All)
            .await
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) async fn close(
        &self,
        order_no: &str,
    ) -> Result<wxpay_client::CloseOutcome, GatewayError> {
        self.client
            .close(order_no)
            .await
            .map_err(|e| GatewayError::from(&e))
    }

    pub(crate) fn payment_params(
        &self,
        appid: &str,
        prepay_id: &str,
        nonce: &str,
        seconds: u64,
    ) -> Result<PaymentParams, String> {
        let seconds = i64::try_from(seconds).map_err(|e| e.to_string())?;
        let params = RequestPaymentV3::build(
            appid,
            prepay_id,
            &self.client.credentials().merchant_key,
            nonce,
            seconds,
        )
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
