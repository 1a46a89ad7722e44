//! Connections for the hot statements (a notify's payment, an order's insert and prepay,
//! session and order reads), kept beside sqlx's pool on PostgreSQL.
//!
//! sqlx 0.8 pings every connection it takes back into its pool (`return_to_pool`: a Sync
//! and its ReadyForQuery, a round trip to PostgreSQL, unconditional): 16% of a notify's
//! server CPU in the profile (BENCHMARKS.md). These connections are handed back without
//! it. That is safe because sqlx-postgres begins every statement by flushing what an
//! earlier one left in its buffer and reading the replies it is still owed
//! (`wait_until_ready`), which is all the ping does besides noticing a dead socket; a
//! dead one shows as its statement's error here, and a connection is handed back only
//! after a statement that succeeded or that PostgreSQL refused with an ERROR (a
//! constraint, a serialization failure: the session goes on). Anything else closes it: a
//! FATAL or PANIC (the backend is gone: 57P01 when an administrator terminated it, a
//! shutdown, a crash), a connection-exception or operator-intervention code (08, 57P),
//! an I/O or protocol error, a request cancelled mid-statement, a caller that never said
//! how it went.
//!
//! A lost connection rarely goes alone (a restart, a failover, `pg_terminate_backend` of
//! a role's sessions), so it also closes every idle hot connection, and marks the time:
//! the pool pings a connection idle since before it before using it
//! (`idle_since_a_loss`; one used since then was checked by sqlx's ping on release). A
//! read that met a lost connection runs again on a new one (it changes nothing); a write
//! does not (it may have committed before the backend died): its error goes to the
//! caller, who retries as for any failed write.
//!
//! They are three quarters of `database.max_connections` (the pool keeps the rest, at
//! least two), made on first use, each kept for the worker thread that made it; when all
//! are busy a statement waits for one, in order (falling back to the pool's pinging
//! connections measured a worse latency tail). SQLite is in-process (its "ping" costs
//! nothing): there the pool serves, with the write turn for writes.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyRow};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgDatabaseError, PgSeverity};
use sqlx::{Any, AnyConnection, Connection};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::{AnyQuery, Backend, Store, WriteConn};

/// How long a statement waits for a hot connection (as the pool's acquire timeout).
const WAIT: Duration = Duration::from_secs(5);

/// The idle hot connections, how many exist, and the turns to use one.
#[derive(Debug)]
pub(crate) struct HotConnections {
    options: AnyConnectOptions,
    /// By the thread whose event loop the connection's socket lives on: actix runs one
    /// single-threaded runtime per worker, and a socket used from another worker is woken
    /// only when its own worker polls for I/O.
    idle: Mutex<Vec<(ThreadId, AnyConnection)>>,
    /// Idle or in use.
    open: AtomicUsize,
    /// One per connection there may be; a statement holds one while it uses a connection.
    turns: Arc<Semaphore>,
    max: usize,
    /// When this set was made: the origin of `lost_at`.
    born: Instant,
    /// Microseconds after `born` of the last lost connection (0: none yet).
    lost_at: AtomicU64,
}

/// What a statement's result says of its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    /// It succeeded, or PostgreSQL refused it with an ERROR: the session goes on.
    Sound,
    /// Its state is unknown (a client-side error mid-reply): closed, alone.
    Unknown,
    /// The backend or the socket is gone: closed, with every idle one.
    Lost,
}

fn health<T>(result: &Result<T, sqlx::Error>) -> Health {
    match result {
        Ok(_) => Health::Sound,
        Err(sqlx::Error::Database(error)) => match error.try_downcast_ref::<PgDatabaseError>() {
            Some(pg)
                if matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic)
                    || pg.code().starts_with("08")
                    || pg.code().starts_with("57P") =>
            {
                Health::Lost
            }
            Some(_) => Health::Sound,
            // Not PostgreSQL's own error: nothing says the session survived.
            None => Health::Unknown,
        },
        Err(sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::Tls(_)) => Health::Lost,
        Err(_) => Health::Unknown,
    }
}

impl HotConnections {
    pub(crate) fn new(options: AnyConnectOptions, max: usize) -> HotConnections {
        HotConnections {
            options,
            idle: Mutex::new(Vec::new()),
            open: AtomicUsize::new(0),
            turns: Arc::new(Semaphore::new(max)),
            max,
            born: Instant::now(),
            lost_at: AtomicU64::new(0),
        }
    }

    fn micros_since_born(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.born).as_micros()).unwrap_or(u64::MAX)
    }

    /// A connection was lost: closes the idle ones (most likely dead too) and marks when.
    fn lost(&self) {
        let now = self.micros_since_born(Instant::now()).max(1);
        self.lost_at.fetch_max(now, Ordering::AcqRel);
        let idle = std::mem::take(&mut *self.idle());
        for (_, conn) in idle {
            self.discard(conn);
        }
    }

    /// Whether a connection idle for `idle_for` has been idle since before the last lost
    /// one (and so may be dead with it).
    fn idle_since_a_loss(&self, idle_for: Duration) -> bool {
        let lost_at = self.lost_at.load(Ordering::Acquire);
        let since = Instant::now().checked_sub(idle_for).unwrap_or(self.born);
        lost_at != 0 && self.micros_since_born(since) < lost_at
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(ThreadId, AnyConnection)>> {
        // A panic while the lock was held left the list itself intact.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A turn and a connection: this thread's idle one, else a new one while fewer than
    /// `max` exist, else another thread's idle one (one is idle: this turn is free).
    async fn take(&self) -> Result<(OwnedSemaphorePermit, AnyConnection), sqlx::Error> {
        let turn = tokio::time::timeout(WAIT, Arc::clone(&self.turns).acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let here = std::thread::current().id();
        let mine = {
            let mut idle = self.idle();
            let at = idle.iter().rposition(|(thread, _)| *thread == here);
            at.map(|i| idle.swap_remove(i).1)
        };
        if let Some(conn) = mine {
            return Ok((turn, conn));
        }
        let room = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        if !room && let Some((_, conn)) = self.idle().pop() {
            return Ok((turn, conn));
        }
        if !room {
            // Not reached (a free turn means an idle connection); counted if it were.
            self.open.fetch_add(1, Ordering::AcqRel);
        }
        match AnyConnection::connect_with(&self.options).await {
            Ok(conn) => Ok((turn, conn)),
            Err(error) => {
                self.open.fetch_sub(1, Ordering::AcqRel);
                Err(error)
            }
        }
    }

    fn give_back(&self, conn: AnyConnection) {
        self.idle().push((std::thread::current().id(), conn));
    }

    /// Closes it (without a goodbye: its state is unknown).
    fn discard(&self, conn: AnyConnection) {
        drop(conn);
        self.open.fetch_sub(1, Ordering::AcqRel);
    }
}

enum Inner<'s> {
    Hot {
        conn: Option<AnyConnection>,
        home: &'s HotConnections,
        /// Given back after the connection (dropped with the guard, after `drop` ran).
        _turn: OwnedSemaphorePermit,
    },
    Pooled(PoolConnection<Any>),
}

/// A connection for a hot statement: use it, then [`HotConn::finish`] with the result.
pub(crate) struct HotConn<'s> {
    inner: Inner<'s>,
    /// SQLite writers' turn (see `Store::write_turn`).
    _turn: Option<OwnedMutexGuard<()>>,
}

impl HotConn<'_> {
    /// Hands the connection back when `result` says it is sound (success, or an ERROR
    /// PostgreSQL sent: a constraint, a serialization failure), else closes it (and on a
    /// lost one, every idle one); returns `result`.
    pub(crate) fn finish<T>(self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        self.finish_telling(result).0
    }

    /// As [`Self::finish`], and whether the connection was lost.
    fn finish_telling<T>(
        mut self,
        result: Result<T, sqlx::Error>,
    ) -> (Result<T, sqlx::Error>, bool) {
        let health = health(&result);
        if let Inner::Hot { conn, home, .. } = &mut self.inner
            && let Some(conn) = conn.take()
        {
            match health {
                Health::Sound => home.give_back(conn),
                Health::Unknown => home.discard(conn),
                Health::Lost => {
                    home.discard(conn);
                    home.lost();
                }
            }
        }
        (result, health == Health::Lost)
    }
}

impl Drop for HotConn<'_> {
    /// Not finished (cancelled mid-statement, or an early return): closed.
    fn drop(&mut self) {
        if let Inner::Hot { conn, home, .. } = &mut self.inner
            && let Some(conn) = conn.take()
        {
            home.discard(conn);
        }
    }
}

impl Deref for HotConn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.inner {
            // Taken out only by `finish` and `drop`, which consume or end the guard.
            Inner::Hot { conn, .. } => conn.as_ref().unwrap_or_else(|| unreachable!()),
            Inner::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for HotConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            Inner::Hot { conn, .. } => conn.as_mut().unwrap_or_else(|| unreachable!()),
            Inner::Pooled(conn) => conn,
        }
    }
}

/// The pool's check before it hands out a connection: one idle since a lost connection
/// is pinged (dropped if dead), any other goes as it is (see the module's comment).
pub(crate) fn pool_check(
    hot: Arc<HotConnections>,
) -> impl for<'c> Fn(
    &'c mut AnyConnection,
    sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'c, Result<bool, sqlx::Error>>
+ Send
+ Sync
+ 'static {
    move |conn, meta| {
        let suspect = hot.idle_since_a_loss(meta.idle_for);
        Box::pin(async move { Ok(!suspect || conn.ping().await.is_ok()) })
    }
}

impl Store {
    /// How many hot connections are open, idle or in use (0 on SQLite).
    pub fn hot_connections(&self) -> usize {
        self.hot.open.load(Ordering::Acquire)
    }

    /// Runs one hot write that returns at most a row, handing its connection back as
    /// [`HotConn::finish`] decides.
    pub(crate) async fn hot_write_optional(
        &self,
        query: AnyQuery<'_>,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        let mut conn = self.hot_conn(true).await?;
        let row = query.fetch_optional(&mut *conn).await;
        conn.finish(row)
    }

    /// Runs one hot read (`query` makes the statement), once more on a new connection if
    /// the first was lost: a read changes nothing, so running it again is always safe.
    pub(crate) async fn hot_read<'q>(
        &self,
        query: impl Fn() -> AnyQuery<'q>,
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        let mut conn = self.hot_conn(false).await?;
        let rows = query().fetch_all(&mut *conn).await;
        match conn.finish_telling(rows) {
            (Err(_), true) => {
                let mut conn = self.hot_conn(false).await?;
                let rows = query().fetch_all(&mut *conn).await;
                conn.finish(rows)
            }
            (rows, _) => rows,
        }
    }

    /// [`Self::hot_read`] of a statement that finds at most one row (by a unique key).
    pub(crate) async fn hot_read_optional<'q>(
        &self,
        query: impl Fn() -> AnyQuery<'q>,
    ) -> Result<Option<AnyRow>, sqlx::Error> {
        Ok(self.hot_read(query).await?.into_iter().next())
    }

    /// A connection for a hot statement (`write`: it changes something, so on SQLite it
    /// takes the write turn).
    pub(crate) async fn hot_conn(&self, write: bool) -> Result<HotConn<'_>, sqlx::Error> {
        if self.backend == Backend::Postgres && self.hot.max > 0 {
            let (turn, conn) = self.hot.take().await?;
            return Ok(HotConn {
                inner: Inner::Hot {
                    conn: Some(conn),
                    home: &self.hot,
                    _turn: turn,
                },
                _turn: None,
            });
        }
        if write {
            // The pool's writer: on SQLite with the write turn.
            let WriteConn { conn, _turn } = self.write_conn().await?;
            return Ok(HotConn {
                inner: Inner::Pooled(conn),
                _turn,
            });
        }
        Ok(HotConn {
            inner: Inner::Pooled(self.pool.acquire().await?),
            _turn: None,
        })
    }
}
