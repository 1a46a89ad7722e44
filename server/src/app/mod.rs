//! Building the application (`Application::build`, which binds; port 0 works) and
//! running it with its reconciler until stopped. The composition root: it uses every
//! layer below it to put them together; only the `ops` commands (and tests) use it.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use wxpay_client::v3::V3PayClient;
use wxpay_client::{ClientOptions, LoginClient, PayClient};

use crate::base::keyed_locks::KeyedLocks;
use crate::config::{ConfigError, Credentials, Settings};
use crate::http::{self, access_log};
use crate::orders::catalog;
use crate::reconciliation::reconciler;
use crate::state::AppState;
use crate::state::limits::Limits;
use crate::state::metrics::Metrics;
use crate::store::EventPolicy;
use crate::store::Store;
use crate::webhooks::deliver::{self, Deliverer};
use crate::wechat::merchants::{Merchant, Merchants};
use crate::wechat::{Gateways, V2Gateway, V3Gateway};

/// Where WeChat should send notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicUrl {
    /// `server.public_base_url` (production: required).
    Configured,
    /// `http://` + the bound address (sandbox and tests, where WeChat is local).
    FromBind,
}

pub struct Application {
    server: Server,
    addr: SocketAddr,
    /// `/metrics` alone, when `server.metrics_bind` is set.
    metrics_server: Option<(Server, SocketAddr)>,
    state: AppState,
    /// The webhook deliverer, when `[webhooks] url` is set (built with the rest, so a
    /// problem is reported before anything is served).
    deliverer: Option<Deliverer>,
}

/// Stops the application (and its metrics listener).
#[derive(Clone)]
pub struct AppHandle {
    servers: Vec<ServerHandle>,
}

impl std::fmt::Debug for AppHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppHandle").finish_non_exhaustive()
    }
}

impl AppHandle {
    pub async fn stop(&self, graceful: bool) {
        for server in &self.servers {
            server.stop(graceful).await;
        }
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Application {
    /// Checks the configuration, connects and migrates the database, loads the catalog
    /// and binds the listener. Nothing is served until `run_until_stopped`.
    pub async fn build(settings: Settings, public_url: PublicUrl) -> anyhow::Result<Application> {
        settings.validate()?;
        // A missing credential is named before anything is bound or connected.
        settings.credentials()?;
        let listener = TcpListener::bind(&settings.server.bind)
            .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", settings.server.bind))?;
        let addr = listener.local_addr()?;
        let notify_base = match (public_url, settings.public_base_url()) {
            (_, Ok(url)) => url,
            (PublicUrl::FromBind, Err(ConfigError::Missing { .. })) => format!("http://{addr}"),
            (_, Err(e)) => return Err(e.into()),
        };
        let max_body = settings.server.max_body_bytes;
        let workers = settings.server.workers;
        let state = app_state(settings, &notify_base).await?;
        let deliverer = Deliverer::new(&state)?;
        let metrics_server = match &state.settings.server.metrics_bind {
            Some(bind) => Some(metrics_server(&state, bind)?),
            None => None,
        };
        let metrics_here = metrics_server.is_none();
        let admin_api = state.settings.admin.token.is_some();
        let debug_page_dir = state.settings.server.debug_page_dir.clone();
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(access_log::log_request))
                .app_data(data.clone())
                .configure(|cfg| {
                    http::configure(
                        cfg,
                        max_body,
                        metrics_here,
                        admin_api,
                        debug_page_dir.as_deref(),
                    );
                })
        })
        // The embedding binary (or test) owns signals and stops through the handle.
        .disable_signals()
        .workers(if workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            workers
        })
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        Ok(Application {
            server,
            addr,
            metrics_server,
            state,
            deliverer,
        })
    }

    /// Where `/metrics` is served when `server.metrics_bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(|(_, addr)| *addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn handle(&self) -> AppHandle {
        let mut servers = vec![self.server.handle()];
        if let Some((metrics, _)) = &self.metrics_server {
            servers.push(metrics.handle());
        }
        AppHandle { servers }
    }

    /// Serves, with the reconciler beside it, until stopped through the handle.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let reconciler = tokio::spawn(reconciler::run(self.state.clone()));
        let deliverer = self
            .deliverer
            .map(|deliverer| tokio::spawn(deliver::run(self.state.clone(), deliverer)));
        let metrics = self.metrics_server.map(|(server, _)| tokio::spawn(server));
        let result = self.server.await;
        reconciler.abort();
        if let Some(deliverer) = deliverer {
            deliverer.abort();
        }
        if let Some(metrics) = metrics {
            // Stopped through the same handle; its result adds nothing.
            let _ = metrics.await;
        }
        self.state.store.close().await;
        result
    }
}

/// Everything the handlers and the reconciler share, from checked settings: the database
/// (connected and migrated, the catalog loaded) and the clients for WeChat. Also what
/// one-off commands (`wxpay reconcile`) work with.
pub async fn app_state(settings: Settings, notify_base: &str) -> anyhow::Result<AppState> {
    let all_credentials = settings.all_credentials()?;
    let store = Store::connect(&settings.database)
        .await?
        .with_event_policy(EventPolicy {
            record: settings.events.record,
            deliver: settings.webhooks.enabled(),
        });
    store.migrate().await?;
    if let Some(path) = &settings.orders.catalog {
        for sku in store.replace_catalog(&catalog::load(path)?).await? {
            tracing::warn!(%sku, "product no longer in the catalog: deactivated, no longer sold");
        }
    }
    let options = wxpay_client::ClientOptions {
        max_bill_bytes: settings.reconciliation.max_bill_bytes,
        ..settings.wechat.client_options()
    };
    let mut merchants = Vec::with_capacity(all_credentials.len());
    for (id, credentials) in all_credentials {
        merchants.push(merchant(&settings, id, credentials, notify_base, &options).await?);
    }
    let settings_limits = settings.limits.clone();
    Ok(AppState {
        store,
        merchants: Arc::new(Merchants::new(merchants)?),
        settings: Arc::new(settings),
        metrics: Arc::new(Metrics::default()),
        limits: Arc::new(Limits::new(&settings_limits)),
        order_checks: Arc::new(KeyedLocks::default()),
    })
}

/// One merchant's clients: its mini program's login client and its gateways.
async fn merchant(
    settings: &Settings,
    id: String,
    credentials: Credentials,
    notify_base: &str,
    options: &ClientOptions,
) -> anyhow::Result<Merchant> {
    let login = LoginClient::new(
        &settings.wechat.mp_base_url,
        &credentials.appid,
        credentials.app_secret.clone(),
        options,
    )?;
    let gateways = gateways(settings, &credentials, notify_base, options)?;
    if let Some(v3) = gateways.v3()
        && v3.client().credentials().wechat.platform_certificates
    {
        // Certificates are fetched now so the first reply verifies; if WeChat cannot
        // be reached, they are fetched on the first reply that needs them.
        if let Err(error) = v3.client().download_certificates().await {
            tracing::warn!(merchant = %id, %error, "cannot download WeChat's platform certificates yet");
        }
    }
    Ok(Merchant {
        id,
        credentials,
        gateways,
        login,
    })
}

/// The v2 and/or v3 gateways the credentials allow; new orders use `api_version`'s.
fn gateways(
    settings: &Settings,
    credentials: &Credentials,
    notify_base: &str,
    options: &ClientOptions,
) -> anyhow::Result<Gateways> {
    let pay_base = &settings.wechat.pay_base_url;
    let v2 = match &credentials.v2 {
        Some((key, sign_type)) => {
            let pay = PayClient::new(
                pay_base,
                &credentials.appid,
                &credentials.mch_id,
                key.clone(),
                options,
            )?;
            let pay = match &credentials.refund_tls {
                Some(tls) => pay.with_refunds(
                    tls.base_url.as_deref().unwrap_or(pay_base),
                    &tls.certificate,
                    tls.root_ca_pem.as_deref(),
                    options,
                )?,
                None => pay,
            };
            Some(V2Gateway::new(
                pay,
                *sign_type,
                notify_base,
                settings.wechat.spbill_create_ip.clone(),
            ))
        }
        None => None,
    };
    let v3 = match &credentials.v3 {
        Some(v3) => Some(V3Gateway::new(
            V3PayClient::new(pay_base, v3.clone(), options)?,
            notify_base,
        )),
        None => None,
    };
    Ok(Gateways {
        v2,
        v3,
        new_orders: credentials.api_version,
    })
}

/// A listener that serves `/metrics` only (one worker: scrapes are rare).
fn metrics_server(state: &AppState, bind: &str) -> anyhow::Result<(Server, SocketAddr)> {
    let listener = TcpListener::bind(bind)
        .map_err(|e| anyhow::anyhow!("cannot bind server.metrics_bind {bind}: {e}"))?;
    let addr = listener.local_addr()?;
    let data = web::Data::new(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(http::configure_metrics)
    })
    .disable_signals()
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok((server, addr))
}
