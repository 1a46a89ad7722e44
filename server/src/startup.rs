//! Building the application (`Application::build`, which binds; port 0 works) and
//! running it with its reconciler until stopped.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use wxpay_client::{ClientOptions, LoginClient, PayClient, RetryPolicy};

use crate::config::{ConfigError, Settings};
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::Store;
use crate::{access_log, catalog, reconciler, routes};

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
    state: AppState,
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
        let credentials = settings.credentials()?;
        let listener = TcpListener::bind(&settings.server.bind)
            .map_err(|e| anyhow::anyhow!("cannot bind {}: {e}", settings.server.bind))?;
        let addr = listener.local_addr()?;
        let notify_url = match (public_url, settings.notify_url()) {
            (_, Ok(url)) => url,
            (PublicUrl::FromBind, Err(ConfigError::Missing { .. })) => {
                format!("http://{addr}{}", routes::NOTIFY_PATH)
            }
            (_, Err(e)) => return Err(e.into()),
        };
        let store = Store::connect(&settings.database).await?;
        store.migrate().await?;
        if let Some(path) = &settings.orders.catalog {
            store.upsert_products(&catalog::load(path)?).await?;
        }
        let options = ClientOptions {
            connect_timeout: Duration::from_millis(settings.wechat.connect_timeout_ms),
            request_timeout: Duration::from_millis(settings.wechat.request_timeout_ms),
            retry: RetryPolicy {
                attempts: settings.wechat.retry_attempts.max(1),
                ..RetryPolicy::default()
            },
        };
        let login = LoginClient::new(
            &settings.wechat.mp_base_url,
            &credentials.appid,
            credentials.app_secret.clone(),
            &options,
        )?;
        let pay = PayClient::new(
            &settings.wechat.pay_base_url,
            &credentials.appid,
            &credentials.mch_id,
            credentials.api_key.clone(),
            credentials.sign_type,
            &options,
        )?;
        let max_body = settings.server.max_body_bytes;
        let workers = settings.server.workers;
        let settings_limits = settings.limits.clone();
        let state = AppState {
            store,
            login,
            pay,
            settings: Arc::new(settings),
            credentials: Arc::new(credentials),
            notify_url: notify_url.into(),
            metrics: Arc::new(Metrics::default()),
            limits: Arc::new(Limits::new(&settings_limits)),
        };
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(access_log::log_request))
                .app_data(data.clone())
                .configure(|cfg| routes::configure(cfg, max_body))
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
            state,
        })
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

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves, with the reconciler beside it, until stopped through the handle.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let reconciler = tokio::spawn(reconciler::run(self.state.clone()));
        let result = self.server.await;
        reconciler.abort();
        self.state.store.close().await;
        result
    }
}
