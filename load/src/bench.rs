//! One measured run: a simulator, a fresh database (optionally pre-loaded), a real
//! `wxpay serve` process, then one scenario against it; the report is one JSON line.

use std::sync::Arc;
use std::time::Duration;

use crate::merchant::{API_KEY, APPID, MCH_ID};
use serde_json::{Value, json};
use sqlx::{AnyPool, Row};
use wxpay_core::v2::SignType;
use wxpay_core::v2::testing::PayNotifyBuilder;
use wxpay_core::v3::testing as v3_testing;
use wxpay_core::{ApiKey, Fen};

use crate::proc::{CpuTime, Memory};
use crate::scenario::{
    Notifies, NotifyRequest, Orders, Outcome, Scenario, Status, closed_loop, open_loop,
};
use crate::server::Server;
use crate::users::{User, login};
use crate::{Api, Cli, Db, Kind, db};

const PRICE_FEN: i64 = 2800;

/// Everything a run needs, torn down by `finish` whatever the outcome.
struct Stage {
    sim: wxpay_sim::RunningSim,
    backend: db::Backend,
    server: Server,
    pool: AnyPool,
    http: reqwest::Client,
    owner: User,
    catalog_dir: std::path::PathBuf,
}

pub(crate) async fn run(cli: &Cli) -> anyhow::Result<String> {
    let stage = set_up(cli).await?;
    let result = measure(cli, &stage).await;
    stage.finish().await;
    result
}

async fn set_up(cli: &Cli) -> anyhow::Result<Stage> {
    let sim = wxpay_sim::spawn(&crate::merchant::sim_config()).await?;
    let (backend, url) = db::Backend::create(cli.db, &cli.pg_admin).await?;
    let catalog_dir = std::env::temp_dir().join(format!("wxpay-load-cat-{}", std::process::id()));
    std::fs::create_dir_all(&catalog_dir)?;
    let catalog = catalog_dir.join("catalog.toml");
    std::fs::write(
        &catalog,
        format!("[[products]]\nsku = \"latte\"\nname = \"Latte\"\nprice_fen = {PRICE_FEN}\n"),
    )?;
    let server = Server::start(
        &cli.binary,
        &url,
        &sim.base_url,
        &catalog.display().to_string(),
        &cli.log,
        cli.api,
        cli.merchants,
    )?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1024)
        .build()?;
    server.wait_ready(&http).await?;
    // One logged-in user owns the pre-loaded and the scenario's orders.
    let owner = login(&http, &sim.base_url, &server.api, APPID).await?;
    let pool = db::connect(&url).await?;
    Ok(Stage {
        sim,
        backend,
        server,
        pool,
        http,
        owner,
        catalog_dir,
    })
}

impl Stage {
    async fn finish(self) {
        self.pool.close().await;
        drop(self.server);
        self.sim.stop().await;
        self.backend.drop_it().await;
        let _ = std::fs::remove_dir_all(self.catalog_dir);
    }

    async fn owner_id(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query("SELECT id FROM users WHERE openid = $1")
            .bind(&self.owner.openid)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }
}

/// What the bulk-loaded orders record as their sign type (their API with it).
fn sign_type(cli: &Cli) -> &'static str {
    match cli.api {
        Api::V2 => "HMAC-SHA256",
        Api::V3 => "RSA",
    }
}

async fn measure(cli: &Cli, stage: &Stage) -> anyhow::Result<String> {
    let owner_id = stage.owner_id().await?;
    let openid = &stage.owner.openid;
    if cli.preload > 0 {
        // Paid orders under prefix 1: the history a busy shop accumulates.
        let took = db::bulk_orders(
            &stage.pool,
            &db::Bulk {
                user_id: owner_id,
                openid,
                prefix: "1",
                count: cli.preload,
                status: "paid",
                amount_fen: PRICE_FEN,
                sign_type: sign_type(cli),
            },
        )
        .await?;
        eprintln!(
            "pre-loaded {} orders in {:.1} s",
            cli.preload,
            took.as_secs_f64()
        );
    }
    if cli.kind == Kind::Plans {
        // Open orders for the reconciler to find, among however many paid ones.
        db::bulk_orders(
            &stage.pool,
            &db::Bulk {
                user_id: owner_id,
                openid,
                prefix: "3",
                count: 1_000,
                status: "awaiting_payment",
                amount_fen: PRICE_FEN,
                sign_type: sign_type(cli),
            },
        )
        .await?;
        settle_after_bulk_load(cli, stage).await?;
        return db::plans(&stage.pool, cli.db == Db::Postgres, "1000000000000000005").await;
    }
    // The scenario's own orders, under prefix 2: awaiting payment for notifies (one per
    // request, each paid once), paid for status reads.
    let scenario_orders = match (cli.kind, cli.rate) {
        (Kind::Notify, Some(rate)) => (rate * cli.seconds as f64) as usize + 100,
        (Kind::Notify, None) => 8_000 * usize::try_from(cli.seconds).unwrap_or(60),
        (Kind::Status, _) => 1_000,
        _ => 0,
    };
    if scenario_orders > 0 {
        let status = if cli.kind == Kind::Notify {
            "awaiting_payment"
        } else {
            "paid"
        };
        db::bulk_orders(
            &stage.pool,
            &db::Bulk {
                user_id: owner_id,
                openid,
                prefix: "2",
                count: scenario_orders,
                status,
                amount_fen: PRICE_FEN,
                sign_type: sign_type(cli),
            },
        )
        .await?;
    }
    settle_after_bulk_load(cli, stage).await?;
    // Beside v3 order creation's CPU per order: the bare cost of its two RSA signatures
    // (the prepay's Authorization and the paySign), measured here, just before the run.
    let sign_us = if cli.kind == Kind::Orders && cli.api == Api::V3 {
        Some(bare_rsa_sign_us()?)
    } else {
        None
    };
    let (outcome, idle, before) = match cli.kind {
        Kind::Notify => measured(cli, stage, notifies(cli, stage, scenario_orders)?).await,
        Kind::Status => measured(cli, stage, status_reads(stage, scenario_orders)).await,
        Kind::Orders => measured(cli, stage, order_creation(cli, stage).await?).await,
        Kind::Ceiling | Kind::Plans => anyhow::bail!("not a server scenario"),
    };
    let (user_us, system_us) = stage.server.cpu().us_per(&before, outcome.requests);
    let peak = stage.server.memory();
    let paid_by_run = if cli.kind == Kind::Notify {
        paid_exactly_once(&stage.pool).await?
    } else {
        0
    };
    let mut report = report(cli, &outcome, paid_by_run, (user_us, system_us), idle, peak);
    if let Some(sign_us) = sign_us {
        if let Some(fields) = report.as_object_mut() {
            fields.insert(
                "bare_rsa_sign_us".into(),
                json!((sign_us * 10.0).round() / 10.0),
            );
            fields.insert(
                "two_rsa_signs_share_of_cpu".into(),
                json!(((2.0 * sign_us) / (user_us + system_us) * 100.0).round() / 100.0),
            );
        }
    }
    Ok(report.to_string())
}

/// After the bulk load, the database as it would be had it grown over time: PostgreSQL
/// with the planner statistics autovacuum keeps (a fresh bulk load has none, and the
/// planner would take the empty-looking partial index of open orders for the notify's
/// update) and the load's dirty pages checkpointed; SQLite with its WAL checkpointed
/// (SQLite plans without statistics, as the server runs it: no ANALYZE).
async fn settle_after_bulk_load(cli: &Cli, stage: &Stage) -> anyhow::Result<()> {
    let statements = if cli.db == Db::Postgres {
        "VACUUM ANALYZE; CHECKPOINT"
    } else {
        "PRAGMA wal_checkpoint(TRUNCATE)"
    };
    for statement in statements.split("; ") {
        sqlx::raw_sql(statement).execute(&stage.pool).await?;
    }
    Ok(())
}

/// Drives a ready scenario, with the server's idle memory and CPU time read just before:
/// building the scenario (the order run's logins, the signed notify bodies) is not part
/// of the CPU per request.
async fn measured<S: Scenario>(
    cli: &Cli,
    stage: &Stage,
    scenario: S,
) -> (Outcome, Memory, CpuTime) {
    let idle = stage.server.memory();
    let before = stage.server.cpu();
    (drive(cli, scenario).await, idle, before)
}

async fn drive<S: Scenario>(cli: &Cli, scenario: S) -> Outcome {
    let (scenario, duration) = (Arc::new(scenario), Duration::from_secs(cli.seconds));
    match cli.rate {
        Some(rate) => open_loop(scenario, rate, duration).await,
        None => closed_loop(scenario, cli.concurrency, duration).await,
    }
}

fn notifies(cli: &Cli, stage: &Stage, count: usize) -> anyhow::Result<Notifies> {
    let url = match cli.api {
        Api::V2 => format!("{}{}", stage.server.api, wxpay_server::NOTIFY_PATH),
        Api::V3 => format!("{}{}", stage.server.api, wxpay_server::NOTIFY_PATH_V3),
    };
    let requests = match cli.api {
        Api::V2 => {
            let key = ApiKey::new(API_KEY)?;
            (0..count)
                .map(|n| NotifyRequest {
                    body: PayNotifyBuilder::new(
                        APPID,
                        MCH_ID,
                        &format!("2{n:018}"),
                        Fen::new(PRICE_FEN),
                    )
                    .sign_type(SignType::HmacSha256, false)
                    .field("transaction_id", &format!("4200{n:024}"))
                    .build_xml(&key),
                    headers: Vec::new(),
                })
                .collect()
        }
        Api::V3 => v3_notifies(count)?,
    };
    Ok(Notifies {
        http: stage.http.clone(),
        url,
        requests,
        v3: cli.api == Api::V3,
    })
}

/// Genuine v3 notifies (encrypted, RSA-signed by WeChat's key), made on every core:
/// ~0.4 ms of signing each.
fn v3_notifies(count: usize) -> anyhow::Result<Vec<NotifyRequest>> {
    let keys = crate::merchant::v3_keys()?;
    let wechat = crate::merchant::wechat_key()?;
    let serial = keys.public_key_id.clone().unwrap_or_default();
    let now = crate::db::wxpay_now() / 1000;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(threads).max(1);
    let make = |n: usize| -> anyhow::Result<NotifyRequest> {
        let payment = v3_testing::payment(
            APPID,
            MCH_ID,
            &format!("2{n:018}"),
            &format!("4200{n:024}"),
            Fen::new(PRICE_FEN),
        );
        let signed = v3_testing::notify(
            &payment,
            keys.apiv3_key.as_bytes(),
            &wechat.signer,
            &serial,
            now,
        )?;
        Ok(NotifyRequest {
            body: signed.body,
            headers: signed.headers,
        })
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                scope.spawn(move || {
                    (start..(start + chunk).min(count))
                        .map(make)
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(count);
        for worker in workers {
            all.extend(
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a signing thread panicked"))??,
            );
        }
        Ok(all)
    })
}

/// The bare cost of one RSA-2048 signature with the merchant's key (aws-lc-rs, as the
/// server signs), in µs: the median of 5 rounds of 100.
fn bare_rsa_sign_us() -> anyhow::Result<f64> {
    let keys = crate::merchant::v3_keys()?;
    let pem = keys.merchant_private_key_pem.unwrap_or_default();
    let key = wxpay_core::v3::RsaPrivateKey::from_pem(&pem)?;
    let message = b"POST\n/v3/pay/transactions/jsapi\n1796000000\nnonce\n{}\n";
    let mut rounds: Vec<f64> = (0..5)
        .map(|_| {
            let started = std::time::Instant::now();
            for _ in 0..100 {
                let _ = key.sign_sha256(message);
            }
            started.elapsed().as_secs_f64() * 1e6 / 100.0
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    Ok(rounds.get(2).copied().unwrap_or_default())
}

fn status_reads(stage: &Stage, count: usize) -> Status {
    let api = &stage.server.api;
    Status {
        http: stage.http.clone(),
        token: stage.owner.token.clone(),
        urls: (0..count)
            .map(|n| format!("{api}/v1/orders/2{n:018}"))
            .collect(),
    }
}

/// Order creation: each virtual user logs in once, then orders (with unifiedorder at
/// the simulator).
async fn order_creation(cli: &Cli, stage: &Stage) -> anyhow::Result<Orders> {
    let mut tokens = Vec::new();
    for _ in 0..cli.concurrency.max(1) {
        let user = login(&stage.http, &stage.sim.base_url, &stage.server.api, APPID).await?;
        tokens.push(user.token);
    }
    Ok(Orders {
        http: stage.http.clone(),
        api: stage.server.api.clone(),
        tokens,
    })
}

/// What the replies claimed, checked in the database: scenario orders that are paid and
/// carry exactly their one payment event.
async fn paid_exactly_once(pool: &AnyPool) -> anyhow::Result<i64> {
    Ok(sqlx::query(
        "SELECT COUNT(*) FROM orders o JOIN payment_events e \
           ON e.transaction_id = o.transaction_id AND e.order_no = o.order_no \
         WHERE o.order_no LIKE '2%' AND o.status = 'paid'",
    )
    .fetch_one(pool)
    .await?
    .try_get(0)?)
}

fn report(
    cli: &Cli,
    outcome: &Outcome,
    paid_by_run: i64,
    (user_us, system_us): (f64, f64),
    idle: Memory,
    peak: Memory,
) -> Value {
    let ms = |q: f64| (outcome.ms(q) * 100.0).round() / 100.0;
    json!({
        "kind": format!("{:?}", cli.kind).to_lowercase(),
        "api": cli.api.name(),
        "db": cli.db.name(),
        "mode": cli.rate.map_or_else(
            || format!("closed {}", cli.concurrency),
            |r| format!("open {r}/s"),
        ),
        "preload": cli.preload,
        "log": cli.log,
        "requests": outcome.requests,
        "errors": outcome.errors,
        "orders_paid_by_run": paid_by_run,
        "throughput": outcome.throughput().round(),
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
        "server_cpu_us_per_request": user_us + system_us,
        "server_user_us_per_request": user_us,
        "server_system_us_per_request": system_us,
        "server_rss_idle_mib": (idle.rss_kib as f64 / 1024.0 * 10.0).round() / 10.0,
        "server_rss_peak_mib": (peak.peak_rss_kib as f64 / 1024.0 * 10.0).round() / 10.0,
    })
}
