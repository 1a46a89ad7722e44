//! The `wxpay` command line: `serve` (production, or `--sandbox`), `sim`, `migrate`,
//! and the support helpers `sign` and `verify-notify`.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use serde_json::{Value, json};
use wxpay_core::ApiKey;
use wxpay_core::v2::sign::{self, SignType};
use wxpay_core::v2::{Params, verify_pay_notify, xml};

use crate::cli_v3::{SignV3Args, VerifyV3Args};
use crate::config::Settings;
use crate::startup::{Application, PublicUrl};
use crate::{sandbox, store, telemetry};

/// wxpay: Mini Program login and WeChat Pay, done right.
#[derive(Debug, Parser)]
#[command(name = "wxpay", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (production config; `--sandbox` for a simulated WeChat).
    Serve(ServeArgs),
    /// Run the WeChat simulator alone.
    Sim(wxpay_sim::cli::SimArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Sign a parameter set (JSON object from FILE or stdin) with the v2 API key; with
    /// --v3, a v3 request's Authorization header (its body from FILE or stdin).
    Sign(SignArgs),
    /// Verify a pay notify (XML from FILE or stdin) with the v2 API key; with --v3, a
    /// captured v3 notify (--headers FILE, the body from FILE or stdin).
    VerifyNotify(VerifyArgs),
    /// Why would WeChat refuse these payment params, or this notify? Every problem with
    /// its code, the canonical string and the expected signature (JSON); exit 1 when any.
    Explain(crate::cli_explain::ExplainArgs),
    /// Check the configuration for the classic mistakes (which key is which, whose
    /// certificate, notify URL, database); exit code 1 when one is an error.
    Doctor(DoctorArgs),
    /// Reconcile a day against WeChat's bill (its stored copy, else downloaded): the
    /// report as JSON; exit 0 when it balances, 1 when differences were found, 2 when it
    /// could not be done (the bill is not ready, say).
    Reconcile(ReconcileArgs),
}

#[derive(Debug, Args)]
struct ReconcileArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The day, YYYY-MM-DD in Beijing time [default: yesterday].
    #[arg(long)]
    date: Option<String>,
}

#[derive(Debug, Args)]
struct DatabaseArgs {
    /// TOML configuration file (see wxpay.example.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// sqlite://FILE or postgres://... (overrides the configuration and
    /// WXPAY_DATABASE__URL; with --sandbox, the only way to choose the database).
    #[arg(long)]
    database_url: Option<String>,
}

#[derive(Debug, Args)]
struct DoctorArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Print the findings as JSON (an array of {check, status, found, fix}).
    #[arg(long)]
    json: bool,
    /// Also ask WeChat: a signed harmless query, the key mode, the clock.
    #[arg(long)]
    online: bool,
}

#[derive(Debug, Args)]
struct ServeArgs {
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

#[derive(Debug, Args)]
struct KeyArgs {
    /// Environment variable holding the 32-character v2 API key.
    #[arg(long, default_value = "WXPAY_API_KEY")]
    key_env: String,
}

#[derive(Debug, Args)]
struct SignArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// MD5 or HMAC-SHA256.
    #[arg(long, default_value = "MD5")]
    sign_type: String,
    /// Print the signed XML request instead of JSON.
    #[arg(long)]
    xml: bool,
    /// API v3: sign a request (--method, --url, --mchid, --serial, --private-key).
    #[arg(long)]
    v3: bool,
    #[command(flatten)]
    v3_args: SignV3Args,
    /// JSON object of parameters (strings or integers), or with --v3 the request body;
    /// stdin when absent.
    file: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The order's sign type (binding); by default the notify's own or its sign length.
    #[arg(long)]
    sign_type: Option<String>,
    /// API v3: verify (and with the APIv3 key, decrypt) a captured notify.
    #[arg(long)]
    v3: bool,
    #[command(flatten)]
    v3_args: VerifyV3Args,
    /// The notify XML (with --v3, its JSON body); stdin when absent.
    file: Option<PathBuf>,
}

pub fn main() -> ExitCode {
    // Before any command builds an HTTP client (doctor --online builds its own).
    wxpay_client::install_crypto_provider();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await.map(|()| ExitCode::SUCCESS),
            Command::Sim(args) => {
                wxpay_sim::init_logging();
                args.run().await.map(|()| ExitCode::SUCCESS)
            }
            Command::Migrate(args) => migrate(args).await.map(|()| ExitCode::SUCCESS),
            Command::Sign(args) => sign_command(args),
            Command::VerifyNotify(args) => verify_command(args),
            Command::Doctor(args) => doctor_command(args).await,
            Command::Explain(args) => crate::cli_explain::explain_command(&args),
            Command::Reconcile(args) => reconcile_command(args).await,
        }
    });
    result.unwrap_or_else(|e| fail(&format!("{e:#}")))
}

#[allow(clippy::print_stderr)] // The command's error output.
fn fail(message: &str) -> ExitCode {
    eprintln!("wxpay: {message}");
    ExitCode::FAILURE
}

#[allow(clippy::print_stdout)] // The command's output.
pub(crate) fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn settings(args: &DatabaseArgs) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(args.config.as_deref())?;
    if let Some(url) = &args.database_url {
        settings.database.url = SecretString::from(url.as_str());
    }
    Ok(settings)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
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
        );
        // Making the simulator's RSA keys takes about a second: off the async threads.
        let (prepared, returned) = tokio::task::spawn_blocking(move || {
            let (mut settings, bind, seed, database_given) = prepare;
            let sim = sandbox::prepare(&mut settings, &bind, seed, database_given, v3);
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
            .replace_catalog(&crate::catalog::parse(crate::catalog::DEMO)?)
            .await?;
    }
    if sandbox_database {
        sandbox::mark_database(&app.state().store).await?;
    }
    let api = format!("http://{}", app.local_addr());
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

async fn doctor_command(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.database)?;
    let report = crate::doctor::run(&settings, args.online).await;
    if args.json {
        print(&serde_json::to_value(&report.lines)?);
    } else {
        #[allow(clippy::print_stdout)] // The command's output.
        {
            print!("{}", crate::doctor::render(&report));
        }
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn reconcile_command(args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    telemetry::init_stderr();
    let settings = settings(&args.database)?;
    settings.validate()?;
    // Refunds the reconciliation starts (orders.late_payment = "refund") name this server.
    let notify_base = settings.public_base_url()?;
    let state = crate::startup::app_state(settings, &notify_base).await?;
    let date = args
        .date
        .unwrap_or_else(|| crate::clock::beijing_date(crate::clock::now_ms() - 86_400_000));
    match crate::reconciliation::reconcile_day(&state, &date).await {
        Ok(report) => {
            print(&serde_json::to_value(&report)?);
            Ok(if report.balanced {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Err(error) => {
            fail(&format!(
                "reconcile {date}: {} ({})",
                error.message, error.code
            ));
            Ok(ExitCode::from(2))
        }
    }
}

async fn migrate(args: DatabaseArgs) -> anyhow::Result<()> {
    telemetry::init();
    let settings = settings(&args)?;
    let store = store::Store::connect(&settings.database).await?;
    store.migrate().await?;
    print(&json!({ "migrated": true, "backend": format!("{:?}", store.backend()) }));
    Ok(())
}

fn api_key(args: &KeyArgs) -> anyhow::Result<ApiKey> {
    let value = std::env::var(&args.key_env).map_err(|_| {
        anyhow::anyhow!(
            "set the API key in the environment variable {}",
            args.key_env
        )
    })?;
    Ok(ApiKey::new(value.trim_end_matches(['\n', '\r']))?)
}

pub(crate) fn read_input(file: Option<&PathBuf>) -> anyhow::Result<Vec<u8>> {
    let mut input = Vec::new();
    match file {
        Some(path) => {
            input = std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        }
        None => {
            std::io::stdin().read_to_end(&mut input)?;
        }
    }
    Ok(input)
}

fn sign_command(args: SignArgs) -> anyhow::Result<ExitCode> {
    if args.v3 {
        return crate::cli_v3::sign(&args.v3_args, args.file.as_ref());
    }
    let key = api_key(&args.key)?;
    let sign_type: SignType = args.sign_type.parse()?;
    let input: Value = serde_json::from_slice(&read_input(args.file.as_ref())?)
        .map_err(|e| anyhow::anyhow!("input must be a JSON object of parameters: {e}"))?;
    let object = input
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("input must be a JSON object of parameters"))?;
    let mut params = Params::new();
    for (name, value) in object {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            Value::Null => continue,
            _ => anyhow::bail!(
                "{name}: values must be strings or integers (amounts are integer fen)"
            ),
        };
        params.insert(name.clone(), text);
    }
    let signature = sign::sign(&params, &key, sign_type);
    if args.xml {
        params.insert("sign", signature.as_str().to_owned());
        #[allow(clippy::print_stdout)] // The command's output.
        {
            println!("{}", xml::to_xml(&params)?);
        }
    } else {
        print(&json!({
            "canonical_string": params.canonical_string(),
            "sign_type": sign_type.as_str(),
            "sign": signature.as_str(),
        }));
    }
    Ok(ExitCode::SUCCESS)
}

fn verify_command(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    if args.v3 {
        return crate::cli_v3::verify_notify_command(&args.v3_args, args.file.as_ref());
    }
    let key = api_key(&args.key)?;
    let expected = args
        .sign_type
        .as_deref()
        .map(str::parse::<SignType>)
        .transpose()?;
    let body = read_input(args.file.as_ref())?;
    match verify_pay_notify(&body, &key, expected) {
        Ok(notify) => {
            print(&json!({
                "valid": true,
                "sign_type": notify.sign_type().as_str(),
                "out_trade_no": notify.out_trade_no(),
                "transaction_id": notify.transaction_id(),
                "total_fee": notify.total_fee().get(),
                "appid": notify.appid(),
                "mch_id": notify.mch_id(),
                "time_end": notify.time_end(),
                // Every field of the notify, all covered by the verified sign.
                "fields": notify.params(),
            }));
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            print(&json!({ "valid": false, "error": error.to_string() }));
            Ok(ExitCode::FAILURE)
        }
    }
}
