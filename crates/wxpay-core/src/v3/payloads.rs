//! What decrypted v3 resources hold (protocol §3.6, §3.8): the payment (`Transaction`,
//! also what the query APIs answer) and the refund result, and the integrity check of a
//! payment against the order it claims to pay.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::money::Fen;

/// A payment, as `TRANSACTION.SUCCESS` notifies and the query APIs carry it. Unknown
/// fields are ignored (WeChat adds some over time). Text borrows from the JSON it was
/// read from where it can (no copy per field); `into_owned` detaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction<'a> {
    #[serde(borrow)]
    pub appid: Cow<'a, str>,
    #[serde(borrow)]
    pub mchid: Cow<'a, str>,
    #[serde(borrow)]
    pub out_trade_no: Cow<'a, str>,
    #[serde(default, borrow)]
    pub transaction_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub trade_type: Option<Cow<'a, str>>,
    /// `SUCCESS`, `REFUND`, `NOTPAY`, `CLOSED`, `REVOKED`, `USERPAYING`, `PAYERROR`.
    #[serde(borrow)]
    pub trade_state: Cow<'a, str>,
    #[serde(default, borrow)]
    pub trade_state_desc: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub bank_type: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub attach: Option<Cow<'a, str>>,
    /// RFC 3339.
    #[serde(default, borrow)]
    pub success_time: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub payer: Option<Payer<'a>>,
    #[serde(default)]
    pub amount: Option<TransactionAmount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer<'a> {
    #[serde(borrow)]
    pub openid: Cow<'a, str>,
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

impl Transaction<'_> {
    /// The same payment, owning its text.
    pub fn into_owned(self) -> Transaction<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Transaction {
            appid: own(self.appid),
            mchid: own(self.mchid),
            out_trade_no: own(self.out_trade_no),
            transaction_id: self.transaction_id.map(own),
            trade_type: self.trade_type.map(own),
            trade_state: own(self.trade_state),
            trade_state_desc: self.trade_state_desc.map(own),
            bank_type: self.bank_type.map(own),
            attach: self.attach.map(own),
            success_time: self.success_time.map(own),
            payer: self.payer.map(|p| Payer {
                openid: own(p.openid),
            }),
            amount: self.amount,
        }
    }

    /// `trade_state` SUCCESS, and appid, mchid, out_trade_no and `amount.total` equal the
    /// order's (protocol §3.8: the defence against forged or replayed data).
    pub fn check_matches(&self, order: &ExpectedOrder<'_>) -> Result<(), Mismatch> {
        if self.trade_state.as_ref() != "SUCCESS" {
            return Err(Mismatch("trade_state"));
        }
        self.check_order(order)
    }

    /// The same, for a payment that may since have been refunded (`trade_state` SUCCESS
    /// or REFUND): WeChat took the money either way.
    pub fn check_paid(&self, order: &ExpectedOrder<'_>) -> Result<(), Mismatch> {
        if !matches!(self.trade_state.as_ref(), "SUCCESS" | "REFUND") {
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
