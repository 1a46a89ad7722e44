//! The `wxpay` command line: `serve` (production, or `--sandbox`), `sim`, `migrate`,
//! `doctor`, `explain`, `reconcile`, and the support helpers `sign` and `verify-notify`.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use super::io::{DatabaseArgs, fail, print, settings};
use super::serve::{ServeArgs, serve};
use super::sign_v2::{SignArgs, VerifyArgs, sign_command, verify_command};
use crate::base::clock::{beijing_date, now_ms};
use crate::base::telemetry;
use crate::store;

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
    Explain(super::explain::ExplainArgs),
    /// Check the configuration for the classic mistakes (which key is which, whose
    /// certificate, notify URL, database); exit code 1 when one is an error.
    Doctor(DoctorArgs),
    /// Reconcile a day against WeChat's bill (its stored copy, else downloaded): the
    /// report as JSON; exit 0 when it balances, 1 when differences were found, 2 when it
    /// could not be done (the bill is not ready, say).
    Reconcile(ReconcileArgs),
    /// Print the OpenAPI 3.1 document of the HTTP API (what `GET /openapi.json` serves;
    /// `server/openapi.json` is this output).
    Openapi,
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
            Command::Explain(args) => super::explain::explain_command(&args),
            Command::Reconcile(args) => reconcile_command(args).await,
            Command::Openapi => {
                super::io::print_text(crate::http::openapi::document_json());
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    result.unwrap_or_else(|e| fail(&format!("{e:#}")))
}

async fn doctor_command(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(&args.database)?;
    let report = super::doctor::run(&settings, args.online).await;
    if args.json {
        print(&serde_json::to_value(&report.lines)?);
    } else {
        #[allow(clippy::print_stdout)] // The command's output.
        {
            print!("{}", super::doctor::render(&report));
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
    let state = crate::app::app_state(settings, &notify_base).await?;
    let date = args
        .date
        .unwrap_or_else(|| beijing_date(now_ms() - 86_400_000));
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
