//! `wxpay serve`: production (the configuration checked for it first), or `--sandbox`
//! against an embedded WeChat simulator; stops on SIGINT or SIGTERM after the requests
//! in flight.

use clap::Args;

use super::io::{DatabaseArgs, settings};
use super::sandbox;
use crate::app::{Application, PublicUrl};
use crate::base::telemetry;
use crate::orders::catalog;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    bind: Option<String>,
    /// Run against an embedded WeChat simulator with documentation credentials, a demo
    /// catalog and a SQLite file (unless --database-url). Payments are simulated.
    #[arg(long)]
    sandbox: bool,
    /// Where the embedded simulator listens (with --sandbox).
    #[arg(long, default_value = sandbox::DEFAULT_SIM_BIND, requires = "sandbox")]
    sim_bind: String,
    /// Seed of the embedded simulator, for a repeatable run (with --sandbox; by default
    /// a fresh one each start, so its transaction ids never repeat across restarts).
    #[arg(long, requires = "sandbox")]
    sim_seed: Option<u64>,
    /// Merchants in the sandbox: the documentation one, and up to 8 made-up ones on API
    /// v2, each with its mini program (with --sandbox).
    #[arg(long, default_value_t = 1, requires = "sandbox")]
    merchants: usize,
    /// The WeChat Pay API of the sandbox: v2 (XML) or v3 (JSON, RSA).
    #[arg(long, default_value = "v2", value_parser = ["v2", "v3"], requires = "sandbox")]
    api: String,
    /// With --api v3: public_key (new merchants), platform_certificate, or migrating.
    #[arg(long, default_value = "public_key", requires = "sandbox")]
    key_mode: wxpay_sim::config::KeyMode,
    /// Allow http:// for server.public_base_url and WeChat's base URLs in production,
    /// for a TLS-terminating proxy on this machine. Never for a public address.
    #[arg(long)]
    insecure_http: bool,
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    telemetry::init();
    let mut settings = settings(&args.database)?;
    if let Some(bind) = args.bind {
        settings.server.bind = bind;
    }
    let simulator = if args.sandbox {
        let v3 = (args.api == "v3").then_some(args.key_mode);
        let prepare = (
            settings,
            args.sim_bind,
            args.sim_seed,
            args.database.database_url.is_some(),
            args.merchants,
        );
        // Making the simulator's RSA keys takes about a second: off the async threads.
        let (prepared, returned) = tokio::task::spawn_blocking(move || {
            let (mut settings, bind, seed, database_given, merchants) = prepare;
            let sim = sandbox::prepare(&mut settings, &bind, seed, database_given, v3, merchants);
            (sim, settings)
        })
        .await?;
        settings = returned;
        Some(prepared?)
    } else {
        settings.check_production(args.insecure_http)?;
        None
    };
    let sandbox_database = args.sandbox && args.database.database_url.is_none();
    if sandbox_database {
        sandbox::check_database(&settings).await?;
    }
    let public_url = if args.sandbox {
        PublicUrl::FromBind
    } else {
        PublicUrl::Configured
    };
    let sandbox_catalog = args.sandbox && settings.orders.catalog.is_none();
    // The simulator serves before the application starts: a v3 server on certificates
    // downloads them while it starts.
    let shipping_control = simulator
        .as_ref()
        .map(|sandboxed| sandboxed.simulator.shipping_control());
    let simulator = simulator.map(|sandboxed| {
        let banner = sandbox::Banner::of(&sandboxed);
        let handle = sandboxed.simulator.handle();
        (
            banner,
            handle,
            tokio::spawn(sandboxed.simulator.run_until_stopped()),
        )
    });
    let app = Application::build(settings, public_url).await?;
    if sandbox_catalog {
        app.state()
            .store
            .replace_catalog(&catalog::parse(catalog::DEMO)?)
            .await?;
    }
    if sandbox_database {
        sandbox::mark_database(&app.state().store).await?;
    }
    let api = format!("http://{}", app.local_addr());
    if let Some(control) = &shipping_control {
        sandbox::push_to_server(control, &app.state().settings, &api);
    }
    let app_handle = app.handle();
    match simulator {
        Some((banner, sim_handle, sim_task)) => {
            sandbox::banner(&api, &banner);
            let app_task = tokio::spawn(app.run_until_stopped());
            shutdown_signal().await?;
            app_handle.stop(true).await;
            sim_handle.stop(true).await;
            let _ = tokio::join!(app_task, sim_task);
        }
        None => {
            tracing::info!(%api, "wxpay serving");
            let app_task = tokio::spawn(app.run_until_stopped());
            shutdown_signal().await?;
            app_handle.stop(true).await;
            let _ = app_task.await;
        }
    }
    tracing::info!("wxpay stopped");
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM (what systemd, Docker and Kubernetes
/// send), and says which: requests in flight then finish (up to 10 s) before the exit.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    let signal = {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted.map(|()| "SIGINT")?,
            _ = term.recv() => "SIGTERM",
        }
    };
    #[cfg(not(unix))]
    let signal = tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")?;
    tracing::info!(signal, "wxpay shutting down: finishing requests in flight");
    Ok(())
}
