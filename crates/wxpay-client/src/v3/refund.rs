//! v3 refunds: `POST /v3/refund/domestic/refunds` and `GET .../refunds/{out_refund_no}`.
//! No client certificate: the request signature authenticates them. A refund is retried
//! only with the identical body (the same out_refund_no).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use wxpay_core::{Fen, RefundStatus};

use super::{V3PayClient, V3PayError, path_segment};

/// A v3 refund of a paid order.
#[derive(Debug, Clone)]
pub struct V3RefundRequest<'a> {
    pub out_trade_no: &'a str,
    /// 1-64 of `[0-9A-Za-z_-|*@]`, unique per merchant.
    pub out_refund_no: &'a str,
    pub refund: Fen,
    /// The order's total.
    pub total: Fen,
    /// Shown to the user (at most 80 characters).
    pub reason: Option<&'a str>,
    pub notify_url: Option<&'a str>,
}

#[derive(Serialize)]
struct Body<'a> {
    out_trade_no: &'a str,
    out_refund_no: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notify_url: Option<&'a str>,
    amount: Amount,
}

#[derive(Serialize)]
struct Amount {
    refund: i64,
    total: i64,
    currency: &'static str,
}

#[derive(Deserialize)]
struct Reply {
    refund_id: String,
    out_refund_no: String,
    #[serde(default)]
    transaction_id: String,
    #[serde(default)]
    out_trade_no: String,
    status: String,
    #[serde(default)]
    success_time: Option<String>,
    amount: ReplyAmount,
}

#[derive(Deserialize)]
struct ReplyAmount {
    refund: i64,
    total: i64,
}

/// A refund as v3 shows it (verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub status: RefundStatus,
    pub refund: Fen,
    pub total: Fen,
    /// RFC 3339.
    pub success_time: Option<String>,
}

fn parse(body: &[u8]) -> Result<V3Refund, V3PayError> {
    let reply: Reply =
        serde_json::from_slice(body).map_err(|e| V3PayError::Malformed(format!("refund: {e}")))?;
    Ok(V3Refund {
        status: RefundStatus::from_v3(&reply.status)
            .ok_or_else(|| V3PayError::Malformed(format!("refund status {:?}", reply.status)))?,
        refund_id: reply.refund_id,
        out_refund_no: reply.out_refund_no,
        out_trade_no: reply.out_trade_no,
        transaction_id: reply.transaction_id,
        refund: Fen::new(reply.amount.refund),
        total: Fen::new(reply.amount.total),
        success_time: reply.success_time,
    })
}

impl V3PayClient {
    /// The JSON body of a refund: sent first, stored, re-sent unchanged.
    pub fn refund_body(&self, refund: &V3RefundRequest<'_>) -> String {
        let body = Body {
            out_trade_no: refund.out_trade_no,
            out_refund_no: refund.out_refund_no,
            reason: refund.reason,
            notify_url: refund.notify_url,
            amount: Amount {
                refund: refund.refund.get(),
                total: refund.total.get(),
                currency: "CNY",
            },
        };
        // Strings and integers: serializing cannot fail.
        serde_json::to_string(&body).unwrap_or_default()
    }

    /// `POST /v3/refund/domestic/refunds` with `body` (from [`Self::refund_body`]).
    pub async fn refund(&self, body: &str) -> Result<V3Refund, V3PayError> {
        let reply = self
            .call(
                Method::POST,
                "/v3/refund/domestic/refunds",
                Some(body),
                true,
            )
            .await?;
        parse(&reply.body)
    }

    /// `GET /v3/refund/domestic/refunds/{out_refund_no}`.
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<V3Refund, V3PayError> {
        let path = format!(
            "/v3/refund/domestic/refunds/{}",
            path_segment(out_refund_no)?
        );
        let reply = self.call(Method::GET, &path, None, false).await?;
        let refund = parse(&reply.body)?;
        if refund.out_refund_no != out_refund_no {
            return Err(V3PayError::Malformed(
                "the reply is for another refund".into(),
            ));
        }
        Ok(refund)
    }
}
