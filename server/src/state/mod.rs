//! What every handler and job is handed (`AppState`): the store, the merchants (each with
//! its credentials, WeChat gateways and login client), the settings, metrics, rate limits
//! and locks. Uses the
//! layers below (`wechat`, `store`, `config`, `base`); the domain and HTTP use it.

pub mod limits;
pub mod metrics;

use std::sync::Arc;

use crate::base::error::ApiError;
use crate::base::keyed_locks::KeyedLocks;
use crate::config::Settings;
use crate::store::{OrderRow, Store};
use crate::wechat::Gateway;
use crate::wechat::merchants::{Merchant, Merchants};
use limits::Limits;
use metrics::Metrics;

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Who payments are taken for: each order through its merchant's gateway, on the
    /// API it was created on.
    pub merchants: Arc<Merchants>,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<Limits>,
    /// Readers of one stale order take turns, so only the first asks WeChat.
    pub order_checks: Arc<KeyedLocks>,
}

impl AppState {
    /// The merchant of routes and jobs that do not (yet) name one: `[wechat]`'s.
    pub fn merchant(&self) -> &Merchant {
        self.merchants.primary()
    }

    /// The gateway of `order`: its merchant's, on the API it was created on.
    pub(crate) fn gateway_for(&self, order: &OrderRow) -> Result<Gateway<'_>, ApiError> {
        self.merchants.gateway_for(order)
    }
}
