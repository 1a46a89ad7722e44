//! An event as a receiver sees it: `{"id", "type", "timestamp", "data"}`, `data`
//! holding its order's or refund's fields and what the event adds. Built only from what
//! never changes after the event (its facts, and the order's and refund's fixed
//! fields), so every retry and every read of the events API is the same bytes.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::base::clock::rfc3339;
use crate::store::{EventRow, EventType};

/// The envelope, fields in this order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Payload {
    /// `evt_...`: the webhook-id, the same on every delivery.
    pub id: String,
    /// e.g. `order.paid` (the webhooks of this document, one per type).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it happened (RFC 3339).
    pub timestamp: String,
    /// The order's or refund's fields and what the event adds (see the webhooks).
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

/// The status an event reports its subject in (None: its facts say, or it has none).
pub(crate) fn status_of(kind: EventType) -> Option<&'static str> {
    Some(match kind {
        EventType::OrderPaid => "paid",
        EventType::OrderClosed => "closed",
        EventType::OrderFailed => "failed",
        EventType::RefundSucceeded => "succeeded",
        EventType::RefundClosed => "closed",
        EventType::RefundAbnormal => "abnormal",
        EventType::OrderNeedsAttention
        | EventType::ReconciliationFinding
        | EventType::OrderShippingReminder
        | EventType::OrderSettled => return None,
    })
}

pub fn payload(event: &EventRow) -> Payload {
    let mut data = Map::new();
    if let Some(order_no) = &event.order_no {
        data.insert("order_no".into(), json!(order_no));
    }
    if let Some(order) = &event.order {
        data.insert("reference".into(), json!(order.reference));
        data.insert("openid".into(), json!(order.openid));
        data.insert("amount_fen".into(), json!(order.amount_fen));
        if let Some(attach) = &order.attach {
            data.insert("attach".into(), json!(attach));
        }
    }
    if let Some(out_refund_no) = &event.out_refund_no {
        data.insert("out_refund_no".into(), json!(out_refund_no));
        // A refund event's amount is the refund's; the order's is beside it.
        if let Some(order_amount) = data.remove("amount_fen") {
            data.insert("order_amount_fen".into(), order_amount);
        }
        data.insert("amount_fen".into(), json!(event.refund_amount_fen));
    }
    if let Some(status) = status_of(event.kind) {
        data.insert("status".into(), json!(status));
    }
    // The facts as of the change (written by the store: always an object).
    if let Ok(Value::Object(facts)) = serde_json::from_str::<Value>(&event.data) {
        data.extend(facts);
    }
    Payload {
        id: event.id.clone(),
        kind: event.kind.as_str(),
        timestamp: rfc3339(event.created_at),
        data,
    }
}

/// The body a webhook delivery sends (and signs).
pub fn body(event: &EventRow) -> String {
    // Strings, numbers and maps of them: serialising cannot fail.
    serde_json::to_string(&payload(event)).unwrap_or_default()
}
