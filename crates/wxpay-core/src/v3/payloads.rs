//! What decrypted v3 resources hold (protocol §3.6, §3.8): the payment (`Transaction`,
//! also what the query APIs answer) and the refund result, and the integrity check of a
//! payment against the order it claims to pay.

use serde::{Deserialize, Serialize};

use crate::money::Fen;

/// A payment, as `TRANSACTION.SUCCESS` notifies and the query APIs carry it. Unknown
/// fields are ignored (WeChat adds some over time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub trade_type: Option<String>,
    /// `SUCCESS`, `REFUND`, `NOTPAY`, `CLOSED`, `REVOKED`, `USERPAYING`, `PAYERROR`.
    pub trade_state: String,
    #[serde(default)]
    pub trade_state_desc: Option<String>,
    #[serde(default)]
    pub bank_type: Option<String>,
    #[serde(default)]
    pub attach: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub payer: Option<Payer>,
    #[serde(default)]
    pub amount: Option<TransactionAmount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub openid: String,
}

/// Amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    pub total: i64,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub payer_currency: Option<String>,
}

/// A refund's result (`REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResource {
    pub mchid: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub out_refund_no: String,
    pub refund_id: String,
    /// `SUCCESS`, `CLOSED`, `ABNORMAL`.
    pub refund_status: String,
    #[serde(default)]
    pub success_time: Option<String>,
    #[serde(default)]
    pub user_received_account: Option<String>,
    pub amount: RefundAmount,
}

/// Amounts in fen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    #[serde(default)]
    pub payer_total: Option<i64>,
    #[serde(default)]
    pub payer_refund: Option<i64>,
}

/// The order a payment must match before it may change anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedOrder<'a> {
    pub appid: &'a str,
    pub mchid: &'a str,
    pub out_trade_no: &'a str,
    pub total: Fen,
}

/// The first field of a payment that differs from the order (or is not a success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the payment's {0} does not match the order")]
pub struct Mismatch(pub &'static str);

impl Transaction {
    /// `trade_state` SUCCESS, and appid, mchid, out_trade_no and `amount.total` equal the
    /// order's (protocol §3.8: the defence against forged or replayed data).
    pub fn check_matches(&self, order: &ExpectedOrder<'_>) -> Result<(), Mismatch> {
        if self.trade_state != "SUCCESS" {
            return Err(Mismatch("trade_state"));
        }
        self.check_order(order)
    }

    /// The same, for a payment that may since have been refunded (`trade_state` SUCCESS
    /// or REFUND): WeChat took the money either way.
    pub fn check_paid(&self, order: &ExpectedOrder<'_>) -> Result<(), Mismatch> {
        if !matches!(self.trade_state.as_str(), "SUCCESS" | "REFUND") {
            return Err(Mismatch("trade_state"));
        }
        self.check_order(order)
    }

    fn check_order(&self, order: &ExpectedOrder<'_>) -> Result<(), Mismatch> {
        if self.appid != order.appid {
            Err(Mismatch("appid"))
        } else if self.mchid != order.mchid {
            Err(Mismatch("mchid"))
        } else if self.out_trade_no != order.out_trade_no {
            Err(Mismatch("out_trade_no"))
        } else if self.amount.as_ref().map(|a| a.total) != Some(order.total.get()) {
            Err(Mismatch("amount.total"))
        } else if self.transaction_id.as_deref().is_none_or(str::is_empty) {
            Err(Mismatch("transaction_id"))
        } else {
            Ok(())
        }
    }
}
