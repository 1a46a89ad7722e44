//! What the database does on its own at the same concurrency: the honest ceiling of the
//! notify path. PostgreSQL: `pgbench -b simple-update`. SQLite: the notify's own
//! statements (guarded update + payment insert) in one sqlx transaction each, on a pool
//! the server's `Store::connect` made (its durability settings and schema), without the
//! server's write turn, HTTP, XML or signature.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sqlx::Executor;
use wxpay_server::config::DatabaseSettings;
use wxpay_server::store::{Backend as StoreBackend, Store, sql};

use crate::Db;
use crate::db::Backend;
use crate::proc::CpuTime;

/// `scale`: pgbench's size factor (10 = 1,000,000 accounts; 1 for a smoke run). On a
/// database of its own, made and dropped like the bench's.
pub(crate) async fn pgbench(
    admin_url: &str,
    scale: u32,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<f64> {
    let (database, url) = Backend::create(Db::Postgres, admin_url).await?;
    let tps = run_pgbench(&url, scale, clients, seconds);
    database.drop_it().await;
    tps
}

fn run_pgbench(url: &str, scale: u32, clients: usize, seconds: u64) -> anyhow::Result<f64> {
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", &scale.to_string(), url])
        .output()?;
    anyhow::ensure!(
        init.status.success(),
        "pgbench -i failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let run = Command::new("pgbench")
        .args([
            "-b",
            "simple-update",
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &seconds.to_string(),
            url,
        ])
        .output()?;
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no tps in pgbench output: {text}"))
}

/// The rate, and this process's CPU per transaction (user, system) in microseconds: all
/// of it is sqlx and SQLite, which run in-process.
pub(crate) async fn sqlite(
    synchronous: &str,
    clients: usize,
    seconds: u64,
) -> anyhow::Result<(f64, (f64, f64))> {
    let (database, url) = Backend::create(Db::Sqlite, "").await?;
    // The server's own connection settings (WAL, synchronous, busy timeout) and schema.
    let store = Store::connect(&DatabaseSettings {
        url: SecretString::from(url),
        max_connections: 8,
        sqlite_synchronous: synchronous.to_owned(),
    })
    .await?;
    store.migrate().await?;
    let pool = store.pool().clone();
    let now = crate::db::wxpay_now();
    pool.execute(format!("INSERT INTO users (openid, session_key, created_at, updated_at) VALUES ('o', 'k', {now}, {now})").as_str()).await?;
    // More orders than the run can pay, each paid once.
    let orders = 5_000 * usize::try_from(seconds).unwrap_or(60) + 1_000;
    crate::db::bulk_orders(
        &pool,
        &crate::db::Bulk {
            user_id: 1,
            openid: "o",
            prefix: "9",
            count: orders,
            status: "awaiting_payment",
            amount_fen: 2800,
            sign_type: "HMAC-SHA256",
        },
    )
    .await?;
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = CpuTime::of("self");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (pool, next) = (pool.clone(), Arc::clone(&next));
        let pay = sql::pay_statement(StoreBackend::Sqlite);
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let order_no = format!("9{i:018}");
                // The notify path's own statements on SQLite: one transaction, the
                // guarded update and the payment record.
                let Ok(mut tx) = pool.begin().await else {
                    continue;
                };
                let tx_id = format!("42{order_no}");
                let moved = sqlx::query(&pay)
                    .bind(&tx_id)
                    .bind(now)
                    .bind("20261127120000")
                    .bind(&order_no)
                    .bind(2800_i64)
                    .bind(crate::merchant::APPID)
                    .bind(crate::merchant::MCH_ID)
                    .bind("notify")
                    .bind("{}")
                    .bind("HMAC-SHA256")
                    .bind(0_i64)
                    .fetch_optional(&mut *tx)
                    .await;
                let inserted = sqlx::query(sql::INSERT_EVENT)
                    .bind(&tx_id)
                    .bind(&order_no)
                    .bind(2800_i64)
                    .bind("notify")
                    .bind("{}")
                    .bind(now)
                    .bind("payment")
                    .execute(&mut *tx)
                    .await;
                if moved.is_ok_and(|m| m.is_some()) && inserted.is_ok() && tx.commit().await.is_ok()
                {
                    done += 1;
                }
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap_or(0);
    }
    let tps = total as f64 / started.elapsed().as_secs_f64();
    let (user, system) = CpuTime::of("self").us_per(&cpu_before, total);
    pool.close().await;
    database.drop_it().await;
    Ok((tps, (user, system)))
}
