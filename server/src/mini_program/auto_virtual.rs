//! `shipping.auto_virtual`: every paid order is uploaded as virtual goods (logistics
//! type 3: top-ups, memberships, codes; nothing travels), so its funds settle without
//! staff. Run in the reconciler's passes over the orders' own state (paid, nothing
//! uploaded, no refusal recorded), so a payment recorded by any path (notify, query,
//! bill) is covered, and an instance that dies mid-upload leaves the order to the next
//! pass once its lease ends. The upload itself is `shipping::upload`: checked first,
//! retried with the identical request on transient errors, never doubled.

use std::time::Duration;

use wxpay_client::shipping::{LogisticsType, Parcel};

use super::shipping::{Shipping, upload};
use crate::base::clock::now_ms;
use crate::state::AppState;
use crate::store::{OrderRow, StoreError};

/// Orders claimed per pass.
const BATCH: i64 = 16;
/// How long a claim holds: past an upload's own retries, after which an order WeChat
/// did not answer for is tried again.
const LEASE: Duration = Duration::from_secs(60);
/// How long after a payment WeChat's "no such payment" (10060001) is taken as "not yet":
/// its shipping service learns of payments with a delay (its staff: wait a minute), so
/// the order is left for the next lease, about once a minute, this long.
const NOT_YET_KNOWN_FOR: Duration = Duration::from_secs(15 * 60);

/// The virtual-goods upload: one parcel described by the order's description.
fn virtual_goods() -> Shipping {
    Shipping {
        logistics_type: LogisticsType::Virtual,
        parcels: vec![Parcel {
            tracking_no: None,
            express_company: None,
            item_desc: String::new(),
            contact: None,
        }],
        all_delivered: true,
    }
}

fn paid_lately(order: &OrderRow, now: i64) -> bool {
    let window = i64::try_from(NOT_YET_KNOWN_FOR.as_millis()).unwrap_or(i64::MAX);
    order
        .paid_at
        .is_some_and(|paid| now.saturating_sub(paid) < window)
}

/// Uploads the owed orders, a batch at a time. Returns how many WeChat took.
pub(crate) async fn upload_owed(state: &AppState) -> Result<usize, StoreError> {
    let mut uploaded = 0;
    loop {
        let now = now_ms();
        let lease = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        let claimed = state
            .store
            .claim_owed_shipping(now, now.saturating_add(lease), BATCH)
            .await?;
        for order_no in &claimed {
            let Some(order) = state.store.order(order_no).await? else {
                continue;
            };
            match upload(state, &order, &virtual_goods()).await {
                Ok(()) => uploaded += 1,
                // WeChat unreachable or failing: the lease brings the order back.
                Err(error) if error.status.is_server_error() => {
                    tracing::warn!(%order_no, code = error.code, message = %error.message,
                        "automatic virtual-goods upload failed; tried again later");
                }
                Err(error)
                    if error.code == "SHIPPING_PAYMENT_UNKNOWN" && paid_lately(&order, now) =>
                {
                    tracing::info!(%order_no, "WeChat's shipping service does not have this payment yet; tried again later");
                }
                Err(error) => {
                    tracing::warn!(%order_no, code = error.code, message = %error.message,
                        "automatic virtual-goods upload refused; upload this order by hand");
                    let why = format!("{}: {}", error.code, error.message);
                    state
                        .store
                        .record_shipping_error(order_no, &why, now_ms())
                        .await?;
                }
            }
        }
        if claimed.len() < BATCH as usize {
            return Ok(uploaded);
        }
    }
}
