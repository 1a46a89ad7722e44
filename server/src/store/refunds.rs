//! Refund records. The sum rule is one guarded statement: a refund takes its hold on the
//! order (`amount <= amount_fen - refund_held_fen`, on a paid order; written as a
//! difference, which cannot overflow bigint) in the same transaction that records it, so
//! concurrent requests on any number of instances can never hold more than was paid.
//! Results move a refund exactly once (guarded updates of its status); a success adds to
//! the order's `refunded_fen`, a close gives its hold back.

use sqlx::Row;
use sqlx::any::AnyRow;
use wxpay_core::RefundStatus;

use super::events::{EventType, NewEvent};
use super::{Store, StoreError};

/// A refund's state here. `pending`: WeChat has not accepted it yet (the identical
/// request is sent again); `abnormal` is not final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Pending,
    Processing,
    Succeeded,
    Closed,
    Abnormal,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Pending => "pending",
            RefundState::Processing => "processing",
            RefundState::Succeeded => "succeeded",
            RefundState::Closed => "closed",
            RefundState::Abnormal => "abnormal",
        }
    }

    fn parse(value: &str) -> Result<RefundState, StoreError> {
        Ok(match value {
            "pending" => RefundState::Pending,
            "processing" => RefundState::Processing,
            "succeeded" => RefundState::Succeeded,
            "closed" => RefundState::Closed,
            "abnormal" => RefundState::Abnormal,
            other => return Err(StoreError::Corrupt(format!("refund status {other:?}"))),
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, RefundState::Succeeded | RefundState::Closed)
    }
}

#[derive(Debug, Clone)]
pub struct RefundRow {
    pub out_refund_no: String,
    pub order_no: String,
    pub amount_fen: i64,
    pub reason: Option<String>,
    pub status: RefundState,
    /// The request as first sent, re-sent byte for byte.
    pub request: String,
    pub refund_id: Option<String>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    pub next_check_at: Option<i64>,
    pub check_failures: i64,
}

pub(super) const REFUND_COLUMNS: &str = "out_refund_no, order_no, amount_fen, reason, status, request, \
    refund_id, failure, created_at, updated_at, finished_at, next_check_at, check_failures";

pub(super) fn refund_row(r: &AnyRow) -> Result<RefundRow, StoreError> {
    Ok(RefundRow {
        out_refund_no: r.try_get("out_refund_no")?,
        order_no: r.try_get("order_no")?,
        amount_fen: r.try_get("amount_fen")?,
        reason: r.try_get("reason")?,
        status: RefundState::parse(&r.try_get::<String, _>("status")?)?,
        request: r.try_get("request")?,
        refund_id: r.try_get("refund_id")?,
        failure: r.try_get("failure")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        finished_at: r.try_get("finished_at")?,
        next_check_at: r.try_get("next_check_at")?,
        check_failures: r.try_get("check_failures")?,
    })
}

/// A refund to record (pending) and hold money for.
#[derive(Debug, Clone, Copy)]
pub struct NewRefund<'a> {
    pub out_refund_no: &'a str,
    pub order_no: &'a str,
    pub amount_fen: i64,
    pub reason: Option<&'a str>,
    pub request: &'a str,
    /// (Idempotency-Key, fingerprint of the request) when the caller sent a key.
    pub idempotency: Option<(&'a str, &'a str)>,
    pub now: i64,
    /// When the reconciler looks at it if the first call gets no answer.
    pub next_check_at: i64,
}

/// What recording a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    Created,
    /// This Idempotency-Key already made a refund of this order.
    KeyUsed {
        out_refund_no: String,
        request_hash: String,
    },
    /// The order is not paid (or does not exist).
    NotPaid,
    /// More than what is left: `refundable` fen are.
    TooMuch {
        refundable: i64,
    },
}

/// A verified refund result (a notify or a query), to apply.
#[derive(Debug, Clone, Copy)]
pub struct RefundResult<'a> {
    pub out_refund_no: &'a str,
    pub status: RefundStatus,
    pub refund_id: Option<&'a str>,
    /// `notify`, `query` or `request`.
    pub source: &'static str,
    pub fields: &'a str,
    pub now: i64,
    /// For a result that is not final: when to ask again.
    pub next_check_at: i64,
}

/// What a result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundChange {
    /// It moved the refund to this state.
    Moved(RefundState),
    /// A success for a refund closed here: WeChat paid it anyway. Recorded (the money is
    /// gone), and the order may now be refunded beyond its hold: an operator looks.
    SucceededAfterClose,
    /// Nothing to change (a duplicate, or an older result).
    Unchanged,
}

impl Store {
    pub async fn refund(&self, out_refund_no: &str) -> Result<Option<RefundRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE out_refund_no = $1"
        ))
        .bind(out_refund_no)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(refund_row).transpose()
    }

    /// An order's refunds, oldest first.
    pub async fn refunds_of(&self, order_no: &str) -> Result<Vec<RefundRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE order_no = $1 ORDER BY created_at, out_refund_no"
        ))
        .bind(order_no)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(refund_row).collect()
    }

    /// WeChat refused the refund request for good: closed, with why, its hold given back.
    pub async fn refund_refused(
        &self,
        out_refund_no: &str,
        failure: &str,
        now: i64,
    ) -> Result<RefundChange, StoreError> {
        self.move_refund(
            out_refund_no,
            RefundState::Closed,
            None,
            Some(failure),
            now,
            None,
            None,
        )
        .await
    }

    /// Applies a verified result (exactly once) and records it.
    pub async fn apply_refund_result(
        &self,
        result: &RefundResult<'_>,
    ) -> Result<RefundChange, StoreError> {
        let (to, next) = match result.status {
            RefundStatus::Processing => (RefundState::Processing, Some(result.next_check_at)),
            RefundStatus::Success => (RefundState::Succeeded, None),
            RefundStatus::Closed => (RefundState::Closed, None),
            RefundStatus::Abnormal => (RefundState::Abnormal, Some(result.next_check_at)),
        };
        self.move_refund(
            result.out_refund_no,
            to,
            result.refund_id,
            None,
            result.now,
            next,
            Some((result.source, result.fields)),
        )
        .await
    }

    /// Moves a refund to `to` from the states that may precede it, in one transaction
    /// with what it does to the order's sums and with the record of what moved it
    /// (`event`: source and fields), so a moved refund always has its event.
    #[allow(clippy::too_many_arguments)]
    async fn move_refund(
        &self,
        out_refund_no: &str,
        to: RefundState,
        refund_id: Option<&str>,
        failure: Option<&str>,
        now: i64,
        next_check_at: Option<i64>,
        event: Option<(&str, &str)>,
    ) -> Result<RefundChange, StoreError> {
        let from: &[&str] = match to {
            RefundState::Pending => return Ok(RefundChange::Unchanged),
            RefundState::Processing => &["pending"],
            RefundState::Abnormal => &["pending", "processing"],
            RefundState::Succeeded | RefundState::Closed => &["pending", "processing", "abnormal"],
        };
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        let moved = sqlx::query(&format!(
            "UPDATE refunds SET status = $1, refund_id = COALESCE($2, refund_id), \
               failure = COALESCE($3, failure), updated_at = $4, \
               finished_at = CASE WHEN $1 IN ('succeeded', 'closed') THEN $4 ELSE finished_at END, \
               next_check_at = $5, check_failures = 0 \
             WHERE out_refund_no = $6 AND status IN ({}) \
             RETURNING order_no, amount_fen, refund_id, failure",
            quoted(from)
        ))
        .bind(to.as_str())
        .bind(refund_id)
        .bind(failure)
        .bind(now)
        .bind(next_check_at)
        .bind(out_refund_no)
        .fetch_optional(&mut *tx)
        .await?;
        let change = match (moved, to) {
            (Some(row), RefundState::Succeeded) => {
                order_sums(&mut tx, &row, "refunded_fen = refunded_fen + $1", now).await?;
                self.write_event(&mut tx, &refund_event(out_refund_no, to, &row)?, now)
                    .await?;
                RefundChange::Moved(to)
            }
            (Some(row), RefundState::Closed) => {
                order_sums(&mut tx, &row, "refund_held_fen = refund_held_fen - $1", now).await?;
                self.write_event(&mut tx, &refund_event(out_refund_no, to, &row)?, now)
                    .await?;
                RefundChange::Moved(to)
            }
            (Some(row), RefundState::Abnormal) => {
                self.write_event(&mut tx, &refund_event(out_refund_no, to, &row)?, now)
                    .await?;
                RefundChange::Moved(to)
            }
            (Some(_), _) => RefundChange::Moved(to),
            // WeChat says succeeded about a refund closed here: the money went anyway.
            (None, RefundState::Succeeded) => {
                let reopened = sqlx::query(
                    "UPDATE refunds SET status = 'succeeded', refund_id = COALESCE($1, refund_id), \
                       updated_at = $2, finished_at = $2, next_check_at = NULL \
                     WHERE out_refund_no = $3 AND status = 'closed' \
                     RETURNING order_no, amount_fen, refund_id, failure",
                )
                .bind(refund_id)
                .bind(now)
                .bind(out_refund_no)
                .fetch_optional(&mut *tx)
                .await?;
                match reopened {
                    Some(row) => {
                        order_sums(
                            &mut tx,
                            &row,
                            "refunded_fen = refunded_fen + $1, refund_held_fen = refund_held_fen + $1",
                            now,
                        )
                        .await?;
                        let event = refund_event(out_refund_no, RefundState::Succeeded, &row)?;
                        self.write_event(&mut tx, &event, now).await?;
                        RefundChange::SucceededAfterClose
                    }
                    None => RefundChange::Unchanged,
                }
            }
            (None, _) => RefundChange::Unchanged,
        };
        if let Some((source, fields)) = event
            && change != RefundChange::Unchanged
        {
            sqlx::query(
                "INSERT INTO refund_events (out_refund_no, status, source, fields, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(out_refund_no)
            .bind(to.as_str())
            .bind(source)
            .bind(fields)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if matches!(
            change,
            RefundChange::SucceededAfterClose
                | RefundChange::Moved(
                    RefundState::Succeeded | RefundState::Closed | RefundState::Abnormal
                )
        ) {
            self.events_written();
        }
        Ok(change)
    }
}

/// The event of a refund that moved to `to` (`refund`: the moved row, as returned:
/// order_no, amount_fen, refund_id, failure).
fn refund_event(
    out_refund_no: &str,
    to: RefundState,
    refund: &AnyRow,
) -> Result<NewEvent, StoreError> {
    let kind = match to {
        RefundState::Succeeded => EventType::RefundSucceeded,
        RefundState::Closed => EventType::RefundClosed,
        _ => EventType::RefundAbnormal,
    };
    let order_no: String = refund.try_get(0)?;
    let refund_id: Option<String> = refund.try_get(2)?;
    let failure: Option<String> = refund.try_get(3)?;
    Ok(NewEvent {
        kind,
        order_no: Some(order_no),
        out_refund_no: Some(out_refund_no.to_owned()),
        data: serde_json::json!({
            "refund_id": refund_id,
            "failure": failure,
        })
        .to_string(),
    })
}

/// `'a', 'b'` for an `IN (...)` of fixed state names (never user input).
fn quoted(states: &[&str]) -> String {
    states
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies `set` (with `$1` the refund's amount) to the refund's order.
async fn order_sums(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    refund: &AnyRow,
    set: &str,
    now: i64,
) -> Result<(), StoreError> {
    let order_no: String = refund.try_get(0)?;
    let amount: i64 = refund.try_get(1)?;
    sqlx::query(&format!(
        "UPDATE orders SET {set}, updated_at = $2 WHERE order_no = $3"
    ))
    .bind(amount)
    .bind(now)
    .bind(order_no)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
