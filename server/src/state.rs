//! What every handler and the reconciler share.

use std::sync::Arc;

use wxpay_client::LoginClient;

use crate::config::{Credentials, Settings};
use crate::gateway::Gateways;
use crate::keyed_locks::KeyedLocks;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::store::Store;

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
