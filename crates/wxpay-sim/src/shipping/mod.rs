//! The order-shipping service (小程序发货信息管理服务) as WeChat runs it: per app
//! whether it is trade managed, each paid trade's shipping and state (1 awaiting
//! shipment, 2 shipped, 3 receipt confirmed, 4 settled, 5 refunded), the upload rules
//! and their errcodes (`upload.rs`), the payer's confirmation (`control.rs`) and the
//! pushes to the app's message push URL (`push.rs`). The facts are in the project's
//! `docs/protocol-shipping.md`.

mod api;
mod control;
pub mod push;
mod upload;

use std::collections::HashMap;

use actix_web::web;
use serde::Serialize;
use serde_json::Value;

use crate::state::{SimState, Trade, TradeKey, TradeState};

pub use push::{PushAttempt, PushConfig, PushFormat, PushMode};

/// Settlement is due this long after the shipping is complete (what
/// `estimated_settlement_time` says; WeChat's real period depends on the merchant).
pub const SETTLEMENT_AFTER_SECS: i64 = 10 * 24 * 3600;

#[derive(Debug, Default)]
pub struct ShippingBook {
    /// appid -> its settings.
    pub apps: HashMap<String, AppShipping>,
    pub shipments: HashMap<TradeKey, Shipment>,
    /// Every push attempt (`GET /sim/pushes`).
    pub pushes: Vec<PushAttempt>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AppShipping {
    pub trade_managed: bool,
    pub jump_path: Option<String>,
    #[serde(skip)]
    pub push: Option<PushConfig>,
}

/// A trade's shipping, as the last accepted upload left it.
#[derive(Debug, Clone)]
pub struct Shipment {
    /// The upload without its `upload_time`: an identical one changes nothing (10060023).
    pub content: Value,
    pub logistics_type: i64,
    pub delivery_mode: i64,
    pub parcels: Vec<Value>,
    /// The last upload's, to refuse one that is not later (268485216).
    pub upload_time: time::OffsetDateTime,
    pub upload_unix: i64,
    /// When the shipping became complete (unified, or split with `is_all_delivered`).
    pub finished_at: Option<i64>,
    /// The one re-shipping is used.
    pub reshipped: bool,
    /// notify_confirm_receive was called (once per payment).
    pub reminded: bool,
    pub confirmed_at: Option<i64>,
    pub settled_at: Option<i64>,
}

/// `order_state` of a paid trade.
pub fn order_state(trade: &Trade, shipment: Option<&Shipment>) -> i64 {
    if trade.state == TradeState::Refund {
        return 5;
    }
    match shipment {
        Some(s) if s.settled_at.is_some() => 4,
        Some(s) if s.confirmed_at.is_some() => 3,
        Some(s) if s.finished_at.is_some() => 2,
        _ => 1,
    }
}

/// The paid trade of `appid` that a request names: `{transaction_id}` or
/// (`mchid`|`merchant_id`, `out_trade_no`|`merchant_trade_no`).
pub(crate) fn find_trade(
    state: &SimState,
    appid: &str,
    transaction_id: Option<&str>,
    mch_id: Option<&str>,
    out_trade_no: Option<&str>,
) -> Option<TradeKey> {
    let key = match (
        transaction_id.filter(|t| !t.is_empty()),
        mch_id,
        out_trade_no,
    ) {
        (Some(id), _, _) => state
            .trades
            .iter()
            .find(|(_, t)| t.transaction_id.as_deref() == Some(id))
            .map(|(k, _)| k.clone())?,
        (None, Some(mch), Some(no)) => (mch.to_owned(), no.to_owned()),
        _ => return None,
    };
    state
        .trades
        .get(&key)
        .filter(|t| t.appid == appid && t.state.was_paid())
        .map(|_| key)
}

/// The app's original id (`gh_...`), the pushes' `ToUserName`.
pub fn original_id(appid: &str) -> String {
    format!("gh_{}", appid.trim_start_matches("wx"))
}

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/wxa/sec/order/upload_shipping_info",
        web::post().to(upload::upload_shipping_info),
    )
    .route("/wxa/sec/order/get_order", web::post().to(api::get_order))
    .route(
        "/wxa/sec/order/notify_confirm_receive",
        web::post().to(api::notify_confirm_receive),
    )
    .route(
        "/wxa/sec/order/is_trade_managed",
        web::post().to(api::is_trade_managed),
    )
    .route(
        "/wxa/sec/order/set_msg_jump_path",
        web::post().to(api::set_msg_jump_path),
    )
    .route(
        "/cgi-bin/express/delivery/open_msg/get_delivery_list",
        web::post().to(api::delivery_list),
    )
    .route(
        "/sim/apps/{appid}/shipping",
        web::post().to(control::configure_app),
    )
    .route(
        "/sim/apps/{appid}/shipping",
        web::get().to(control::app_settings),
    )
    .route("/sim/shipping/confirm", web::post().to(control::confirm))
    .route("/sim/shipping/remind", web::post().to(control::remind))
    .route("/sim/pushes", web::get().to(control::pushes))
    .route("/sim/pushes/send", web::post().to(control::send_push));
}
