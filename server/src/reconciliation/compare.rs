//! The comparison itself, free of I/O: a day's bill against the orders and refunds that
//! the database has for it. What to do about each difference is the caller's.

use std::collections::{HashMap, HashSet};

use wxpay_core::v2::bill::{Bill, BillRow};

use crate::store::{OrderRow, OrderStatus, RefundRow, RefundState};

/// The kinds of difference, as reports and metrics name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// Paid at WeChat, not paid here: a signed query settles it (the money-never-lost path).
    PaidMissingHere,
    /// Paid at WeChat for an order number this database does not have.
    UnknownOrder,
    /// Both paid, different amounts.
    AmountDiffers,
    /// Both paid, by different WeChat transactions.
    TransactionDiffers,
    /// Paid here (WeChat's time on this day), not on WeChat's bill.
    PaidMissingAtWechat,
    /// A refund on the bill that this database does not have.
    RefundUnknownHere,
    /// A refund on both, with a different amount, order or state.
    RefundDiffers,
    /// Succeeded here (on this day), not on WeChat's bill.
    RefundMissingAtWechat,
}

impl Kind {
    /// The kinds about a record here rather than a line of the bill.
    pub(crate) const ABOUT_RECORDS_HERE: [Kind; 2] =
        [Kind::PaidMissingAtWechat, Kind::RefundMissingAtWechat];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::PaidMissingHere => "paid_missing_here",
            Kind::UnknownOrder => "unknown_order",
            Kind::AmountDiffers => "amount_differs",
            Kind::TransactionDiffers => "transaction_differs",
            Kind::PaidMissingAtWechat => "paid_missing_at_wechat",
            Kind::RefundUnknownHere => "refund_unknown_here",
            Kind::RefundDiffers => "refund_differs",
            Kind::RefundMissingAtWechat => "refund_missing_at_wechat",
        }
    }
}

/// One difference found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Difference {
    pub kind: Kind,
    /// out_trade_no (our order_no) or out_refund_no.
    pub subject: String,
    pub wechat_fen: Option<i64>,
    pub our_fen: Option<i64>,
    pub detail: String,
}

/// What the database has for the day.
#[derive(Debug, Default)]
pub(crate) struct Ours {
    /// Every order a bill line names, and every order paid on the day, by order_no.
    pub orders: HashMap<String, OrderRow>,
    /// Every refund a bill line names, and every refund that succeeded on the day.
    pub refunds: HashMap<String, RefundRow>,
    /// The orders WeChat's time says were paid on the day.
    pub paid_on_day: Vec<String>,
    /// The refunds that succeeded on the day.
    pub refunded_on_day: Vec<String>,
}

/// A payment line (not a refund line) of the bill.
pub(crate) fn is_payment(row: &BillRow) -> bool {
    row.refund_id.is_none() && row.trade_state == "SUCCESS"
}

pub(crate) fn is_refund(row: &BillRow) -> bool {
    row.refund_id.is_some() || row.out_refund_no.is_some()
}

/// Every difference between the bill and the database, bill lines first, in bill order.
pub(crate) fn compare(bill: &Bill, ours: &Ours) -> Vec<Difference> {
    let mut found = Vec::new();
    let mut seen_orders = HashSet::new();
    let mut seen_refunds = HashSet::new();
    for row in &bill.rows {
        if is_refund(row) {
            let no = row.out_refund_no.clone().unwrap_or_default();
            seen_refunds.insert(no.clone());
            found.extend(refund_line(row, no, ours));
        } else if is_payment(row) {
            seen_orders.insert(row.out_trade_no.clone());
            found.extend(payment_line(row, ours));
        }
    }
    for order_no in &ours.paid_on_day {
        if seen_orders.contains(order_no) {
            continue;
        }
        if let Some(order) = ours.orders.get(order_no) {
            found.push(Difference {
                kind: Kind::PaidMissingAtWechat,
                subject: order_no.clone(),
                wechat_fen: None,
                our_fen: Some(order.amount_fen),
                detail: format!(
                    "paid here (transaction {}) but not on WeChat's bill",
                    order.transaction_id.as_deref().unwrap_or("unknown")
                ),
            });
        }
    }
    for out_refund_no in &ours.refunded_on_day {
        if seen_refunds.contains(out_refund_no) {
            continue;
        }
        if let Some(refund) = ours.refunds.get(out_refund_no) {
            found.push(Difference {
                kind: Kind::RefundMissingAtWechat,
                subject: out_refund_no.clone(),
                wechat_fen: None,
                our_fen: Some(refund.amount_fen),
                detail: format!(
                    "refund of order {} succeeded here but is not on WeChat's bill",
                    refund.order_no
                ),
            });
        }
    }
    found
}

fn payment_line(row: &BillRow, ours: &Ours) -> Vec<Difference> {
    let wechat_fen = Some(row.total_fen.get());
    let difference = |kind, our_fen, detail| Difference {
        kind,
        subject: row.out_trade_no.clone(),
        wechat_fen,
        our_fen,
        detail,
    };
    let Some(order) = ours.orders.get(&row.out_trade_no) else {
        return vec![difference(
            Kind::UnknownOrder,
            None,
            format!(
                "WeChat's transaction {} paid an order this database does not have",
                row.transaction_id
            ),
        )];
    };
    if order.status != OrderStatus::Paid {
        return vec![difference(
            Kind::PaidMissingHere,
            None,
            format!(
                "paid at WeChat (transaction {}) but {} here",
                row.transaction_id,
                order.status.as_str()
            ),
        )];
    }
    let mut found = Vec::new();
    if order.amount_fen != row.total_fen.get() {
        found.push(difference(
            Kind::AmountDiffers,
            Some(order.amount_fen),
            format!(
                "WeChat's bill says {} fen, the order {} fen",
                row.total_fen.get(),
                order.amount_fen
            ),
        ));
    }
    if order.transaction_id.as_deref() != Some(row.transaction_id.as_str()) {
        found.push(difference(
            Kind::TransactionDiffers,
            Some(order.amount_fen),
            format!(
                "WeChat's bill has transaction {}, the order {}",
                row.transaction_id,
                order.transaction_id.as_deref().unwrap_or("none")
            ),
        ));
    }
    found
}

fn refund_line(row: &BillRow, out_refund_no: String, ours: &Ours) -> Option<Difference> {
    let wechat_fen = Some(row.refund_fen.get());
    let Some(refund) = ours.refunds.get(&out_refund_no) else {
        return Some(Difference {
            kind: Kind::RefundUnknownHere,
            subject: out_refund_no,
            wechat_fen,
            our_fen: None,
            detail: format!(
                "WeChat's bill has refund {} of order {}, this database does not",
                row.refund_id.as_deref().unwrap_or("unknown"),
                row.out_trade_no
            ),
        });
    };
    let succeeded_at_wechat = row.refund_status.as_deref() == Some("SUCCESS");
    let problem = if refund.amount_fen != row.refund_fen.get() {
        format!(
            "WeChat's bill says {} fen, the refund {} fen",
            row.refund_fen.get(),
            refund.amount_fen
        )
    } else if refund.order_no != row.out_trade_no {
        format!(
            "WeChat's bill has it for order {}, the refund is of order {}",
            row.out_trade_no, refund.order_no
        )
    } else if succeeded_at_wechat && refund.status != RefundState::Succeeded {
        format!(
            "succeeded at WeChat, {} here (the reconciler's refund check settles it)",
            refund.status.as_str()
        )
    } else {
        return None;
    };
    Some(Difference {
        kind: Kind::RefundDiffers,
        subject: out_refund_no,
        wechat_fen,
        our_fen: Some(refund.amount_fen),
        detail: problem,
    })
}
