//! Building and running the simulator: bind (port 0 works), then run until stopped.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpResponse, HttpServer, error, web};
use serde_json::json;
use tokio::sync::mpsc;

use crate::config::SimConfig;
use crate::notify::Delivery;
use crate::state::Sim;
use crate::{control, login, notify, pay, payer, v3};

/// Largest request body read (the XML parser's own limit, 64 KiB, applies after).
const MAX_BODY: usize = 1024 * 1024;

/// A bound, not yet running simulator.
pub struct Simulator {
    server: Server,
    addr: SocketAddr,
    /// The `/secapi` (mutual TLS) listener.
    secapi: Server,
    secapi_addr: SocketAddr,
    sim: Arc<Sim>,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Simulator {
    /// Binds `addr` (e.g. `127.0.0.1:9100`, or port 0 for any free port), and the
    /// `/secapi` listener on a free port of the same host.
    pub fn bind(config: &SimConfig, addr: &str) -> anyhow::Result<Simulator> {
        let host = addr.rsplit_once(':').map_or("127.0.0.1", |(host, _)| host);
        Self::bind_with_secapi(config, addr, &format!("{host}:0"))
    }

    /// Binds both listeners where given.
    pub fn bind_with_secapi(
        config: &SimConfig,
        addr: &str,
        secapi_addr: &str,
    ) -> anyhow::Result<Simulator> {
        let listener = TcpListener::bind(addr)
            .map_err(|e| anyhow::anyhow!("cannot bind the simulator to {addr}: {e}"))?;
        let secapi = TcpListener::bind(secapi_addr).map_err(|e| {
            anyhow::anyhow!("cannot bind the simulator's /secapi listener to {secapi_addr}: {e}")
        })?;
        Self::from_listeners(config, listener, secapi)
    }

    pub fn from_listeners(
        config: &SimConfig,
        listener: TcpListener,
        secapi_listener: TcpListener,
    ) -> anyhow::Result<Simulator> {
        let addr = listener.local_addr()?;
        let secapi_addr = secapi_listener.local_addr()?;
        let (sender, deliveries) = mpsc::unbounded_channel();
        let sim = Arc::new(Sim::new(config, sender)?);
        sim.set_secapi_url(format!("https://{secapi_addr}"));
        let data = web::Data::new(Arc::clone(&sim));
        let secapi = secapi_server(&sim, secapi_listener)?;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    crate::access_log::log_request,
                ))
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY))
                .app_data(json_config())
                .app_data(query_config())
                .configure(routes)
        })
        .workers(2)
        // Embedders (tests, `wxpay serve --sandbox`) own the process's signals.
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Simulator {
            server,
            addr,
            secapi,
            secapi_addr,
            sim,
            deliveries,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL for both WeChat hosts
    /// (`api.weixin.qq.com` and `api.mch.weixin.qq.com`) and the control API.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `https://127.0.0.1:PORT`: the `/secapi` (mutual TLS) base URL.
    pub fn secapi_url(&self) -> String {
        format!("https://{}", self.secapi_addr)
    }

    /// Sets an app's order-shipping settings (as `POST /sim/apps/{appid}/shipping`
    /// does): for an embedder that learns its push URL after the simulator is bound.
    pub fn shipping_control(&self) -> ShippingControl {
        ShippingControl(Arc::clone(&self.sim))
    }

    /// Stops both listeners.
    pub fn handle(&self) -> SimHandle {
        SimHandle {
            handles: [self.server.handle(), self.secapi.handle()],
        }
    }

    /// Serves until stopped through the handle. Notify delivery runs on the caller's
    /// runtime beside the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let refunds = tokio::spawn(crate::refund::ticker(Arc::clone(&self.sim)));
        let dispatcher = tokio::spawn(notify::dispatcher(self.sim, self.deliveries));
        let secapi = tokio::spawn(self.secapi);
        let result = self.server.await;
        dispatcher.abort();
        refunds.abort();
        // Stopped through the same handle; its result adds nothing.
        let _ = secapi.await;
        result
    }
}

/// An app's shipping settings, set in process ([`Simulator::shipping_control`]).
#[derive(Clone)]
pub struct ShippingControl(Arc<Sim>);

impl std::fmt::Debug for ShippingControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShippingControl").finish_non_exhaustive()
    }
}

impl ShippingControl {
    pub fn set_app(
        &self,
        appid: &str,
        trade_managed: bool,
        push: Option<crate::shipping::PushConfig>,
    ) {
        let mut state = self.0.state();
        let app = state.shipping.apps.entry(appid.to_owned()).or_default();
        app.trade_managed = trade_managed;
        app.push = push;
    }
}

/// Stops a simulator's listeners.
#[derive(Clone)]
pub struct SimHandle {
    handles: [ServerHandle; 2],
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle").finish_non_exhaustive()
    }
}

impl SimHandle {
    pub async fn stop(&self, graceful: bool) {
        for handle in &self.handles {
            handle.stop(graceful).await;
        }
    }
}

/// A simulator running in the background (for tests and embedding).
#[derive(Debug)]
pub struct RunningSim {
    pub base_url: String,
    /// `https://...` of the `/secapi` (mutual TLS) listener.
    pub secapi_url: String,
    pub addr: SocketAddr,
    handle: SimHandle,
}

impl RunningSim {
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Starts a simulator on `127.0.0.1` and a free port, in the background of the current
/// tokio runtime.
pub async fn spawn(config: &SimConfig) -> anyhow::Result<RunningSim> {
    let simulator = Simulator::bind(config, "127.0.0.1:0")?;
    let running = RunningSim {
        base_url: simulator.base_url(),
        secapi_url: simulator.secapi_url(),
        addr: simulator.local_addr(),
        handle: simulator.handle(),
    };
    tokio::spawn(simulator.run_until_stopped());
    Ok(running)
}

/// The mutual-TLS listener: `/secapi/pay/refund` only.
fn secapi_server(sim: &Arc<Sim>, listener: TcpListener) -> anyhow::Result<Server> {
    let tls = crate::secapi::server_config(sim.seed)?;
    let data = web::Data::new(Arc::clone(sim));
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(
                crate::access_log::log_request,
            ))
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(
                "/secapi/pay/refund",
                web::route().to(crate::refund::v2::refund),
            )
    })
    .workers(1)
    .disable_signals()
    .on_connect(crate::secapi::on_connect)
    .listen_rustls_0_23(listener, tls)?
    .run())
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sns/jscode2session", web::get().to(login::code2session))
        .route(
            "/cgi-bin/stable_token",
            web::post().to(crate::token::stable_token),
        )
        .route(
            "/wxa/business/getuserphonenumber",
            web::post().to(crate::token::phone_number),
        )
        .route("/sim/phone", web::post().to(crate::token::sim_phone))
        .route("/sim/access-tokens", web::get().to(crate::token::issued))
        .route(
            "/sim/access-tokens/expire",
            web::post().to(crate::token::expire),
        )
        // Any method: a GET gets WeChat's REQUIRE_POST_METHOD reply, not a 404.
        .route("/pay/unifiedorder", web::route().to(pay::unifiedorder))
        .route("/pay/orderquery", web::route().to(pay::orderquery))
        .route(
            "/pay/downloadbill",
            web::route().to(crate::bill::downloadbill),
        )
        .route("/pay/closeorder", web::route().to(pay::closeorder))
        .route(
            "/pay/refundquery",
            web::route().to(crate::refund::v2::refundquery),
        )
        // Plain HTTP has no client certificate: WeChat's front end answers so.
        .route(
            "/secapi/pay/refund",
            web::route().to(crate::refund::v2::refund),
        )
        .configure(v3::routes)
        .configure(crate::shipping::routes)
        .route("/sim/login", web::post().to(login::sim_login))
        .route("/sim/pay", web::post().to(payer::pay))
        .route("/sim/faults", web::post().to(control::add_fault))
        .route("/sim/faults", web::get().to(control::list_faults))
        .route("/sim/faults", web::delete().to(control::clear_faults))
        .route("/sim/notifies", web::get().to(control::notifies))
        .route("/sim/trades/{out_trade_no}", web::get().to(control::trade))
        .route(
            "/sim/trades/{out_trade_no}/refund",
            web::post().to(control::refund_trade),
        )
        .route("/sim/merchants", web::get().to(control::merchants))
        .route("/sim/merchants", web::post().to(control::add_merchant))
        .route(
            "/sim/merchants/{mchid}/v3-keys",
            web::get().to(v3::control::keys),
        )
        .route(
            "/sim/merchants/{mchid}/tls",
            web::get().to(crate::secapi::tls),
        )
        .route(
            "/sim/refunds/{out_refund_no}/status",
            web::post().to(crate::refund::set_status),
        )
        .route(
            "/sim/merchants/{mchid}/key-mode",
            web::post().to(v3::control::set_key_mode),
        )
        .route(
            "/sim/health",
            web::get().to(|| async { HttpResponse::Ok().json(json!({"status": "ok"})) }),
        );
}

/// Malformed JSON on the control API: a 400 that says what is wrong.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _| {
            let message = err.to_string();
            error::InternalError::from_response(err, control::bad_request(message)).into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let message = err.to_string();
        error::InternalError::from_response(err, control::bad_request(message)).into()
    })
}
