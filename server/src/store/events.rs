//! The events outbox: one row per money movement, written by the store in the same
//! transaction (or statement) as the change that causes it, so there is no change
//! without its event and no event without its change. What an event says is its facts
//! as of the change (`data`) plus its order's and refund's fields that never change
//! (number, reference, amounts, openid), read with it: every rendering of an event is
//! the same bytes.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Store, StoreError};

/// The kinds of event, as named in webhooks and the events API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    OrderPaid,
    OrderClosed,
    OrderFailed,
    OrderNeedsAttention,
    RefundSucceeded,
    RefundClosed,
    RefundAbnormal,
    ReconciliationFinding,
    /// WeChat reminds that a paid order waits for its shipping (shipping service).
    OrderShippingReminder,
    /// WeChat settled a paid order's funds (receipt confirmed, shipping service).
    OrderSettled,
}

impl EventType {
    pub const ALL: [EventType; 10] = [
        EventType::OrderPaid,
        EventType::OrderClosed,
        EventType::OrderFailed,
        EventType::OrderNeedsAttention,
        EventType::RefundSucceeded,
        EventType::RefundClosed,
        EventType::RefundAbnormal,
        EventType::ReconciliationFinding,
        EventType::OrderShippingReminder,
        EventType::OrderSettled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderPaid => "order.paid",
            EventType::OrderClosed => "order.closed",
            EventType::OrderFailed => "order.failed",
            EventType::OrderNeedsAttention => "order.needs_attention",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::RefundClosed => "refund.closed",
            EventType::RefundAbnormal => "refund.abnormal",
            EventType::ReconciliationFinding => "reconciliation.finding",
            EventType::OrderShippingReminder => "order.shipping_reminder",
            EventType::OrderSettled => "order.settled",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// Whether changes record events at all (`events.record`), and whether a webhook
/// endpoint is owed them (`[webhooks] url`). Fixed at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPolicy {
    pub record: bool,
    pub deliver: bool,
}

impl Default for EventPolicy {
    fn default() -> EventPolicy {
        EventPolicy {
            record: true,
            deliver: false,
        }
    }
}

impl EventPolicy {
    /// The new row's `delivery` and `next_attempt_at`: owed now, or to no one.
    pub(super) fn delivery(self, now: i64) -> (&'static str, Option<i64>) {
        if self.deliver {
            ("pending", Some(now))
        } else {
            ("none", None)
        }
    }
}

/// An event about to be written with its change.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub kind: EventType,
    pub order_no: Option<String>,
    pub out_refund_no: Option<String>,
    /// The facts as of the change (a JSON object).
    pub data: String,
}

/// Writes an event: $1 id, $2 type, $3 order_no, $4 out_refund_no, $5 data,
/// $6 created_at, $7 delivery, $8 next_attempt_at.
pub const INSERT_OUTBOX: &str = "INSERT INTO events \
       (id, type, order_no, out_refund_no, data, created_at, delivery, next_attempt_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

impl Store {
    /// Writes `event` on `conn` (inside the change's transaction) unless events are off.
    pub(crate) async fn write_event(
        &self,
        conn: &mut AnyConnection,
        event: &NewEvent,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        if !self.events.record {
            return Ok(());
        }
        let (delivery, next_attempt_at) = self.events.delivery(now);
        let id = crate::base::ids::event_id();
        log_event(&id, event.kind, event.order_no.as_deref());
        sqlx::query(INSERT_OUTBOX)
            .bind(id)
            .bind(event.kind.as_str())
            .bind(event.order_no.as_deref())
            .bind(event.out_refund_no.as_deref())
            .bind(&event.data)
            .bind(now)
            .bind(delivery)
            .bind(next_attempt_at)
            .execute(conn)
            .await?;
        Ok(())
    }

    /// After a change with an owed event committed: the deliverer on this instance
    /// wakes at once instead of at its next poll.
    pub(crate) fn events_written(&self) {
        if self.events.record && self.events.deliver {
            self.event_wake.notify_one();
        }
    }

    /// What the deliverer waits on between polls.
    pub fn event_wake(&self) -> &tokio::sync::Notify {
        &self.event_wake
    }

    pub fn event_policy(&self) -> EventPolicy {
        self.events
    }
}

/// Every event is logged with its id as it is written (in its change's transaction:
/// a change that then fails to commit leaves this line and no event).
pub(super) fn log_event(id: &str, kind: EventType, order_no: Option<&str>) {
    tracing::info!(event_id = id, event_type = kind.as_str(), order_no, "event");
}

/// The facts of `order.paid`: the transaction, when, and whether it was late or a
/// second payment.
pub(crate) fn paid_facts(transaction_id: &str, paid_at: i64, late: bool, double: bool) -> String {
    serde_json::json!({
        "transaction_id": transaction_id,
        "paid_at": crate::base::clock::rfc3339(paid_at),
        "late_payment": late,
        "double_payment": double,
    })
    .to_string()
}

/// An event as stored, with the fields of its order and refund that never change.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub id: String,
    pub kind: EventType,
    pub order_no: Option<String>,
    pub out_refund_no: Option<String>,
    /// The facts as of the change (a JSON object).
    pub data: String,
    pub created_at: i64,
    /// none, pending, delivered or failed.
    pub delivery: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub order: Option<EventOrder>,
    /// The refund's own amount (refund events).
    pub refund_amount_fen: Option<i64>,
}

/// An event's order, as far as it never changes.
#[derive(Debug, Clone)]
pub struct EventOrder {
    pub reference: Option<String>,
    pub amount_fen: i64,
    pub openid: String,
    pub attach: Option<String>,
    /// Whose order it is (a merchant's admin token sees its own events only).
    pub mch_id: String,
}

/// The columns of [`event_row`], from `events e` joined to its order and refund.
pub(super) const EVENT_SELECT: &str = "SELECT e.seq, e.id, e.type, e.order_no, \
       e.out_refund_no, e.data, e.created_at, e.delivery, e.attempts, e.next_attempt_at, \
       e.delivered_at, o.order_no, o.reference, o.amount_fen, o.openid, o.attach, r.amount_fen, \
       o.mch_id \
     FROM events e LEFT JOIN orders o ON o.order_no = e.order_no \
       LEFT JOIN refunds r ON r.out_refund_no = e.out_refund_no";

pub(super) fn event_row(r: &AnyRow) -> Result<EventRow, StoreError> {
    let kind: String = r.try_get(2)?;
    let joined_order: Option<String> = r.try_get(11)?;
    let order = match joined_order {
        Some(_) => Some(EventOrder {
            reference: r.try_get(12)?,
            amount_fen: r.try_get(13)?,
            openid: r.try_get(14)?,
            attach: r.try_get(15)?,
            mch_id: r.try_get(17)?,
        }),
        None => None,
    };
    Ok(EventRow {
        seq: r.try_get(0)?,
        id: r.try_get(1)?,
        kind: EventType::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown event type {kind}")))?,
        order_no: r.try_get(3)?,
        out_refund_no: r.try_get(4)?,
        data: r.try_get(5)?,
        created_at: r.try_get(6)?,
        delivery: r.try_get(7)?,
        attempts: r.try_get(8)?,
        next_attempt_at: r.try_get(9)?,
        delivered_at: r.try_get(10)?,
        order,
        refund_amount_fen: r.try_get(16)?,
    })
}

/// An order's event with its facts (a JSON object).
pub(crate) fn new_event(kind: EventType, order_no: &str, facts: serde_json::Value) -> NewEvent {
    NewEvent {
        kind,
        order_no: Some(order_no.to_owned()),
        out_refund_no: None,
        data: facts.to_string(),
    }
}
