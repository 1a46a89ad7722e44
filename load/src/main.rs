//! `wxpay-load`: load a real `wxpay serve` process (release build) and measure it against
//! the database's own ceiling. See BENCHMARKS.md for the runs and `--help` for the flags.

mod bench;
mod ceiling;
mod db;
mod merchant;
mod proc;
mod scenario;
mod server;
mod users;

use clap::{Parser, ValueEnum};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// Genuine signed pay notifies, one per order awaiting payment.
    Notify,
    /// Order creation (unifiedorder at the simulator) by logged-in users.
    Orders,
    /// Order reads by their owner.
    Status,
    /// The database's own rate (pgbench simple-update, or the notify's statements alone).
    Ceiling,
    /// Query plans of the hot queries (after --preload).
    Plans,
}

/// The WeChat Pay API the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Api {
    V2,
    V3,
}

impl Api {
    fn name(self) -> &'static str {
        match self {
            Api::V2 => "v2",
            Api::V3 => "v3",
        }
    }
}

/// Load driver for wxpay.
/// The database under test: one type, so every place reads `--db` the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    /// As in the reports (and on the command line).
    fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "sqlite",
            Db::Postgres => "postgres",
        }
    }
}

#[derive(Debug, Parser)]
#[command(name = "wxpay-load")]
struct Cli {
    #[arg(value_enum)]
    kind: Kind,
    /// sqlite or postgres.
    #[arg(long, value_enum, default_value = "sqlite")]
    db: Db,
    /// The WeChat Pay API: v2 (XML, HMAC-SHA256) or v3 (RSA, AES-GCM notifies; the
    /// simulator's test merchant on its WeChat Pay public key).
    #[arg(long, value_enum, default_value = "v2")]
    api: Api,
    /// A PostgreSQL database to create the run's own database from.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_admin: String,
    /// Closed loop: this many concurrent clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Open loop instead: requests per second.
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Orders loaded into the database before the run (the growth check).
    #[arg(long, default_value_t = 0)]
    preload: usize,
    /// The server binary.
    /// Merchants the server is configured with: 1 (`[wechat]`'s alone), or up to 9 with
    /// made-up `[[merchants]]` beside it (as `serve --sandbox --merchants` has them). The
    /// load is the first merchant's either way: this measures the registry's cost.
    #[arg(long, default_value_t = 1)]
    merchants: usize,
    #[arg(long, default_value = "target/release/wxpay")]
    binary: String,
    /// The server's RUST_LOG (its default, info, logs a line per request).
    #[arg(long, default_value = "info")]
    log: String,
    /// SQLite synchronous setting for the ceiling (the server uses FULL).
    #[arg(long, default_value = "FULL")]
    synchronous: String,
    /// pgbench's scale factor for the ceiling (10: 1,000,000 accounts).
    #[arg(long, default_value_t = 10)]
    pgbench_scale: u32,
}

#[allow(clippy::print_stdout)] // The report is the program's output.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _ = rustls::crypto::ring::default_provider().install_default();
    if cli.kind == Kind::Ceiling {
        let report = if cli.db == Db::Postgres {
            let tps = ceiling::pgbench(
                &cli.pg_admin,
                cli.pgbench_scale,
                cli.concurrency,
                cli.seconds,
            )
            .await?;
            json!({"kind": "ceiling", "db": cli.db.name(), "concurrency": cli.concurrency, "tps": tps.round()})
        } else {
            let (tps, (user, system)) =
                ceiling::sqlite(&cli.synchronous, cli.concurrency, cli.seconds).await?;
            json!({
                "kind": "ceiling", "db": cli.db.name(), "concurrency": cli.concurrency,
                "synchronous": cli.synchronous, "tps": tps.round(),
                "cpu_us_per_tx": user + system, "user_us_per_tx": user, "system_us_per_tx": system,
            })
        };
        println!("{report}");
        return Ok(());
    }
    println!("{}", bench::run(&cli).await?);
    Ok(())
}
