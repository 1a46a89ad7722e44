//! v3 pay notifies: `TRANSACTION.SUCCESS` with the payment encrypted under the APIv3 key
//! (AES-256-GCM, AAD `transaction`), signed with the key the merchant's mode picks: in
//! the migration week a growing share with the public key. Every attempt is signed anew
//! (its own timestamp and nonce); the body stays the same across retries, as WeChat's.

use base64::Engine as _;
use rand::Rng;
use wxpay_core::v3::request::SCHEMA;

use super::account;
use super::transactions::transaction;
use super::wire::signature;
use crate::clock::{beijing_rfc3339, now};
use crate::faults::FaultKind;
use crate::ids;
use crate::state::{Sim, TradeKey};

/// How old a `stale_timestamp` attempt's timestamp is: well outside the 300 s window.
const STALE_BY_SECS: i64 = 600;
/// What WeChat's signature probes start with (protocol §3.3).
pub(crate) const PROBE_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The body of the notify for a paid v3 trade, and its merchant.
pub(crate) async fn body(sim: &Sim, key: &TradeKey) -> Option<String> {
    let merchant = match account::snapshot(sim, &key.0).await {
        Ok(Some(merchant)) => merchant,
        Ok(None) => return None,
        Err(error) => {
            tracing::error!(%error, "cannot make the merchant's v3 keys for a notify");
            return None;
        }
    };
    let (payment, resource_nonce, event_id) = {
        let mut state = sim.state();
        let payment = transaction(state.trades.get(key)?).to_string();
        let nonce = ids::resource_nonce(&mut state.rng);
        (payment, nonce, ids::event_id(&mut state.rng))
    };
    wxpay_core::v3::notify::transaction_notify_body(
        &payment,
        merchant.apiv3_key.as_bytes(),
        &resource_nonce,
        &event_id,
        &beijing_rfc3339(now()),
    )
    .ok()
}

/// The `Wechatpay-*` headers of one attempt, and the serial it names. `fault` is the
/// attempt's v3 fault (a probe, a stale timestamp or an unknown serial), if any.
pub(crate) async fn headers(
    sim: &Sim,
    mchid: &str,
    body: &str,
    fault: Option<FaultKind>,
) -> Option<Vec<(&'static str, String)>> {
    let merchant = account::snapshot(sim, mchid).await.ok().flatten()?;
    let (draw, nonce, stray_serial, probe_tail) = {
        let mut state = sim.state();
        let mut tail = [0u8; 192];
        state.rng.fill(&mut tail[..]);
        (
            state.rng.random::<f64>(),
            ids::nonce(&mut state.rng),
            ids::request_id(&mut state.rng),
            base64::engine::general_purpose::STANDARD.encode(tail),
        )
    };
    let signer = merchant.notify_key(draw)?;
    let mut timestamp = now().unix_timestamp();
    if fault == Some(FaultKind::StaleTimestamp) {
        timestamp -= STALE_BY_SECS;
    }
    let timestamp = timestamp.to_string();
    let signed = signature(signer, &timestamp, &nonce, body.as_bytes());
    let (signature, serial) = match fault {
        Some(FaultKind::Probe) => (
            format!("{PROBE_PREFIX}{probe_tail}"),
            signer.serial.to_owned(),
        ),
        Some(FaultKind::WrongSerial) => (signed, stray_serial),
        _ => (signed, signer.serial.to_owned()),
    };
    Some(vec![
        ("Wechatpay-Timestamp", timestamp),
        ("Wechatpay-Nonce", nonce),
        ("Wechatpay-Signature", signature),
        ("Wechatpay-Serial", serial),
        ("Wechatpay-Signature-Type", SCHEMA.to_owned()),
    ])
}
