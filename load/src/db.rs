//! The database side: a fresh database per run, a bulk pre-load that bypasses HTTP, the
//! query plans, and the ceiling each backend reaches on its own.

use std::time::{Duration, Instant};

use sqlx::{AnyPool, Connection, Executor, Row};

use wxpay_server::store::{Backend as StoreBackend, sql};

use crate::Db;

pub(crate) enum Backend {
    Sqlite { dir: std::path::PathBuf },
    Postgres { admin: String, name: String },
}

impl Backend {
    pub(crate) async fn create(kind: Db, pg_admin: &str) -> anyhow::Result<(Backend, String)> {
        sqlx::any::install_default_drivers();
        let tag = std::process::id();
        if kind == Db::Sqlite {
            let dir = std::env::temp_dir().join(format!("wxpay-load-{tag}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}", dir.join("load.sqlite").display());
            Ok((Backend::Sqlite { dir }, url))
        } else {
            let name = format!("wxpay_load_{tag}");
            let mut admin = sqlx::PgConnection::connect(pg_admin).await?;
            admin
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                .await?;
            admin
                .execute(format!("CREATE DATABASE \"{name}\"").as_str())
                .await?;
            let base = pg_admin.rsplit_once('/').map_or(pg_admin, |(b, _)| b);
            Ok((
                Backend::Postgres {
                    admin: pg_admin.to_owned(),
                    name: name.clone(),
                },
                format!("{base}/{name}"),
            ))
        }
    }

    pub(crate) async fn drop_it(self) {
        match self {
            Backend::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Backend::Postgres { admin, name } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin).await {
                    let _ = admin
                        .execute(
                            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str(),
                        )
                        .await;
                }
            }
        }
    }
}

pub(crate) async fn connect(url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_owned()
    };
    Ok(sqlx::any::AnyPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await?)
}

/// Inserts `count` orders for `user_id` in multi-row statements, `status` as given, with
/// order numbers `prefix` + a counter. Returns the time it took.
/// Orders to load in bulk: `count` of them numbered `{prefix}{n:018}`, owned by one user.
pub(crate) struct Bulk<'a> {
    pub user_id: i64,
    pub openid: &'a str,
    pub prefix: &'a str,
    pub count: usize,
    pub status: &'a str,
    pub amount_fen: i64,
    /// Their API with it: `HMAC-SHA256` (v2) or `RSA` (v3).
    pub sign_type: &'a str,
}

pub(crate) async fn bulk_orders(pool: &AnyPool, bulk: &Bulk<'_>) -> anyhow::Result<Duration> {
    let Bulk {
        user_id,
        openid,
        prefix,
        count,
        status,
        amount_fen,
        sign_type,
    } = *bulk;
    let started = Instant::now();
    let now = wxpay_now();
    const ROWS: usize = 500;
    let mut done = 0;
    while done < count {
        let rows = ROWS.min(count - done);
        let mut tx = pool.begin().await?;
        let mut sql = String::from(
            "INSERT INTO orders (order_no, user_id, openid, amount_fen, description, status, sign_type, \
             appid, mch_id, created_at, updated_at, expires_at, last_checked_at, transaction_id, paid_at, \
             next_check_at) VALUES ",
        );
        for i in 0..rows {
            let n = done + i;
            let order_no = format!("{prefix}{n:018}");
            // Paid orders are off the reconciler's work list; open ones are on it.
            let (tx_id, paid, next_check) = if status == "paid" {
                (
                    format!("'42{order_no}'"),
                    now.to_string(),
                    "NULL".to_owned(),
                )
            } else {
                (
                    "NULL".to_owned(),
                    "NULL".to_owned(),
                    (now + 60_000).to_string(),
                )
            };
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('{order_no}', {user_id}, '{openid}', {amount_fen}, 'load', '{status}', '{sign_type}', \
                 '{}', '{}', {now}, {now}, {}, {now}, {tx_id}, {paid}, {next_check})",
                crate::merchant::APPID,
                crate::merchant::MCH_ID,
                now + 86_400_000,
            ));
        }
        tx.execute(sql.as_str()).await?;
        tx.commit().await?;
        done += rows;
    }
    Ok(started.elapsed())
}

pub(crate) fn wxpay_now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX)
}

/// `sql` with `$1`, `$2`, ... replaced by `values` (highest number first, so `$1` does
/// not eat the start of `$10`): the server's own statement text, explainable.
fn with_literals(sql: &str, values: &[&str]) -> String {
    let mut out = sql.to_owned();
    for (i, value) in values.iter().enumerate().rev() {
        out = out.replace(&format!("${}", i + 1), value);
    }
    out
}

/// The server's hot statements as it runs them (the store's own text), with literals
/// for the parameters.
fn hot_statements(postgres: bool, sample: &str) -> Vec<(&'static str, String)> {
    let backend = if postgres {
        StoreBackend::Postgres
    } else {
        StoreBackend::Sqlite
    };
    let order = format!("'{sample}'");
    let notify = with_literals(
        &sql::pay_statement(backend),
        &[
            "'x'", "1", "'x'", &order, "1", "'a'", "'m'", "'notify'", "'{}'", "'MD5'", "0",
        ],
    );
    vec![
        (
            "notify: the guarded transition (and payment record)",
            notify,
        ),
        (
            "status read: the session",
            "SELECT s.user_id, u.openid FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = 'x' AND s.expires_at > 1"
                .to_owned(),
        ),
        (
            "status read: the order",
            format!("SELECT * FROM orders WHERE order_no = '{sample}'"),
        ),
        (
            "status read: its lines",
            format!(
                "SELECT sku, name, unit_price_fen, quantity FROM order_items \
                 WHERE order_no = '{sample}' ORDER BY line"
            ),
        ),
        (
            "reconciler: claim a batch of due orders",
            with_literals(
                &sql::claim_due_statement(backend),
                &["1", "9000000000000000", "100"],
            ),
        ),
    ]
}

/// The plans of the hot statements, and the time of the reconciler's batch selection
/// (its work per pass), averaged over 200 runs.
pub(crate) async fn plans(pool: &AnyPool, postgres: bool, sample: &str) -> anyhow::Result<String> {
    let explain = if postgres {
        "EXPLAIN"
    } else {
        "EXPLAIN QUERY PLAN"
    };
    let mut out = String::new();
    for (name, sql) in hot_statements(postgres, sample) {
        out.push_str(&format!("-- {name}\n"));
        let rows = sqlx::raw_sql(&format!("{explain} {sql}"))
            .fetch_all(pool)
            .await?;
        for row in rows {
            // PostgreSQL: one text column; SQLite: (id, parent, notused, detail).
            let line: String = row.try_get(if postgres { 0 } else { 3 })?;
            out.push_str(&format!("   {line}\n"));
        }
    }
    let batch = "SELECT order_no FROM orders WHERE next_check_at IS NOT NULL \
                 AND next_check_at <= $1 ORDER BY next_check_at LIMIT 100";
    let runs = 200u32;
    let started = Instant::now();
    let mut claimed = 0;
    for _ in 0..runs {
        claimed = sqlx::query(batch)
            .bind(i64::MAX)
            .fetch_all(pool)
            .await?
            .len();
    }
    out.push_str(&format!(
        "-- reconciler batch selection: {claimed} orders in {:.0} us (mean of {runs})\n",
        started.elapsed().as_secs_f64() * 1e6 / f64::from(runs)
    ));
    Ok(out)
}
