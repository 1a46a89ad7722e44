//! What every handler and job is handed (`AppState`): the store, the WeChat gateways and
//! login client, the settings and credentials, metrics, rate limits and locks. Uses the
//! layers below (`wechat`, `store`, `config`, `base`); the domain and HTTP use it.

pub mod limits;
pub mod metrics;

use std::sync::Arc;

use wxpay_client::LoginClient;

use crate::base::keyed_locks::KeyedLocks;
use crate::config::{Credentials, Settings};
use crate::store::Store;
use crate::wechat::Gateways;
use limits::Limits;
use metrics::Metrics;

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub login: LoginClient,
    /// WeChat Pay, v2 and/or v3: each order through the API it was created on.
    pub gateways: Gateways,
    pub settings: Arc<Settings>,
    pub credentials: Arc<Credentials>,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<Limits>,
    /// Readers of one stale order take turns, so only the first asks WeChat.
    pub order_checks: Arc<KeyedLocks>,
}
