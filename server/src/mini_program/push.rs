//! The Mini Program's message push (消息推送) at `/wechat/mp/events`: the URL check,
//! and pushes in every mode (plain, compatible, secure) and format (XML, JSON).
//!
//! A push is trusted only as far as it can be checked, and acted on only as far as
//! WeChat's own answer confirms it: its signature (and in the encrypted modes its
//! `msg_signature` and appid) must verify and its timestamp be recent; then a shipping
//! event is looked up with `get_order` and the order moves to what WeChat says there,
//! never to what the push says (a plain-mode push's body is not signed at all). Each
//! push is recorded once with what it changed; a resent or replayed one changes nothing.

use secrecy::ExposeSecret;
use serde_json::json;
use sha2::{Digest, Sha256};
use wxpay_client::shipping::{OrderKey, WeChatOrderState};
use wxpay_core::push::message::Fields;
use wxpay_core::push::{self as crypto, PushError, PushKey};

use super::access_token::{from_mp, with_token};
use crate::base::clock::{now_ms, rfc3339};
use crate::base::error::ApiError;
use crate::state::AppState;
use crate::store::{EventType, NewPush, OrderRow, ShippingChange};

/// The URL query WeChat signs (the npm package's type: the same six parameters).
pub(crate) use wxpay_wasm::push::PushQuery;

/// Why a push is refused (nothing it says is used).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refused {
    #[error(
        "the message push is not configured here (shipping.push_token, or a merchant's push_token)"
    )]
    NotConfigured,
    #[error("an encrypted push needs shipping.push_aes_key (the EncodingAESKey)")]
    NoKey,
    #[error("signature, timestamp and nonce are required")]
    Unsigned,
    #[error("the timestamp is not within shipping.push_max_age_secs of now: a replay?")]
    Stale,
    #[error("the push does not verify: {0}")]
    Crypto(#[from] PushError),
    #[error("the push is not WeChat's XML or JSON: {0}")]
    Malformed(String),
}

impl Refused {
    pub(crate) fn into_api(self) -> ApiError {
        let code = match self {
            Refused::NotConfigured | Refused::NoKey => {
                return ApiError::new(
                    actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                    "PUSH_NOT_CONFIGURED",
                    self.to_string(),
                );
            }
            Refused::Malformed(_) => {
                return ApiError::bad_request("INVALID_PUSH", self.to_string());
            }
            Refused::Unsigned | Refused::Stale | Refused::Crypto(_) => "INVALID_SIGNATURE",
        };
        ApiError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            code,
            self.to_string(),
        )
    }
}

/// The signed timestamp, nonce and signature, after the freshness check.
fn signed(state: &AppState, query: &PushQuery) -> Result<(String, String, String), Refused> {
    let (Some(signature), Some(timestamp), Some(nonce)) =
        (&query.signature, &query.timestamp, &query.nonce)
    else {
        return Err(Refused::Unsigned);
    };
    let at: i64 = timestamp.parse().map_err(|_| Refused::Unsigned)?;
    let max_age = i64::try_from(state.settings.shipping.push_max_age_secs).unwrap_or(i64::MAX);
    if (now_ms() / 1000 - at).abs() > max_age {
        return Err(Refused::Stale);
    }
    Ok((signature.clone(), timestamp.clone(), nonce.clone()))
}

/// A mini program whose pushes this server takes: its Token, EncodingAESKey and appid.
struct PushApp<'a> {
    token: &'a str,
    aes_key: Option<&'a str>,
    appid: &'a str,
}

/// `[wechat]`'s app with `[shipping]`'s settings, then each `[[merchants]]` app with its
/// own: the same push URL serves them all.
fn apps(state: &AppState) -> Vec<PushApp<'_>> {
    let shipping = &state.settings.shipping;
    let primary = shipping.push_token.as_ref().map(|token| PushApp {
        token: token.expose_secret(),
        aes_key: shipping
            .push_aes_key
            .as_ref()
            .map(ExposeSecret::expose_secret),
        appid: &state.merchant().credentials.appid,
    });
    let others = state.settings.merchants.iter().filter_map(|m| {
        m.push_token.as_ref().map(|token| PushApp {
            token: token.expose_secret(),
            aes_key: m.push_aes_key.as_ref().map(ExposeSecret::expose_secret),
            appid: &m.appid,
        })
    });
    primary.into_iter().chain(others).collect()
}

/// The app whose Token `verifies` (a push names no app before it is opened).
fn app_for<'a>(
    apps: Vec<PushApp<'a>>,
    verifies: impl Fn(&str) -> bool,
) -> Result<PushApp<'a>, Refused> {
    if apps.is_empty() {
        return Err(Refused::NotConfigured);
    }
    apps.into_iter()
        .find(|app| verifies(app.token))
        .ok_or(Refused::Crypto(PushError::Signature))
}

/// The URL check (GET): `echostr` when the signature is one of our apps'.
pub(crate) fn handshake(state: &AppState, query: &PushQuery) -> Result<String, Refused> {
    let (signature, timestamp, nonce) = signed(state, query)?;
    app_for(apps(state), |token| {
        crypto::verify_url_signature(token, &timestamp, &nonce, &signature)
    })?;
    query.echostr.clone().ok_or(Refused::Unsigned)
}

/// A push's fields, from WeChat's flat XML or a JSON object (the core's reader).
fn fields(body: &str) -> Result<Fields, Refused> {
    Fields::parse(body).map_err(|e| match e {
        PushError::Malformed(why) => Refused::Malformed(why),
        other => other.into(),
    })
}

/// The push's message, verified: decrypted when it is encrypted (compatible and secure
/// modes: its plain copy, if any, is ignored), else as sent under a good `signature`.
pub(crate) fn open(state: &AppState, query: &PushQuery, body: &str) -> Result<String, Refused> {
    let (signature, timestamp, nonce) = signed(state, query)?;
    if query.encrypt_type.as_deref() != Some("aes") {
        app_for(apps(state), |token| {
            crypto::verify_url_signature(token, &timestamp, &nonce, &signature)
        })?;
        return Ok(body.to_owned());
    }
    let outer = fields(body)?;
    let encrypt = outer
        .get("Encrypt")
        .ok_or_else(|| Refused::Malformed("no Encrypt".into()))?;
    let msg_signature = query.msg_signature.as_deref().ok_or(Refused::Unsigned)?;
    let app = app_for(apps(state), |token| {
        crypto::verify_msg_signature(token, &timestamp, &nonce, encrypt, msg_signature)
    })?;
    let key = PushKey::from_encoding_aes_key(app.aes_key.ok_or(Refused::NoKey)?)?;
    Ok(crypto::open(
        app.token,
        &key,
        app.appid,
        &timestamp,
        &nonce,
        encrypt,
        msg_signature,
    )?)
}

fn text<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.get(name).filter(|s| !s.is_empty())
}

/// Acts on a verified message, once. Unknown events are recorded and acknowledged.
pub(crate) async fn receive(state: &AppState, message: &str) -> Result<(), ApiError> {
    let fields = fields(message).map_err(Refused::into_api)?;
    let event = text(&fields, "Event").unwrap_or_else(|| text(&fields, "MsgType").unwrap_or("?"));
    let dedup_key = base16ct::lower::encode_string(&Sha256::digest(message.as_bytes()));
    let order = match event {
        "trade_manage_remind_shipping" | "trade_manage_order_settlement" => {
            our_order(state, &fields).await?
        }
        _ => None,
    };
    let change = match &order {
        Some(order) => change_for(state, event, order, &fields).await?,
        None => ShippingChange::default(),
    };
    let push = NewPush {
        dedup_key: &dedup_key,
        event,
        order_no: order.as_ref().map(|o| o.order_no.as_str()),
        message,
    };
    let new = state.store.record_push(&push, &change, now_ms()).await?;
    tracing::info!(
        event,
        order_no = push.order_no,
        new,
        to = change.to,
        "message push"
    );
    Ok(())
}

/// The order a shipping push names, if it is ours (merchant and transaction match).
async fn our_order(state: &AppState, fields: &Fields) -> Result<Option<OrderRow>, ApiError> {
    let Some(order_no) =
        text(fields, "merchant_trade_no").filter(|n| crate::base::ids::plausible_id(n))
    else {
        return Ok(None);
    };
    let order = state.store.order(order_no).await?;
    Ok(order.filter(|o| {
        Some(o.mch_id.as_str()) == text(fields, "merchant_id")
            && o.transaction_id.as_deref() == text(fields, "transaction_id")
    }))
}

/// What the push changes, as WeChat's `get_order` has the order now.
async fn change_for(
    state: &AppState,
    event: &str,
    order: &OrderRow,
    fields: &Fields,
) -> Result<ShippingChange, ApiError> {
    let key = OrderKey::Merchant {
        mchid: order.mch_id.clone(),
        out_trade_no: order.order_no.clone(),
    };
    // The order's merchant's app asks (today pushes come to `[wechat]`'s app only).
    let merchant = state.merchants.of_order(order)?;
    let at_wechat = with_token(state, merchant, |token| {
        let (login, key) = (&merchant.login, &key);
        async move { login.shipping_order(&token, key).await }
    })
    .await?
    // No answer: the push is not acknowledged, and WeChat sends it again.
    .map_err(|e| from_mp(&e))?;
    let transaction_id = order.transaction_id.clone().unwrap_or_default();
    if at_wechat.transaction_id != transaction_id {
        return Ok(ShippingChange::default());
    }
    let mut change = ShippingChange::default();
    match at_wechat.state {
        WeChatOrderState::AwaitingShipment if event == "trade_manage_remind_shipping" => {
            change.reminded = true;
            change.event = Some(crate::store::new_event(
                EventType::OrderShippingReminder,
                &order.order_no,
                json!({
                    "transaction_id": transaction_id,
                    "shipping_status": "pending",
                    "message": text(fields, "msg").unwrap_or_default(),
                }),
            ));
        }
        WeChatOrderState::Shipped => change.to = Some("uploaded"),
        WeChatOrderState::ReceiptConfirmed | WeChatOrderState::AwaitingSettlement => {
            change.to = Some("confirmed");
        }
        WeChatOrderState::Completed => {
            change.to = Some("settled");
            change.event = Some(crate::store::new_event(
                EventType::OrderSettled,
                &order.order_no,
                json!({
                    "transaction_id": transaction_id,
                    "shipping_status": "settled",
                    "settled_at": rfc3339(now_ms()),
                }),
            ));
        }
        _ => {}
    }
    Ok(change)
}
