//! Storage on sqlx's `Any` driver: one set of queries (`$N` placeholders, which both
//! SQLite and PostgreSQL accept), SQLite by default, PostgreSQL when several instances
//! share a database. Times are Unix milliseconds; money is integer fen.

mod error;
mod event_delivery;
mod events;
mod hot;
mod order_checks;
mod order_insert;
mod order_lists;
mod orders;
mod payments;
mod products;
mod reconciliation;
mod refund_checks;
mod refund_holds;
mod refunds;
mod shipping;
mod shipping_owed;
mod tokens;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use secrecy::ExposeSecret;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Executor, Row};
use tokio::sync::OwnedMutexGuard;

pub use error::StoreError;
pub use event_delivery::{Attempt, AttemptRow, EventFilter, NextStep};
pub(crate) use events::new_event;
pub use events::{EventOrder, EventPolicy, EventRow, EventType};
pub use order_lists::{DISPLAY_STATUSES, OrderCounts, OrderFilter};
pub use orders::{InsertOutcome, KeyScope, NewOrder, OrderItem, OrderRow, OrderStatus};
pub use payments::{Refusal, SettleOutcome, Settlement};
pub use reconciliation::{Finding, RETRY_RESOLUTION, StoredBill, SucceededRefund};
pub use refunds::{HoldOutcome, NewRefund, RefundChange, RefundResult, RefundRow, RefundState};
pub use shipping::{NewPush, SHIPPING_STATUSES, ShippingChange};

/// The hot statements as the store runs them, for the load driver's plans and ceiling.
pub mod sql {
    pub use crate::store::events::INSERT_OUTBOX;
    pub use crate::store::order_checks::claim_due_statement;
    pub use crate::store::payments::{INSERT_EVENT, PAY, pay_statement};
}
pub use products::Product;
pub use users::SessionUser;

use crate::config::DatabaseSettings;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A statement with its bound values, before it runs.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// SQLite has one writer at a time. Writers take this turn (after their connection,
    /// so a turn is never held while waiting for one) and queue for it in order, instead
    /// of polling the database lock in SQLite's busy handler, whose growing sleeps (up to
    /// 100 ms each) made the latency tail (measured: BENCHMARKS.md). Unused on PostgreSQL.
    write_turn: Arc<tokio::sync::Mutex<()>>,
    backend: Backend,
    /// PostgreSQL connections handed back without sqlx's ping (`hot.rs`).
    hot: Arc<hot::HotConnections>,
    /// The active products, priced from memory (`products.rs`).
    catalog: Arc<products::CatalogCache>,
    /// Whether changes write events, and whether they are owed to a webhook endpoint.
    events: EventPolicy,
    /// Rung after a change with an owed event commits (`events.rs`).
    event_wake: Arc<tokio::sync::Notify>,
}

/// A pooled connection that may write: on SQLite it holds the write turn until dropped.
pub(crate) struct WriteConn {
    conn: PoolConnection<Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteConn {
    pub(crate) async fn begin(&mut self) -> Result<sqlx::Transaction<'_, Any>, sqlx::Error> {
        sqlx::Connection::begin(&mut *self.conn).await
    }
}

impl std::ops::Deref for WriteConn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Store {
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let url = settings.url.expose_secret();
        let (backend, url) = if url.starts_with("sqlite:") {
            // Create the file on first run.
            let url = if url.contains("mode=") {
                url.to_owned()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (Backend::Postgres, url.to_owned())
        } else {
            return Err(StoreError::UnknownBackend);
        };
        // WAL: readers never block the writer; busy_timeout: writers queue instead of
        // failing; synchronous: see DatabaseSettings.
        let pragmas: &'static str = match settings.sqlite_synchronous.to_ascii_uppercase().as_str()
        {
            "FULL" => {
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                       PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
            }
            "NORMAL" => {
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;"
            }
            _ => return Err(StoreError::BadSynchronous),
        };
        // Statement logging would print bound values; keep it off.
        let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let max_connections = settings.max_connections.max(1);
        // Most connections serve the hot statements; the pool keeps a quarter, at least two,
        // for the rest (logins, the reconciler, refunds, the admin API). Measured: with half
        // each, order creation at 16 clients fell back to the pool's pinging connections
        // often enough to cost ~25% more CPU per order (BENCHMARKS.md).
        let hot_connections = match backend {
            Backend::Postgres => max_connections.saturating_sub((max_connections / 4).max(2)),
            Backend::Sqlite => 0,
        };
        let hot = Arc::new(hot::HotConnections::new(
            options.clone(),
            usize::try_from(hot_connections).unwrap_or(0),
        ));
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections - hot_connections)
            .acquire_timeout(Duration::from_secs(5))
            // A broken connection fails its query and is dropped anyway; a ping before
            // every acquire would add a round trip to each of them (BENCHMARKS.md).
            .test_before_acquire(false)
            // Except after a lost connection, for one idle since (store/hot.rs).
            .before_acquire(hot::pool_check(Arc::clone(&hot)))
            .after_connect(move |conn, _| {
                async move {
                    if backend == Backend::Sqlite {
                        conn.execute(pragmas).await?;
                    }
                    Ok(())
                }
                .boxed()
            })
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            write_turn: Arc::default(),
            backend,
            hot,
            catalog: Arc::default(),
            events: EventPolicy::default(),
            event_wake: Arc::default(),
        })
    }

    /// The store, writing events as `policy` says (set once, at start-up).
    pub fn with_event_policy(mut self, policy: EventPolicy) -> Store {
        self.events = policy;
        self
    }

    /// A connection for writing (see `write_turn`).
    pub(crate) async fn write_conn(&self) -> Result<WriteConn, sqlx::Error> {
        let conn = self.pool.acquire().await?;
        let turn = match self.backend {
            Backend::Sqlite => Some(Arc::clone(&self.write_turn).lock_owned().await),
            Backend::Postgres => None,
        };
        Ok(WriteConn { conn, _turn: turn })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// How many of this build's migrations the database has not applied (all of them
    /// when it has none yet).
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let applied: Vec<i64> =
            match sqlx::query("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
            {
                Ok(rows) => rows
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<Result<_, _>>()?,
                // No table: nothing applied yet.
                Err(sqlx::Error::Database(_)) => Vec::new(),
                Err(error) => return Err(error.into()),
            };
        Ok(migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .count())
    }

    /// Deletes expired sessions and idempotency keys created before `keys_before`.
    /// Returns how many rows went.
    pub async fn housekeeping(&self, now: i64, keys_before: i64) -> Result<u64, StoreError> {
        let mut conn = self.write_conn().await?;
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        let mut keys = 0;
        for table in ["idempotency_keys", "merchant_idempotency_keys"] {
            keys += sqlx::query(&format!("DELETE FROM {table} WHERE created_at < $1"))
                .bind(keys_before)
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
        Ok(sessions + keys)
    }

    /// A fact about this database (`wxpay_meta`), e.g. who created it.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM wxpay_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO wxpay_meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
