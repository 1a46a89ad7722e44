//! What every handler and the reconciler share.

use std::sync::Arc;

use wxpay_client::{LoginClient, PayClient};

use crate::config::{Credentials, Settings};
use crate::keyed_locks::KeyedLocks;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub login: LoginClient,
    pub pay: PayClient,
    pub settings: Arc<Settings>,
    pub credentials: Arc<Credentials>,
    pub notify_url: Arc<str>,
    pub metrics: Arc<Metrics>,
    pub limits: Arc<Limits>,
    /// Readers of one stale order take turns, so only the first asks WeChat.
    pub order_checks: Arc<KeyedLocks>,
}
