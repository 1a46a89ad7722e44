//! Uploading a paid order's shipping to WeChat's order-shipping service, by the
//! merchant's backend or staff (`POST /v1/admin/orders/{no}/shipping`) or automatically
//! for virtual goods. Checked against WeChat's documented rules before WeChat is called;
//! a transient failure is retried with the identical request (same `upload_time`), and
//! WeChat's "nothing changed" (10060023) to a retry of an upload that landed counts as
//! done, so an upload is never doubled and never spends the one correction by itself.

use std::time::Duration;

use actix_web::http::StatusCode;
use wxpay_client::MpError;
use wxpay_client::shipping::{
    DeliveryMode, LogisticsType, MAX_ITEM_DESC_CHARS, OrderKey, Parcel, ShippingInfo, upload_time,
};

use super::access_token::{from_mp, with_token};
use crate::base::clock::now_ms;
use crate::base::error::ApiError;
use crate::state::AppState;
use crate::store::{OrderRow, OrderStatus};
use crate::wechat::merchants::Merchant;

/// WeChat's "the shipping did not change": what a resent upload that landed gets.
const UNCHANGED: i64 = 10060023;
/// The one re-shipping (correction) was already used.
const CORRECTION_USED: i64 = 10060003;
/// 支付单不存在: no such payment, or one the service has not seen yet.
const PAYMENT_UNKNOWN: i64 = 10060001;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// What is uploaded for an order.
#[derive(Debug, Clone)]
pub(crate) struct Shipping {
    pub logistics_type: LogisticsType,
    pub parcels: Vec<Parcel>,
    /// False: more parcels follow (split shipping, express only).
    pub all_delivered: bool,
}

/// The WeChat request for `order` (`item_desc` defaults to the order's description).
fn request(order: &OrderRow, shipping: &Shipping, now: i64) -> ShippingInfo {
    let parcels = shipping
        .parcels
        .iter()
        .cloned()
        .map(|mut parcel| {
            if parcel.item_desc.trim().is_empty() {
                parcel.item_desc = order
                    .description
                    .chars()
                    .take(MAX_ITEM_DESC_CHARS)
                    .collect();
            }
            parcel
        })
        .collect::<Vec<_>>();
    let delivery_mode = if parcels.len() > 1 || !shipping.all_delivered {
        DeliveryMode::Split {
            all_delivered: shipping.all_delivered,
        }
    } else {
        DeliveryMode::Unified
    };
    ShippingInfo {
        order_key: OrderKey::Merchant {
            mchid: order.mch_id.clone(),
            out_trade_no: order.order_no.clone(),
        },
        logistics_type: shipping.logistics_type,
        delivery_mode,
        shipping_list: parcels,
        upload_time: upload_time(now),
        payer_openid: order.openid.clone(),
    }
}

fn conflict(code: &'static str, message: impl Into<String>, order: &OrderRow) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, message.into()).for_order(&order.order_no)
}

/// Uploads `shipping` for `order` and records it. Refused before WeChat when shipping
/// is off, the order is not paid, its receipt is confirmed, or a rule is broken.
pub(crate) async fn upload(
    state: &AppState,
    order: &OrderRow,
    shipping: &Shipping,
) -> Result<(), ApiError> {
    if !state.settings.shipping.enabled {
        return Err(conflict(
            "SHIPPING_NOT_ENABLED",
            "shipping.enabled is off: this Mini Program is not in WeChat's shipping service",
            order,
        ));
    }
    if order.status != OrderStatus::Paid {
        return Err(conflict(
            "ORDER_NOT_PAID",
            "only a paid order ships: WeChat knows no payment for this one",
            order,
        ));
    }
    if matches!(
        order.shipping_status.as_deref(),
        Some("confirmed" | "settled")
    ) {
        return Err(conflict(
            "SHIPPING_CLOSED",
            "the payer confirmed receipt: WeChat no longer takes changes to this shipping",
            order,
        ));
    }
    let now = now_ms();
    let info = request(order, shipping, now);
    info.check().map_err(|problem| {
        ApiError::bad_request("INVALID_SHIPPING", problem.to_string()).for_order(&order.order_no)
    })?;
    // The payment's mini program uploads its shipping.
    let merchant = state.merchants.of_order(order)?;
    match send(state, merchant, &info).await? {
        Ok(()) => {}
        Err(error) if error.errcode() == Some(UNCHANGED) => {}
        Err(error) => return Err(refused(&error, order)),
    }
    let recorded = serde_json::json!({
        "logistics_type": info.logistics_type,
        "all_delivered": shipping.all_delivered,
        "parcels": info.shipping_list,
        "upload_time": info.upload_time,
    });
    if !state
        .store
        .record_shipping_upload(&order.order_no, &recorded.to_string(), now)
        .await?
    {
        // WeChat took it, but the order changed meanwhile (a confirmation came in).
        tracing::warn!(order_no = %order.order_no, "shipping uploaded but not recorded: the order moved on");
    }
    tracing::info!(order_no = %order.order_no, logistics = ?info.logistics_type, "shipping uploaded");
    Ok(())
}

/// The upload, retried on WeChat's transient errors with the identical request.
async fn send(
    state: &AppState,
    merchant: &Merchant,
    info: &ShippingInfo,
) -> Result<Result<(), MpError>, ApiError> {
    let attempts = state.settings.wechat.retry_attempts.max(1);
    let mut backoff = FIRST_BACKOFF;
    let mut answer = Ok(());
    for attempt in 1..=attempts {
        answer = with_token(state, merchant, |token| {
            let login = &merchant.login;
            async move { login.upload_shipping_info(&token, info).await }
        })
        .await?;
        match &answer {
            Err(error) if error.is_transient() && attempt < attempts => {
                tracing::warn!(%error, attempt, "shipping upload failed; retrying the same request");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            _ => break,
        }
    }
    Ok(answer)
}

/// WeChat's refusal, with its errcode.
fn refused(error: &MpError, order: &OrderRow) -> ApiError {
    match error.errcode() {
        Some(CORRECTION_USED) => conflict(
            "SHIPPING_CORRECTION_USED",
            "WeChat allows one correction per payment and it was used (errcode 10060003)",
            order,
        ),
        Some(PAYMENT_UNKNOWN) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SHIPPING_PAYMENT_UNKNOWN",
            "WeChat's shipping service does not know this payment (errcode 10060001): right after a payment it may not have it yet, so try again in a minute",
        )
        .for_order(&order.order_no),
        // The shipping service's own codes (10060xxx, 268485xxx): the call was refused.
        Some(errcode) if errcode >= 10_060_000 => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "SHIPPING_REFUSED",
            format!("WeChat refused the shipping: {error}"),
        )
        .for_order(&order.order_no),
        _ => from_mp(error),
    }
}
