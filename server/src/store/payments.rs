//! Recording a verified payment: exactly once per WeChat transaction (its id is the
//! primary key of `payment_events`), whatever the order's local state. A verified
//! payment is never refused for the order's state: an order that was closed, failed or
//! never got its prepay_id here becomes paid and is flagged late; a second transaction
//! for a paid order is recorded and flagged, and the order is not paid twice. Only a
//! proof that does not match the order (amount, appid, mch_id, sign type) or whose
//! transaction already paid another order changes nothing.

use sqlx::Row;

use super::events::{EventType, NewEvent, log_event, paid_facts};
use super::{AnyQuery, Backend, Store, StoreError};

/// A verified proof of payment (a notify or an orderquery). Its amount, appid, mch_id
/// and sign type are guards of the update: it pays the order only if they all equal the
/// order's.
#[derive(Debug, Clone)]
pub struct Settlement<'a> {
    pub order_no: &'a str,
    pub transaction_id: &'a str,
    pub amount_fen: i64,
    pub appid: &'a str,
    pub mch_id: &'a str,
    /// The sign type the proof was verified with: it must be the order's.
    pub sign_type: &'a str,
    pub time_end: &'a str,
    /// `notify` or `orderquery`.
    pub source: &'static str,
    /// The verified fields, as JSON, for the record.
    pub fields: &'a str,
    /// WeChat already refunded this payment (orderquery `REFUND`): it is recorded as a
    /// late payment whatever the order's state, so the merchant sees it.
    pub refunded: bool,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleOutcome {
    /// This proof moved the order to paid. `late`: it was not awaiting payment here
    /// (closed, failed, created) or the payment was already refunded.
    Paid { late: bool },
    /// This transaction was already recorded for this order: nothing changed.
    AlreadyRecorded,
    /// A second transaction for an order already paid by another: recorded and flagged
    /// (`double_payment`), the order is not paid twice.
    ExtraPayment,
    /// Nothing changed.
    Refused(Refusal),
}

/// Why a verified proof changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownOrder,
    /// Verified with another sign type than the order's (an order's type is binding).
    SignType,
    /// This verified field differs from the order.
    Mismatch(&'static str),
    /// The transaction is already recorded for another order (WeChat's ids are unique:
    /// the records disagree with WeChat, and an operator must look).
    TransactionConflict,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::UnknownOrder => "unknown out_trade_no",
            Refusal::SignType => "signed with another sign type than the order's",
            Refusal::Mismatch(_) => "does not match the order",
            Refusal::TransactionConflict => "transaction_id already recorded for another order",
        }
    }
}

/// The columns a proof is checked against.
struct OrderFacts {
    status: String,
    paid_by: Option<String>,
    amount_fen: i64,
    appid: String,
    mch_id: String,
    sign_type: String,
}

impl OrderFacts {
    /// The first guard the proof fails, if any.
    fn refusal(&self, s: &Settlement<'_>) -> Option<Refusal> {
        if self.sign_type != s.sign_type {
            Some(Refusal::SignType)
        } else if self.amount_fen != s.amount_fen {
            Some(Refusal::Mismatch("total_fee"))
        } else if self.appid != s.appid {
            Some(Refusal::Mismatch("appid"))
        } else if self.mch_id != s.mch_id {
            Some(Refusal::Mismatch("mch_id"))
        } else {
            None
        }
    }
}

/// The guarded move to paid, shared by both backends: any state but paid, every guard
/// equal to the order's. Late unless the order was awaiting payment (and not refunded).
/// Parameters: see [`bind_pay`].
pub const PAY: &str = "UPDATE orders SET status = 'paid', transaction_id = $1, paid_at = $2, \
       time_end = $3, updated_at = $2, next_check_at = NULL, check_failures = 0, \
       late_payment = CASE WHEN status = 'awaiting_payment' AND $11 = 0 THEN 0 ELSE 1 END \
     WHERE order_no = $4 AND status <> 'paid' \
       AND amount_fen = $5 AND appid = $6 AND mch_id = $7 AND sign_type = $10";

impl Store {
    /// Records a verified payment and says what it did. The common case (an order
    /// awaiting payment) is one guarded statement; everything else reads the order once.
    pub async fn settle(&self, s: &Settlement<'_>) -> Result<SettleOutcome, StoreError> {
        // Two rounds at most: a guarded write that did not move an order whose guards
        // match means it was paid in between, which the second read sees.
        for _ in 0..2 {
            match self.pay(s).await {
                Ok(Some(late)) => return Ok(SettleOutcome::Paid { late }),
                Ok(None) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Ok(SettleOutcome::Refused(Refusal::TransactionConflict));
                }
                Err(e) => return Err(e.into()),
            }
            let Some(order) = self.order_facts(s.order_no).await? else {
                return Ok(SettleOutcome::Refused(Refusal::UnknownOrder));
            };
            if let Some(refusal) = order.refusal(s) {
                return Ok(SettleOutcome::Refused(refusal));
            }
            if order.status == "paid" {
                if order.paid_by.as_deref() == Some(s.transaction_id) {
                    return Ok(SettleOutcome::AlreadyRecorded);
                }
                return self.record_extra_payment(s).await;
            }
        }
        Err(StoreError::Corrupt(format!(
            "order {} matches a verified payment but cannot be paid",
            s.order_no
        )))
    }

    /// The guarded move and its payment record, atomically: `Some(late)` when it moved
    /// the order.
    async fn pay(&self, s: &Settlement<'_>) -> Result<Option<bool>, sqlx::Error> {
        let paid = match self.backend() {
            Backend::Postgres => self.pay_in_one_statement(s).await,
            Backend::Sqlite => self.pay_in_a_transaction(s).await,
        }?;
        if paid.is_some() {
            self.events_written();
        }
        Ok(paid)
    }

    /// PostgreSQL: the guarded update, the payment record and its `order.paid` event in
    /// one statement (one round trip, atomic on its own) instead of BEGIN, UPDATE,
    /// INSERT, INSERT, COMMIT.
    async fn pay_in_one_statement(&self, s: &Settlement<'_>) -> Result<Option<bool>, sqlx::Error> {
        let row = if self.events.record {
            let (delivery, next_attempt_at) = self.events.delivery(s.now);
            let sql = pay_and_event_statement();
            let id = crate::base::ids::event_id();
            let query = bind_pay(sqlx::query(&sql), s)
                .bind(id.clone())
                .bind(paid_facts(s.transaction_id, s.now, false, false))
                .bind(paid_facts(s.transaction_id, s.now, true, false))
                .bind(delivery)
                .bind(next_attempt_at);
            let row = self.hot_write_optional(query).await?;
            if row.is_some() {
                log_event(&id, EventType::OrderPaid, Some(s.order_no));
            }
            row
        } else {
            let sql = pay_statement(Backend::Postgres);
            self.hot_write_optional(bind_pay(sqlx::query(&sql), s))
                .await?
        };
        row.map(|r| Ok(r.try_get::<String, _>(0)? == "late"))
            .transpose()
    }

    /// SQLite: one transaction (the database is in-process; there is no round trip to save).
    async fn pay_in_a_transaction(&self, s: &Settlement<'_>) -> Result<Option<bool>, sqlx::Error> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        let sql = pay_statement(Backend::Sqlite);
        let Some(moved) = bind_pay(sqlx::query(&sql), s)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let late = moved.try_get::<i64, _>(0)? != 0;
        insert_event(s, if late { "late" } else { "payment" })
            .execute(&mut *tx)
            .await?;
        self.write_event(&mut tx, &paid_event(s, late, false), s.now)
            .await?;
        tx.commit().await?;
        Ok(Some(late))
    }

    async fn order_facts(&self, order_no: &str) -> Result<Option<OrderFacts>, StoreError> {
        let row = sqlx::query(
            "SELECT status, transaction_id, amount_fen, appid, mch_id, sign_type \
             FROM orders WHERE order_no = $1",
        )
        .bind(order_no)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(OrderFacts {
                status: r.try_get(0)?,
                paid_by: r.try_get(1)?,
                amount_fen: r.try_get(2)?,
                appid: r.try_get(3)?,
                mch_id: r.try_get(4)?,
                sign_type: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// A second transaction for a paid order (its guards already checked): recorded once
    /// and the order flagged, in one transaction.
    async fn record_extra_payment(&self, s: &Settlement<'_>) -> Result<SettleOutcome, StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = conn.begin().await?;
        let sql = format!(
            "{} ON CONFLICT (transaction_id) DO NOTHING",
            INSERT_EVENT.trim_end()
        );
        let inserted = bind_event(sqlx::query(&sql), s, "extra")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 1 {
            sqlx::query(
                "UPDATE orders SET double_payment = 1, updated_at = $1 WHERE order_no = $2",
            )
            .bind(s.now)
            .bind(s.order_no)
            .execute(&mut *tx)
            .await?;
            self.write_event(&mut tx, &paid_event(s, false, true), s.now)
                .await?;
            tx.commit().await?;
            self.events_written();
            return Ok(SettleOutcome::ExtraPayment);
        }
        let owner: String =
            sqlx::query("SELECT order_no FROM payment_events WHERE transaction_id = $1")
                .bind(s.transaction_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        tx.rollback().await?;
        Ok(if owner == s.order_no {
            SettleOutcome::AlreadyRecorded
        } else {
            SettleOutcome::Refused(Refusal::TransactionConflict)
        })
    }

    /// How many payment events an order has (tests and audits: 1 once paid, plus one per
    /// extra transaction).
    pub async fn payment_event_count(&self, order_no: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM payment_events WHERE order_no = $1")
            .bind(order_no)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get(0)?)
    }
}

/// The statement that pays an order, as each backend runs it (the load driver explains
/// and measures the same text). PostgreSQL: the guarded update and the payment record in
/// one statement, returning the record's kind. SQLite: the update alone, returning
/// whether it was late; [`INSERT_EVENT`] follows in the same transaction.
pub fn pay_statement(backend: Backend) -> String {
    match backend {
        Backend::Postgres => format!(
            "WITH moved AS ({PAY} RETURNING order_no, late_payment) \
             INSERT INTO payment_events \
               (transaction_id, order_no, amount_fen, source, fields, received_at, kind) \
             SELECT $1, order_no, $5, $8, $9, $2, \
               CASE WHEN late_payment = 1 THEN 'late' ELSE 'payment' END FROM moved \
             RETURNING kind"
        ),
        Backend::Sqlite => format!("{PAY} RETURNING late_payment"),
    }
}

/// PostgreSQL's [`pay_statement`] with the `order.paid` event written by the same
/// statement: $12 the event's id, $13 and $14 its facts when on time and when late,
/// $15 its delivery and $16 its first attempt (see `events.rs`).
fn pay_and_event_statement() -> String {
    format!(
        "WITH moved AS ({PAY} RETURNING order_no, late_payment), \
         recorded AS (INSERT INTO payment_events \
           (transaction_id, order_no, amount_fen, source, fields, received_at, kind) \
           SELECT $1, order_no, $5, $8, $9, $2, \
             CASE WHEN late_payment = 1 THEN 'late' ELSE 'payment' END FROM moved \
           RETURNING kind), \
         announced AS (INSERT INTO events \
           (id, type, order_no, data, created_at, delivery, next_attempt_at) \
           SELECT $12, 'order.paid', order_no, \
             CASE WHEN late_payment = 1 THEN $14 ELSE $13 END, $2, $15, $16 FROM moved) \
         SELECT kind FROM recorded"
    )
}

/// The `order.paid` event of a settlement (`late`: see [`SettleOutcome::Paid`];
/// `double`: a second transaction).
fn paid_event(s: &Settlement<'_>, late: bool, double: bool) -> NewEvent {
    NewEvent {
        kind: EventType::OrderPaid,
        order_no: Some(s.order_no.to_owned()),
        out_refund_no: None,
        data: paid_facts(s.transaction_id, s.now, late, double),
    }
}

/// The parameters of [`PAY`] (and of the statement built around it): $1 transaction_id,
/// $2 now, $3 time_end, $4 order_no, $5 amount_fen, $6 appid, $7 mch_id, $8 source,
/// $9 fields, $10 sign_type, $11 refunded (0 or 1).
fn bind_pay<'q>(query: AnyQuery<'q>, s: &Settlement<'q>) -> AnyQuery<'q> {
    query
        .bind(s.transaction_id)
        .bind(s.now)
        .bind(s.time_end)
        .bind(s.order_no)
        .bind(s.amount_fen)
        .bind(s.appid)
        .bind(s.mch_id)
        .bind(s.source)
        .bind(s.fields)
        .bind(s.sign_type)
        .bind(i64::from(s.refunded))
}

/// Records a payment event: $1 transaction_id, $2 order_no, $3 amount_fen, $4 source,
/// $5 fields, $6 received_at, $7 kind.
pub const INSERT_EVENT: &str = "INSERT INTO payment_events \
       (transaction_id, order_no, amount_fen, source, fields, received_at, kind) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

fn insert_event<'q>(s: &Settlement<'q>, kind: &'static str) -> AnyQuery<'q> {
    bind_event(sqlx::query(INSERT_EVENT), s, kind)
}

fn bind_event<'q>(query: AnyQuery<'q>, s: &Settlement<'q>, kind: &'static str) -> AnyQuery<'q> {
    query
        .bind(s.transaction_id)
        .bind(s.order_no)
        .bind(s.amount_fen)
        .bind(s.source)
        .bind(s.fields)
        .bind(s.now)
        .bind(kind)
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}
