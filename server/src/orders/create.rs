//! Creating an order: its number, expiry and description, the prepay request it keeps
//! for life, the insert (an `Idempotency-Key` seen before returns that order instead),
//! and its prepay_id with the `wx.requestPayment` params while it is open.

use wxpay_core::Fen;

use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::base::ids;
use crate::base::telemetry::record_order;
use crate::payments::{self, Attempt};
use crate::state::AppState;
use crate::store::{InsertOutcome, KeyScope, NewOrder, OrderItem, OrderRow};
use crate::wechat::{NewPrepay, PaymentParams};

/// Who pays: a user of this server and their openid.
pub(crate) struct Payer<'a> {
    pub user_id: i64,
    pub openid: &'a str,
    /// Their mini program (None: `[wechat]`'s): the order is its merchant's.
    pub appid: Option<&'a str>,
}

/// An order as created (or as it is now, for a replayed `Idempotency-Key`).
pub(crate) struct Created {
    pub order: OrderRow,
    /// While it is open: pass straight to `wx.requestPayment`.
    pub payment: Option<PaymentParams>,
    /// True when the key was used before: `order` is that earlier order.
    pub replayed: bool,
}

/// What to create: who pays, what for, and how the order is told apart.
pub(crate) struct OrderAsk<'a> {
    pub payer: Payer<'a>,
    /// Already priced lines (may be empty for the merchant's own orders).
    pub items: &'a [OrderItem],
    pub total: Fen,
    /// Shown to the payer; None: the configured description and the order number.
    pub description: Option<&'a str>,
    /// How long it may be paid; None: `orders.ttl_secs`.
    pub ttl_ms: Option<i64>,
    /// The merchant's own order id, unique per merchant.
    pub reference: Option<&'a str>,
    /// Sent to WeChat as `attach`.
    pub attach: Option<&'a str>,
    /// The request's Idempotency-Key and fingerprint, and whose keys it is among.
    pub idempotency: Option<(&'a str, &'a str)>,
    pub key_scope: KeyScope,
}

/// Creates the order `ask` describes, or for a key used before with the same request
/// returns that order; the same key with another request is refused (422), and another
/// order's reference is a conflict (409).
pub(crate) async fn create_order(
    state: &AppState,
    ask: &OrderAsk<'_>,
) -> Result<Created, ApiError> {
    let payer = &ask.payer;
    let (items, total, idempotency) = (ask.items, ask.total, ask.idempotency);
    let now = now_ms();
    let order_no = ids::order_no(now);
    let ttl_ms = ask.ttl_ms.unwrap_or_else(|| {
        i64::try_from(state.settings.orders.ttl().as_millis()).unwrap_or(i64::MAX)
    });
    // At most 128 bytes: the configured part is checked at start-up for that, the
    // merchant's by the admin API.
    let description = match ask.description {
        Some(description) => description.to_owned(),
        None => format!("{}-{}", state.settings.orders.description, order_no),
    };
    let expires_at = now.saturating_add(ttl_ms);
    let merchant = state.merchants.of_app(payer.appid)?;
    let gateway = merchant.gateways.for_new_orders()?;
    let prepay_request = gateway.prepay_request(&NewPrepay {
        order_no: &order_no,
        description: &description,
        amount: total,
        openid: payer.openid,
        expires_at,
        attach: ask.attach,
    });
    let new_order = NewOrder {
        order_no: &order_no,
        user_id: payer.user_id,
        openid: payer.openid,
        amount_fen: total.get(),
        description: &description,
        sign_type: gateway.sign_type(),
        appid: &merchant.credentials.appid,
        mch_id: &merchant.credentials.mch_id,
        now,
        expires_at,
        prepay_request: &prepay_request,
        next_check_at: state.settings.orders.first_check_at(now, expires_at),
        items,
        idempotency,
        key_scope: ask.key_scope,
        reference: ask.reference,
        attach: ask.attach,
    };
    // A new order is known without reading it back; a replay is read as it is now.
    let (order, replayed) = match state.store.insert_order(&new_order).await? {
        InsertOutcome::Inserted => {
            state.metrics.orders_created.inc();
            // Always within this request: its log line carries the order.
            let _ = record_order(&order_no, "created");
            (new_order.as_created_row(), false)
        }
        InsertOutcome::KeyUsed {
            request_hash,
            order_no,
        } => {
            if idempotency.is_none_or(|(_, fingerprint)| request_hash != fingerprint) {
                return Err(ApiError::unprocessable(
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used for a different request",
                ));
            }
            (reload(state, &order_no).await?, true)
        }
        InsertOutcome::ReferenceUsed { order_no } => {
            return Err(ApiError::conflict(
                "REFERENCE_EXISTS",
                format!("order {order_no} already has this reference"),
            ));
        }
    };
    let attempt = if replayed {
        Attempt::Later
    } else {
        Attempt::First
    };
    let (order, payment) = if order.status.is_open() {
        let prepay = payments::ensure_prepay(state, &order, attempt).await?;
        let params = payments::payment_params(state, &prepay)?;
        (prepay.order, Some(params))
    } else {
        (order, None)
    };
    Ok(Created {
        order,
        payment,
        replayed,
    })
}

/// The order as it is now (not found when it is gone).
pub(crate) async fn reload(state: &AppState, order_no: &str) -> Result<OrderRow, ApiError> {
    state
        .store
        .order(order_no)
        .await?
        .ok_or_else(ApiError::order_not_found)
}
