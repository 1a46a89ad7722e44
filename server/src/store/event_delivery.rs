//! The outbox's delivery work list and the events API's reads: due events claimed in
//! batches (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so each event is with one instance
//! at a time, leased: a crashed instance's claims come back when the lease ends), each
//! attempt recorded with its outcome, and events listed by a cursor.

use sqlx::Row;

use super::events::{EVENT_SELECT, EventRow, EventType, event_row};
use super::order_checks::work_list_claim;
use super::{Backend, Store, StoreError};

/// How old an event is listed at the latest, whatever transactions are still open.
const SETTLED_AFTER_MS: i64 = 60_000;

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub event_id: &'a str,
    /// Its number since the event was last scheduled (1 = the first).
    pub attempt: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    pub status_code: Option<u16>,
    /// Why it failed, short and without secrets (a timeout, a refused connection).
    pub error: Option<&'a str>,
    /// The first bytes of the response body, for the operator.
    pub response_excerpt: Option<&'a str>,
    pub next: NextStep,
}

/// What happens to the event after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    /// Tried again at this time.
    RetryAt(i64),
    /// The retry schedule ran out.
    Failed,
}

/// A recorded attempt, for `GET /v1/admin/events/{id}`.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub attempt: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// Which events a puller lists.
#[derive(Debug, Clone)]
pub struct EventFilter {
    /// Only events after this one (the cursor: the last id seen).
    pub after_seq: Option<i64>,
    pub kind: Option<EventType>,
    /// One merchant's events only: those of its orders (a merchant's admin token).
    pub mch_id: Option<String>,
    pub limit: i64,
}

impl Store {
    /// Claims up to `limit` events due at `now`, leased until `lease_until`. Returns
    /// them ready to render (`attempts`: those made since the event was scheduled).
    pub async fn claim_due_events(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let statement = work_list_claim(self.backend(), "events", "id", "next_attempt_at");
        let ids = self.claim_work(&statement, now, lease_until, limit).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // The batch read back in one query, not one per event.
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "{EVENT_SELECT} WHERE e.id IN ({}) ORDER BY e.seq",
            placeholders.join(", ")
        );
        let query = ids
            .iter()
            .fold(sqlx::query(&sql), |query, id| query.bind(id));
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(event_row).collect()
    }

    /// Records an attempt and moves the event on, in one transaction.
    pub async fn finish_attempt(&self, attempt: &Attempt<'_>, now: i64) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO event_attempts (event_id, attempt, started_at, duration_ms, status_code, \
               error, response_excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(attempt.event_id)
        .bind(attempt.attempt)
        .bind(attempt.started_at)
        .bind(attempt.duration_ms)
        .bind(attempt.status_code.map(i64::from))
        .bind(attempt.error)
        .bind(attempt.response_excerpt)
        .execute(&mut *tx)
        .await?;
        let (delivery, next_attempt_at, delivered_at) = match attempt.next {
            NextStep::Delivered => ("delivered", None, Some(now)),
            NextStep::RetryAt(at) => ("pending", Some(at), None),
            NextStep::Failed => ("failed", None, None),
        };
        // An event already delivered (by another instance whose lease this one outlived)
        // stays delivered.
        sqlx::query(
            "UPDATE events SET delivery = $1, next_attempt_at = $2, \
               delivered_at = COALESCE(delivered_at, $3), attempts = $4 \
             WHERE id = $5 AND delivery <> 'delivered'",
        )
        .bind(delivery)
        .bind(next_attempt_at)
        .bind(delivered_at)
        .bind(attempt.attempt)
        .bind(attempt.event_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Schedules an event for delivery now, from the start of the retry schedule
    /// (`POST /v1/admin/events/{id}/redeliver`). False when there is no such event.
    pub async fn redeliver_event(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE events SET delivery = 'pending', next_attempt_at = $1, attempts = 0, \
               delivered_at = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *self.write_conn().await?)
        .await?;
        let moved = done.rows_affected() == 1;
        if moved {
            self.events_written();
        }
        Ok(moved)
    }

    pub async fn event(&self, id: &str) -> Result<Option<EventRow>, StoreError> {
        let sql = format!("{EVENT_SELECT} WHERE e.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(event_row).transpose()
    }

    /// The cursor position of an event id (None: no such event).
    pub async fn event_seq(&self, id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT seq FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Events oldest first. On PostgreSQL only those whose transaction, and every
    /// transaction that began before it, has ended: a later page never holds an event
    /// older than the cursor.
    pub async fn list_events(
        &self,
        filter: &EventFilter,
        now: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        // On PostgreSQL a transaction that began earlier may still commit a smaller seq;
        // an event is listed once none can (or, so one stuck transaction anywhere in
        // the cluster cannot hide every event, once it is a minute old: the outbox's own
        // transactions last milliseconds).
        let visible = match self.backend() {
            Backend::Postgres => "e.txid < pg_snapshot_xmin(pg_current_snapshot())",
            Backend::Sqlite => "TRUE",
        };
        let sql = format!(
            "{EVENT_SELECT} WHERE e.seq > $1 AND ($3 = '' OR e.type = $3) \
               AND ({visible} OR e.created_at < $4) AND ($5 = '' OR o.mch_id = $5) \
             ORDER BY e.seq LIMIT $2"
        );
        let query = sqlx::query(&sql)
            .bind(filter.after_seq.unwrap_or(0))
            .bind(filter.limit)
            .bind(filter.kind.map_or("", EventType::as_str))
            .bind(now.saturating_sub(SETTLED_AFTER_MS))
            .bind(filter.mch_id.as_deref().unwrap_or_default());
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(event_row).collect()
    }

    pub async fn event_attempts(&self, id: &str) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, started_at, duration_ms, status_code, error, response_excerpt \
             FROM event_attempts WHERE event_id = $1 ORDER BY started_at, attempt",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRow {
                    attempt: r.try_get(0)?,
                    started_at: r.try_get(1)?,
                    duration_ms: r.try_get(2)?,
                    status_code: r.try_get(3)?,
                    error: r.try_get(4)?,
                    response_excerpt: r.try_get(5)?,
                })
            })
            .collect()
    }

    /// When the oldest event still owed to the endpoint happened (None: none owed).
    pub async fn oldest_owed_event_at(&self) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT MIN(created_at) FROM events WHERE delivery = 'pending'")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Deletes events (and their attempts) that happened before `before` and are owed to
    /// no one any more: delivered, failed, or never owed. Returns how many went.
    pub async fn delete_old_events(&self, before: i64) -> Result<u64, StoreError> {
        const OLD: &str = "SELECT id FROM events WHERE created_at < $1 AND delivery <> 'pending'";
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(&format!(
            "DELETE FROM event_attempts WHERE event_id IN ({OLD})"
        ))
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query(&format!("DELETE FROM events WHERE id IN ({OLD})"))
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}
