//! Inserting an order: the order, its lines and its Idempotency-Key together or not at
//! all. PostgreSQL does it in one statement (one round trip instead of BEGIN, an INSERT
//! per table and line, COMMIT: an order's most expensive part, BENCHMARKS.md); SQLite,
//! in-process, in one transaction.

use sqlx::{AnyConnection, Connection, Row};

use super::orders::{InsertOutcome, KeyScope, NewOrder};
use super::{AnyQuery, Backend, Store, StoreError};

impl Store {
    /// Inserts the order, its lines and the idempotency key atomically; if the key was
    /// already used, nothing is inserted and the key's order is returned.
    pub async fn insert_order(&self, order: &NewOrder<'_>) -> Result<InsertOutcome, StoreError> {
        let mut conn = self.hot_conn(true).await?;
        let outcome = match self.backend() {
            Backend::Postgres => in_one_statement(&mut conn, order).await,
            Backend::Sqlite => in_a_transaction(&mut conn, order).await,
        };
        Ok(conn.finish(outcome)?)
    }
}

/// The order's columns and their values as bound by [`bind_order`], the same in both ways
/// of inserting it.
const INSERT_ORDER: &str = "INSERT INTO orders (order_no, user_id, openid, amount_fen, \
    description, status, sign_type, appid, mch_id, created_at, updated_at, expires_at, \
    last_checked_at, prepay_request, next_check_at, reference, attach)";
const ORDER_VALUES: &str =
    "$1, $2, $3, $4, $5, 'created', $6, $7, $8, $9, $9, $10, $9, $11, $12, $13, $14";
/// The parameter the first order line starts at (after the order's own, [`bind_order`]).
const FIRST_LINE_PARAM: usize = 15;

/// Where a scope's keys are kept, and the order parameter (see [`bind_order`]) that is
/// their owner: the user ($2) or the merchant ($8).
fn key_table(scope: KeyScope) -> (&'static str, &'static str, &'static str) {
    match scope {
        KeyScope::User => ("idempotency_keys", "user_id", "$2"),
        KeyScope::Merchant => ("merchant_idempotency_keys", "mch_id", "$8"),
    }
}
const INSERT_ITEM: &str =
    "INSERT INTO order_items (order_no, line, sku, name, unit_price_fen, quantity)";

/// The statement for `lines` order lines, with or without an Idempotency-Key. Data-changing
/// CTEs all run, in one snapshot; the key's foreign key to the order is checked at the end
/// of the statement, when the order exists. Without a new key row, nothing is inserted.
fn one_statement_sql(lines: usize, key: Option<KeyScope>) -> String {
    let values: Vec<String> = (0..lines)
        .map(|i| {
            let p = FIRST_LINE_PARAM + 5 * i;
            format!("(${p}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4)
        })
        .collect();
    let key_param = FIRST_LINE_PARAM + 5 * lines;
    let (key_cte, only_with_key) = match key {
        Some(scope) => {
            let (table, owner, owner_param) = key_table(scope);
            (
                format!(
                    "k AS (INSERT INTO {table} ({owner}, idempotency_key, request_hash, \
                       order_no, created_at) VALUES ({owner_param}, ${key_param}, ${}, $1, $9) \
                     ON CONFLICT ({owner}, idempotency_key) DO NOTHING RETURNING order_no), ",
                    key_param + 1
                ),
                " WHERE EXISTS (SELECT 1 FROM k)",
            )
        }
        None => (String::new(), ""),
    };
    // An order from the merchant's backend may have no lines.
    let lines_cte = if lines == 0 {
        String::new()
    } else {
        format!(
            ", i AS ({INSERT_ITEM} SELECT o.order_no, v.line, v.sku, v.name, v.price, v.quantity \
             FROM o CROSS JOIN (VALUES {}) AS v (line, sku, name, price, quantity))",
            values.join(", ")
        )
    };
    format!(
        "WITH {key_cte}o AS ({INSERT_ORDER} SELECT {ORDER_VALUES}{only_with_key} \
         RETURNING order_no){lines_cte} \
         SELECT COUNT(*) FROM o"
    )
}

/// The order's own columns as $1..$14, the same in both statements.
fn bind_order<'q>(query: AnyQuery<'q>, order: &NewOrder<'q>) -> AnyQuery<'q> {
    query
        .bind(order.order_no)
        .bind(order.user_id)
        .bind(order.openid)
        .bind(order.amount_fen)
        .bind(order.description)
        .bind(order.sign_type)
        .bind(order.appid)
        .bind(order.mch_id)
        .bind(order.now)
        .bind(order.expires_at)
        .bind(order.prepay_request)
        .bind(order.next_check_at)
        .bind(order.reference)
        .bind(order.attach)
}

async fn in_one_statement(
    conn: &mut AnyConnection,
    order: &NewOrder<'_>,
) -> Result<InsertOutcome, sqlx::Error> {
    let sql = one_statement_sql(
        order.items.len(),
        order.idempotency.map(|_| order.key_scope),
    );
    let mut query = bind_order(sqlx::query(&sql), order);
    for (line, item) in (1i64..).zip(order.items) {
        query = query
            .bind(line)
            .bind(&item.sku)
            .bind(&item.name)
            .bind(item.unit_price_fen)
            .bind(item.quantity);
    }
    if let Some((key, request_hash)) = order.idempotency {
        query = query.bind(key).bind(request_hash);
    }
    let inserted: i64 = match query.fetch_one(&mut *conn).await {
        Ok(row) => row.try_get(0)?,
        Err(e) if is_unique_violation(&e) && order.reference.is_some() => {
            return taken_reference(conn, order, e).await;
        }
        Err(e) => return Err(e),
    };
    match (inserted, order.idempotency) {
        (1, _) => Ok(InsertOutcome::Inserted),
        (_, Some((key, _))) => key_owner(conn, order, key)
            .await?
            .ok_or_else(|| not_inserted(order)),
        (_, None) => Err(not_inserted(order)),
    }
}

fn not_inserted(order: &NewOrder<'_>) -> sqlx::Error {
    sqlx::Error::Protocol(format!("order {} was not inserted", order.order_no))
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The order an Idempotency-Key already made, and the request it was made for.
async fn key_owner(
    conn: &mut AnyConnection,
    order: &NewOrder<'_>,
    key: &str,
) -> Result<Option<InsertOutcome>, sqlx::Error> {
    let (table, owner, _) = key_table(order.key_scope);
    let sql = format!(
        "SELECT request_hash, order_no FROM {table} WHERE {owner} = $1 AND idempotency_key = $2"
    );
    let query = sqlx::query(&sql);
    let query = match order.key_scope {
        KeyScope::User => query.bind(order.user_id),
        KeyScope::Merchant => query.bind(order.mch_id),
    };
    let Some(row) = query.bind(key).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    Ok(Some(InsertOutcome::KeyUsed {
        request_hash: row.try_get(0)?,
        order_no: row.try_get(1)?,
    }))
}

/// The insert broke a unique rule and the order has a reference: the key's earlier
/// order when the key was used (the same call again), else the order that has the
/// reference; any other violation is returned as it was.
async fn taken_reference(
    conn: &mut AnyConnection,
    order: &NewOrder<'_>,
    violation: sqlx::Error,
) -> Result<InsertOutcome, sqlx::Error> {
    if let Some((key, _)) = order.idempotency
        && let Some(used) = key_owner(conn, order, key).await?
    {
        return Ok(used);
    }
    let owner = sqlx::query("SELECT order_no FROM orders WHERE mch_id = $1 AND reference = $2")
        .bind(order.mch_id)
        .bind(order.reference)
        .fetch_optional(&mut *conn)
        .await?;
    match owner {
        Some(row) => Ok(InsertOutcome::ReferenceUsed {
            order_no: row.try_get(0)?,
        }),
        None => Err(violation),
    }
}

async fn in_a_transaction(
    conn: &mut AnyConnection,
    order: &NewOrder<'_>,
) -> Result<InsertOutcome, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let insert_order = format!("{INSERT_ORDER} VALUES ({ORDER_VALUES})");
    match bind_order(sqlx::query(&insert_order), order)
        .execute(&mut *tx)
        .await
    {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) && order.reference.is_some() => {
            tx.rollback().await?;
            return taken_reference(conn, order, e).await;
        }
        Err(e) => return Err(e),
    }
    let insert_item = format!("{INSERT_ITEM} VALUES ($1, $2, $3, $4, $5, $6)");
    for (line, item) in (1i64..).zip(order.items) {
        sqlx::query(&insert_item)
            .bind(order.order_no)
            .bind(line)
            .bind(&item.sku)
            .bind(&item.name)
            .bind(item.unit_price_fen)
            .bind(item.quantity)
            .execute(&mut *tx)
            .await?;
    }
    if let Some((key, request_hash)) = order.idempotency {
        let (table, owner, _) = key_table(order.key_scope);
        let sql = format!(
            "INSERT INTO {table} ({owner}, idempotency_key, request_hash, order_no, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT ({owner}, idempotency_key) DO NOTHING"
        );
        let insert_key = sqlx::query(&sql);
        let insert_key = match order.key_scope {
            KeyScope::User => insert_key.bind(order.user_id),
            KeyScope::Merchant => insert_key.bind(order.mch_id),
        };
        let inserted = insert_key
            .bind(key)
            .bind(request_hash)
            .bind(order.order_no)
            .bind(order.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            // On the same connection: waiting for another one while holding the
            // write turn could wait forever.
            return key_owner(conn, order, key)
                .await?
                .ok_or_else(|| not_inserted(order));
        }
    }
    tx.commit().await?;
    Ok(InsertOutcome::Inserted)
}
