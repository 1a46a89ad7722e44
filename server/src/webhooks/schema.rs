//! The webhooks' bodies as JSON Schemas, for the OpenAPI document's `webhooks`: one per
//! event type, the envelope of `payload.rs` with the `data` that type carries. Strict
//! (no field the schema does not name), so the test that validates every real payload
//! against them fails when a payload grows a field the document does not describe.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};

use super::payload::status_of;
use crate::store::{EventType, OrderStatus};

/// One webhook: its event type and the name of its body's schema.
#[derive(Debug)]
pub struct Webhook {
    pub event_type: &'static str,
    pub summary: &'static str,
    /// Its body's schema, in `components.schemas`.
    pub schema: String,
}

/// What each field of a body is.
#[derive(Clone)]
enum Field {
    Text(&'static str),
    /// RFC 3339.
    Time(&'static str),
    Fen(&'static str),
    Flag(&'static str),
    /// Always present, null when there is none.
    NullableText(&'static str),
    NullableFen(&'static str),
    /// A fixed value.
    Is(&'static str),
    /// Present only when set.
    OptionalText(&'static str),
    /// Any of these values.
    OneOf(Vec<&'static str>),
    Count(&'static str),
}

impl Field {
    fn schema(self) -> Schema {
        let typed = |kind: SchemaType, about: &str| {
            ObjectBuilder::new()
                .schema_type(kind)
                .description(Some(about))
        };
        let nullable = |kind: Type| SchemaType::from_iter([kind, Type::Null]);
        let built = match self {
            Field::Text(about) | Field::OptionalText(about) => typed(Type::String.into(), about),
            Field::Time(about) => typed(Type::String.into(), about).format(Some(
                SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime),
            )),
            Field::Fen(about) => typed(Type::Integer.into(), about),
            Field::Count(about) => typed(Type::Integer.into(), about).minimum(Some(0)),
            Field::Flag(about) => typed(Type::Boolean.into(), about),
            Field::NullableText(about) => typed(nullable(Type::String), about),
            Field::NullableFen(about) => typed(nullable(Type::Integer), about),
            Field::Is(value) => ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([value])),
            Field::OneOf(values) => ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(values)),
        };
        Schema::Object(built.build())
    }

    fn required(&self) -> bool {
        !matches!(self, Field::OptionalText(_))
    }
}

/// A closed object of these fields.
fn object(fields: &[(&str, Field)]) -> Schema {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    for (name, field) in fields {
        object = object.property(*name, field.clone().schema());
        if field.required() {
            object = object.required(*name);
        }
    }
    Schema::Object(object.build())
}

/// The order's fields that every order and refund event carries.
const ORDER: [(&str, Field); 5] = [
    ("order_no", Field::Text("The order number")),
    (
        "reference",
        Field::NullableText("The merchant's own order id (null for catalog orders)"),
    ),
    ("openid", Field::Text("The payer")),
    ("amount_fen", Field::Fen("The order's amount")),
    (
        "attach",
        Field::OptionalText("What the merchant attached (present when it did)"),
    ),
];

const PAID: [(&str, Field); 4] = [
    ("transaction_id", Field::Text("WeChat's transaction id")),
    ("paid_at", Field::Time("When it was recorded paid")),
    (
        "late_payment",
        Field::Flag("Paid after it was closed or failed here: fulfil or refund it"),
    ),
    (
        "double_payment",
        Field::Flag("A second transaction for an order already paid: refund one"),
    ),
];

/// The refund's fields (its order's amount moves to `order_amount_fen`).
const REFUND: [(&str, Field); 8] = [
    ("order_no", Field::Text("The refunded order")),
    ("reference", Field::NullableText("The order's reference")),
    ("openid", Field::Text("The payer")),
    ("order_amount_fen", Field::Fen("The order's amount")),
    ("attach", Field::OptionalText("The order's attach")),
    ("out_refund_no", Field::Text("The refund's number")),
    ("amount_fen", Field::Fen("The refund's amount")),
    ("refund_id", Field::NullableText("WeChat's refund id")),
];

fn data_of(kind: EventType) -> Vec<(&'static str, Field)> {
    let mut fields = Vec::new();
    // The status the payload states for this type (payload.rs decides it).
    let status = status_of(kind).map(|s| ("status", Field::Is(s)));
    match kind {
        EventType::OrderPaid => {
            fields.extend(ORDER);
            fields.extend(status);
            fields.extend(PAID);
        }
        EventType::OrderClosed | EventType::OrderFailed => {
            fields.extend(ORDER);
            fields.extend(status);
            fields.push((
                "failure",
                Field::NullableText("Why it failed (null when it was closed)"),
            ));
        }
        EventType::OrderNeedsAttention => {
            fields.extend(ORDER);
            // The order's own status when the reconciler gave up on it.
            let statuses = OrderStatus::ALL.map(OrderStatus::as_str);
            fields.push(("status", Field::OneOf(statuses.to_vec())));
            fields.push((
                "check_failures",
                Field::Count("How many times WeChat could not be asked about it"),
            ));
        }
        EventType::RefundSucceeded | EventType::RefundClosed | EventType::RefundAbnormal => {
            fields.extend(REFUND);
            fields.extend(status);
            fields.push((
                "failure",
                Field::NullableText("Why it closed or is abnormal"),
            ));
        }
        EventType::ReconciliationFinding => fields.extend([
            (
                "bill_date",
                Field::Text("The bill's day, YYYY-MM-DD (Beijing)"),
            ),
            ("kind", Field::Text("What differs, e.g. paid_missing_here")),
            ("subject", Field::Text("The order or refund number")),
            ("wechat_fen", Field::NullableFen("WeChat's amount")),
            ("our_fen", Field::NullableFen("Ours")),
            ("detail", Field::Text("What was found")),
            ("resolution", Field::Text("What was done about it")),
        ]),
        EventType::OrderShippingReminder | EventType::OrderSettled => {
            let (shipping_status, fact) = match kind {
                EventType::OrderSettled => (
                    "settled",
                    (
                        "settled_at",
                        Field::Time("When WeChat's settlement was recorded"),
                    ),
                ),
                _ => (
                    "pending",
                    ("message", Field::Text("WeChat's reminder, as it wrote it")),
                ),
            };
            fields.extend(ORDER);
            fields.extend([
                ("transaction_id", Field::Text("WeChat's transaction id")),
                ("shipping_status", Field::Is(shipping_status)),
                fact,
            ]);
        }
    }
    fields
}

/// The body of one event type's webhook: the envelope with its `data`.
fn body_of(kind: EventType) -> Schema {
    let data = data_of(kind);
    let mut body = object(&[
        (
            "id",
            Field::Text("evt_...: the webhook-id, the same on every retry"),
        ),
        ("type", Field::Is(kind.as_str())),
        ("timestamp", Field::Time("When it happened")),
    ]);
    if let Schema::Object(envelope) = &mut body {
        envelope
            .properties
            .insert("data".to_owned(), RefOr::T(object(&data)));
        envelope.required.push("data".to_owned());
    }
    body
}

fn summary_of(kind: EventType) -> &'static str {
    match kind {
        EventType::OrderPaid => "An order was paid (also late and double payments)",
        EventType::OrderClosed => "An order was closed unpaid",
        EventType::OrderFailed => "An order failed at WeChat",
        EventType::OrderNeedsAttention => "WeChat could not be asked about an order: look at it",
        EventType::RefundSucceeded => "A refund reached the payer",
        EventType::RefundClosed => "A refund was refused or closed",
        EventType::RefundAbnormal => "A refund is stuck at WeChat (not final)",
        EventType::ReconciliationFinding => "Reconciliation found a difference",
        EventType::OrderShippingReminder => {
            "WeChat reminds that a paid order waits for its shipping upload"
        }
        EventType::OrderSettled => "WeChat settled a paid order's funds after receipt",
    }
}

/// The schema name of an event type's body: `order.needs_attention` ->
/// `OrderNeedsAttentionWebhook`.
fn schema_name(kind: EventType) -> String {
    let mut name: String = kind
        .as_str()
        .split(['.', '_'])
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect();
    name.push_str("Webhook");
    name
}

/// Every webhook, with its body's schema.
pub fn webhooks() -> Vec<(Webhook, Schema)> {
    EventType::ALL
        .iter()
        .map(|&kind| {
            let webhook = Webhook {
                event_type: kind.as_str(),
                summary: summary_of(kind),
                schema: schema_name(kind),
            };
            (webhook, body_of(kind))
        })
        .collect()
}
