//! The v3 part of the control API: a merchant's sandbox keys (to configure a backend
//! under test), switching its key mode (the migration week starts with `migrating`), and
//! platform certificate rotation.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::account;
use super::sandbox_keys::SandboxKeys;
use crate::config::KeyMode;
use crate::control::bad_request;
use crate::state::{Sim, SimState};

fn no_such_merchant() -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": "no such merchant" }))
}

/// `GET /sim/merchants/{mchid}/v3-keys`: everything a backend needs for API v3 with this
/// merchant ([`SandboxKeys`]).
pub(crate) async fn keys(sim: web::Data<Arc<Sim>>, mchid: web::Path<String>) -> HttpResponse {
    match account::snapshot(&sim, &mchid).await {
        Ok(Some(merchant)) => HttpResponse::Ok().json(SandboxKeys::of(&merchant)),
        Ok(None) => no_such_merchant(),
        Err(error) => {
            HttpResponse::InternalServerError().json(json!({ "error": error.to_string() }))
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyModeChange {
    key_mode: KeyMode,
    /// `migrating` only: how far into the week to start (0 to 7 days; default 0), to
    /// test a backend on any day of the migration without waiting for it.
    #[serde(default)]
    elapsed_days: Option<f64>,
}

/// `POST /sim/merchants/{mchid}/key-mode {"key_mode": ..., "elapsed_days": ...}`.
pub(crate) async fn set_key_mode(
    sim: web::Data<Arc<Sim>>,
    mchid: web::Path<String>,
    change: web::Json<KeyModeChange>,
) -> HttpResponse {
    let elapsed = match (change.key_mode, change.elapsed_days) {
        (_, None) => Duration::ZERO,
        (KeyMode::Migrating, Some(days)) if (0.0..=7.0).contains(&days) => sim
            .scale
            .real(Duration::from_secs_f64(days * 24.0 * 60.0 * 60.0)),
        (KeyMode::Migrating, Some(_)) => {
            return bad_request("elapsed_days must be 0 to 7".into());
        }
        (_, Some(_)) => {
            return bad_request("elapsed_days applies to key_mode migrating only".into());
        }
    };
    let mut state = sim.state();
    let Some(merchant) = state
        .merchants
        .iter_mut()
        .find(|m| m.config.mch_id == *mchid)
    else {
        return no_such_merchant();
    };
    merchant.v3.set_key_mode(change.key_mode, elapsed);
    HttpResponse::Ok().json(json!({ "mchid": *mchid, "key_mode": change.key_mode.as_str() }))
}

/// Issues `count` new platform certificates to every merchant that has certificates.
/// Returns how many merchants got them.
pub(crate) fn rotate_certificates(state: &mut SimState, count: u32) -> Result<usize, HttpResponse> {
    if count == 0 || count > 16 {
        return Err(bad_request(
            "rotate_certificate takes a count of 1 to 16 rotations".into(),
        ));
    }
    let mut rotated = 0;
    for merchant in &mut state.merchants {
        if merchant.v3.key_mode.has_certificates() {
            merchant.v3.certificates_issued = merchant.v3.certificates_issued.saturating_add(count);
            rotated += 1;
        }
    }
    Ok(rotated)
}
